"""Batch transform capture: the input manifests of a window name the records the drift check reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing_scripts.drift import engine, sources
from processing_scripts.drift.batch_capture import manifest_objects
from processing_scripts.drift.capture import TimeWindow, hour_folder
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage
from tests.processing_scripts.drift.test_capture import baseline, csv_rows, features_table, line, place

__all__ = ["baseline", "features_table"]  # module fixtures shared with the endpoint capture tests

STORAGE = Storage()
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def scored(root: Path, name: str, rows: list[str]) -> Path:
    """An input object a transform job scored: headerless CSV, one record per line."""
    path = root / "batch-input" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def captured(capture: Path, hour: datetime, job: str, prefix: Path, keys: list[str]) -> None:
    """What a transform job's DataCaptureConfig writes: an input and an output manifest."""
    for mode, names in (("input", keys), ("output", [f"{key}.out" for key in keys])):
        path = capture / mode / hour_folder(hour) / f"{job}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([{"prefix": f"{prefix}/"}, *names]))


def check(baseline: engine.Baseline, capture: Path, hours: float = 1) -> engine.CheckResult:
    return engine.run_check(
        baseline, sources.open_source(STORAGE, str(capture), window=TimeWindow.ending(END, hours))
    )


def test_the_records_the_window_manifests_name_are_checked_and_nothing_else(
    baseline, features_table, tmp_path
):
    scored(tmp_path, "a.csv", csv_rows(features_table, 0, 40))
    scored(tmp_path, "b.csv", csv_rows(features_table, 40, 60))
    scored(tmp_path, "old.csv", csv_rows(features_table, 100, 7))
    capture = tmp_path / "capture" / "my-endpoint"
    captured(capture, END - timedelta(minutes=20), "job-1", tmp_path / "batch-input", ["a.csv", "b.csv"])
    captured(capture, END - timedelta(hours=3), "job-0", tmp_path / "batch-input", ["old.csv"])

    result = check(baseline, capture)
    assert result.reading["rows"] == 100 and not result.drifted
    assert check(baseline, capture, hours=4).reading["rows"] == 107


def test_drifted_batch_input_drifts(baseline, features_table, tmp_path):
    numeric = [
        name
        for name, column in zip(features_table.column_names, features_table.columns, strict=True)
        if pa.types.is_floating(column.type)
    ]
    shifted = features_table.slice(0, 300)
    for name in numeric:
        index = shifted.column_names.index(name)
        shifted = shifted.set_column(index, name, pa.compute.multiply(shifted.column(name), 3.0))
    scored(tmp_path, "drifted.csv", csv_rows(shifted, 0, 300))
    capture = tmp_path / "capture"
    captured(capture, END - timedelta(minutes=5), "job", tmp_path / "batch-input", ["drifted.csv"])

    result = check(baseline, capture)
    assert result.reading["rows"] == 300 and {f.name for f in result.drifted} >= set(numeric)


def test_a_scored_object_deleted_before_the_check_is_named(baseline, tmp_path):
    capture = tmp_path / "capture"
    captured(capture, END - timedelta(minutes=5), "job", tmp_path / "batch-input", ["gone.csv"])
    with pytest.raises(DriftInputError, match=r"names .*gone\.csv, which is gone"):
        check(baseline, capture)


def test_endpoint_and_batch_capture_in_one_folder_is_refused(baseline, features_table, tmp_path):
    scored(tmp_path, "a.csv", csv_rows(features_table, 0, 5))
    captured(tmp_path, END - timedelta(minutes=5), "job", tmp_path / "batch-input", ["a.csv"])
    place(tmp_path, END - timedelta(minutes=5), "e.jsonl", [line(r) for r in csv_rows(features_table, 0, 5)])
    with pytest.raises(DriftInputError, match="both endpoint capture and batch transform capture"):
        check(baseline, tmp_path)


def test_a_manifest_names_its_prefix_then_keys():
    assert manifest_objects(b'[{"prefix": "s3://b/in"}, "x.csv", "/d/y.csv"]', "m") == [
        "s3://b/in/x.csv",
        "s3://b/in/d/y.csv",
    ]


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_other_json_is_one_clear_error_never_a_crash(doc):
    try:
        objects = manifest_objects(json.dumps(doc).encode(), "s3://c/input/m.json")
    except DriftInputError as err:
        assert "\n" not in str(err) and "s3://c/input/m.json" in str(err)
    else:
        assert isinstance(doc, list) and all(isinstance(uri, str) for uri in objects)
