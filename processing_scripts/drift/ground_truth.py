"""Model quality from captured predictions and ground truth, merged by inference/event id.

Ground truth follows Model Monitor's layout: JSON Lines with ``groundTruthData {data, encoding}`` and
``eventMetadata {eventId}``, where ``eventId`` matches the capture's ``inferenceId`` (or its
``eventId`` when no inference id was sent). A request with several rows is matched row by row. The
metrics are :mod:`processing_scripts.quality_metrics`', the evaluate job's, so names, shape, the
missing-value rule and the decision threshold are the same and the quality gate's metric path reads
both.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from processing_scripts.drift.capture import (
    GROUND_TRUTH_SCHEMA,
    Labels,
    decompressed,
    first_non_object_line,
    hour_folder,
    parse_labels,
)
from processing_scripts.drift.tabular import ReadStats
from processing_scripts.quality_metrics import ModelQuality, model_quality


def read_ground_truth(raw: bytes, label: str, into: Labels, stats: ReadStats) -> None:
    """Add one ground-truth file's labels; lines that do not parse are counted in ``stats``."""
    text = decompressed(raw, label, stats)
    if text is None:
        return
    raw = text
    line = first_non_object_line(raw)
    if line is not None:  # pyarrow's reader would crash on it (see first_non_object_line)
        stats.bad(f"ground truth file is not valid JSON Lines (line {line} is not a JSON object)", label)
        return
    options = pajson.ParseOptions(explicit_schema=GROUND_TRUTH_SCHEMA, unexpected_field_behavior="ignore")
    try:
        table = pajson.read_json(io.BytesIO(raw), parse_options=options)
    except pa.ArrowInvalid as err:
        stats.bad(f"ground truth file is not valid JSON Lines ({str(err).splitlines()[0]})", label)
        return
    truth = table.column("groundTruthData").combine_chunks()
    meta = table.column("eventMetadata").combine_chunks()
    ids = pc.coalesce(meta.field("eventId"), meta.field("inferenceId"))
    unreadable = parse_labels(truth.field("data"), truth.field("encoding"), ids, into)
    if unreadable:
        stats.bad(f"{unreadable} ground-truth values are not numbers or have no event id", label, unreadable)


@dataclass(frozen=True)
class QualityResult:
    """The merge (matched and unmatched counts) and the metrics of what matched."""

    matched: int
    unmatched_predictions: int
    unmatched_labels: int
    quality: ModelQuality

    def to_json(self) -> dict[str, Any]:
        return {
            "problem_type": self.quality.problem_type,
            "matched": self.matched,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_labels": self.unmatched_labels,
            "missing_label_or_prediction": self.quality.missing,
            **self.quality.to_json(),
        }


def merged_quality(predictions: Labels, labels: Labels, problem_type: str) -> QualityResult:
    """Join on (id, row) and compute the metrics; no match gives empty metrics (not zeros)."""
    left, right = predictions.table(), labels.table()
    joined = left.join(right, keys=["id", "row"], join_type="inner", left_suffix="_p", right_suffix="_y")
    matched = joined.num_rows
    quality = model_quality(
        problem_type,
        joined.column("value_y").to_numpy(),
        joined.column("value_p").to_numpy(),
        source="the ground truth",
    )
    return QualityResult(matched, left.num_rows - matched, right.num_rows - matched, quality)


def ground_truth_jsonl(labels: Mapping[str, float]) -> bytes:
    """Labels keyed by the capture's inference id (else event id) as Model Monitor's ground-truth
    JSON Lines, the format :func:`read_ground_truth` reads (``pipelines labels upload`` writes it)."""
    lines = (
        json.dumps(
            {
                "groundTruthData": {"data": repr(float(value)), "encoding": "CSV"},
                "eventMetadata": {"eventId": event_id},
                "eventVersion": "0",
            }
        )
        for event_id, value in labels.items()
    )
    return ("\n".join(lines) + "\n").encode()


def ground_truth_key(endpoint: str, uploaded: datetime, name: str) -> str:
    """``<endpoint>/yyyy/mm/dd/hh/<name>`` below the ground-truth root: Model Monitor's layout, the
    hour being the upload's (the monitoring job reads the folders from a window's start onward)."""
    return f"{endpoint}/{hour_folder(uploaded.astimezone(UTC))}/{name}"
