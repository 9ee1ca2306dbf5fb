"""The ground-truth JSON Lines reader on generated files: every label line is either read or counted."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from processing_scripts.drift.capture import Labels
from processing_scripts.drift.ground_truth import read_ground_truth
from processing_scripts.drift.tabular import ReadStats

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
junk = st.sampled_from(["", "abc", "x,1", "NaN", "inf", "--3", "."])  # the first CSV field is the label
event_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=10)


@st.composite
def record(draw: st.DrawFn) -> tuple[dict[str, object], str | None, float | None]:
    """A ground-truth record, and the (id, value) the reader must find in it, or (None, None) when it
    must be counted as unreadable (no id, or a value that is not a finite number)."""
    event_id = draw(st.one_of(st.none(), event_ids))
    good_value = draw(st.booleans())
    value = draw(finite) if good_value else None
    text = repr(value) if value is not None else draw(junk)
    encoding = draw(st.sampled_from(["CSV", "BASE64"]))
    data = base64.b64encode(text.encode()).decode() if encoding == "BASE64" else text
    key = draw(st.sampled_from(["eventId", "inferenceId"]))
    meta = {} if event_id is None else {key: event_id}
    line = {
        "groundTruthData": {"data": data, "encoding": encoding},
        "eventMetadata": meta,
        "eventVersion": "0",
    }
    readable = event_id is not None and value is not None
    return line, event_id if readable else None, value if readable else None


@settings(max_examples=80, deadline=None)
@given(st.lists(record(), min_size=1, max_size=30))
def test_every_ground_truth_line_is_read_or_counted(records):
    raw = ("\n".join(json.dumps(line) for line, _, _ in records) + "\n").encode()
    labels, stats = Labels(), ReadStats()
    read_ground_truth(raw, "labels.jsonl", labels, stats)
    table = labels.table()
    expected = [(event_id, value) for _, event_id, value in records if event_id is not None]
    assert (
        list(zip(table.column("id").to_pylist(), table.column("value").to_pylist(), strict=True)) == expected
    )
    assert stats.malformed_lines == len(records) - len(expected)
