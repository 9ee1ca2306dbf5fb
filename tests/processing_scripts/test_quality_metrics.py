"""The one model-quality module: the missing-value rule, the decision threshold, and the same numbers
whether the evaluate job or the monitoring job's ground-truth merge asks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from processing_scripts import evaluate
from processing_scripts.drift.capture import Labels
from processing_scripts.drift.ground_truth import merged_quality
from processing_scripts.quality_metrics import DECISION_THRESHOLD, QualityInputError, model_quality
from processing_scripts.split_schema import BINARY_CLASSIFICATION, REGRESSION

RNG = np.random.default_rng(4)
ACTUAL = RNG.normal(10, 3, 300)
PREDICTED = ACTUAL + RNG.normal(0, 1, 300)


@pytest.mark.parametrize("problem_type", [REGRESSION, BINARY_CLASSIFICATION])
def test_rows_missing_a_label_or_prediction_are_left_out_and_counted(problem_type: str) -> None:
    if problem_type == REGRESSION:
        actual, predicted = ACTUAL.copy(), PREDICTED.copy()
    else:
        actual, predicted = (ACTUAL > 10).astype(float), 1 / (1 + np.exp(-(PREDICTED - 10)))
    clean = model_quality(problem_type, actual, predicted)
    actual_with_gaps, predicted_with_gaps = (
        np.append(actual, [np.nan, 1.0]),
        np.append(predicted, [0.5, np.nan]),
    )
    with_gaps = model_quality(problem_type, actual_with_gaps, predicted_with_gaps)
    assert (with_gaps.rows, with_gaps.missing) == (300, 2)
    assert with_gaps.metrics == clean.metrics  # the gaps change nothing but the count


def test_the_evaluate_job_and_the_monitor_merge_give_the_same_metrics() -> None:
    probabilities = 1 / (1 + np.exp(-(PREDICTED - 10)))
    labels = (ACTUAL > 10).astype(float)
    from_evaluate = evaluate.compute_metrics(BINARY_CLASSIFICATION, labels, probabilities, DECISION_THRESHOLD)
    captured, truth = Labels(), Labels()
    ids = pa.array([f"event-{i}" for i in range(300)])
    captured.extend(ids, np.zeros(300, dtype=np.int64), probabilities)
    truth.extend(ids, np.zeros(300, dtype=np.int64), labels)
    from_monitor = merged_quality(captured, truth, BINARY_CLASSIFICATION)
    assert from_monitor.quality.to_json() == from_evaluate.to_json()


def test_one_decision_threshold_is_the_default_everywhere() -> None:
    assert evaluate.parse_args([]).threshold == DECISION_THRESHOLD
    probabilities = np.array([DECISION_THRESHOLD, DECISION_THRESHOLD - 1e-9])
    quality = model_quality(BINARY_CLASSIFICATION, np.array([1.0, 0.0]), probabilities)
    assert quality.metrics["accuracy"]["value"] == 1.0  # at the threshold is positive, below is not


def test_a_window_with_one_class_has_no_auc_instead_of_an_error() -> None:
    quality = model_quality(BINARY_CLASSIFICATION, np.ones(5), np.array([0.9, 0.8, 0.4, 0.7, 0.6]))
    assert quality.metrics["auc"] == {"value": None}
    assert "receiver_operating_characteristic_curve" not in quality.metrics
    assert quality.metrics["recall"]["value"] == pytest.approx(0.8)


def test_labels_that_are_not_classes_name_their_source() -> None:
    with pytest.raises(QualityInputError, match="needs 0/1 labels but the ground truth has 7"):
        model_quality(
            BINARY_CLASSIFICATION, np.array([0.0, 7.0]), np.array([0.1, 0.9]), source="the ground truth"
        )


def test_nothing_to_score_gives_no_metrics_not_zeros() -> None:
    quality = model_quality(REGRESSION, np.array([np.nan]), np.array([1.0]))
    assert (quality.metrics, quality.rows, quality.missing) == ({}, 0, 1)
