"""Model quality from captured predictions and ground truth, merged by inference/event id.

Ground truth follows Model Monitor's layout: JSON Lines with ``groundTruthData {data, encoding}`` and
``eventMetadata {eventId}``, where ``eventId`` matches the capture's ``inferenceId`` (or its
``eventId`` when no inference id was sent). A request with several rows is matched row by row.
Metrics use the same names and shape as ``evaluation.json`` (``regression_metrics.rmse.value``...),
so the quality gate's metric path reads both.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from processing_scripts.drift.capture import GROUND_TRUTH_SCHEMA, Labels, parse_labels
from processing_scripts.drift.tabular import ReadStats

REGRESSION = "regression"
BINARY = "binary_classification"
DECISION_THRESHOLD = 0.5  # a predicted probability at or above this is the positive class


def read_ground_truth(raw: bytes, label: str, into: Labels, stats: ReadStats) -> None:
    """Add one ground-truth file's labels; lines that do not parse are counted in ``stats``."""
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
    problem_type: str
    matched: int
    unmatched_predictions: int
    unmatched_labels: int
    metrics: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        key = f"{self.problem_type}_metrics"
        return {
            "problem_type": self.problem_type,
            "matched": self.matched,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_labels": self.unmatched_labels,
            key: self.metrics,
        }


def model_quality(predictions: Labels, labels: Labels, problem_type: str) -> QualityResult:
    """Join on (id, row) and compute the metrics; no match gives empty metrics (not zeros)."""
    left, right = predictions.table(), labels.table()
    joined = left.join(right, keys=["id", "row"], join_type="inner", left_suffix="_p", right_suffix="_y")
    y_pred = joined.column("value_p").to_numpy()
    y_true = joined.column("value_y").to_numpy()
    matched = len(y_true)
    metrics: dict[str, dict[str, Any]] = {}
    if matched:
        metrics = (
            regression_metrics(y_true, y_pred)
            if problem_type == REGRESSION
            else binary_metrics(y_true, y_pred)
        )
    return QualityResult(problem_type, matched, left.num_rows - matched, right.num_rows - matched, metrics)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, dict[str, Any]]:
    error = y_pred - y_true
    mse = float(np.mean(np.square(error)))
    variance = float(np.var(y_true))
    return {
        "mse": {"value": mse},
        "rmse": {"value": float(np.sqrt(mse))},
        "mae": {"value": float(np.mean(np.abs(error)))},
        "r2": {"value": 1.0 - mse / variance if variance > 0 else float("nan")},
    }


def binary_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, dict[str, Any]]:
    from sklearn import metrics  # only model-quality runs with classification pay for this import

    truth = y_true >= DECISION_THRESHOLD
    predicted = y_score >= DECISION_THRESHOLD
    result = {
        "accuracy": {"value": float(metrics.accuracy_score(truth, predicted))},
        "precision": {"value": float(metrics.precision_score(truth, predicted, zero_division=0))},
        "recall": {"value": float(metrics.recall_score(truth, predicted, zero_division=0))},
        "f1": {"value": float(metrics.f1_score(truth, predicted, zero_division=0))},
    }
    if len(np.unique(truth)) == 2:
        result["auc"] = {"value": float(metrics.roc_auc_score(truth, y_score))}
    return result
