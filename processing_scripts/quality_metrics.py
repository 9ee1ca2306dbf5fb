"""Model-quality metrics in the JSON shape SageMaker Model Monitor and model cards use, computed in
one place for both jobs that need them: the evaluate job (test split vs the model's predictions) and
the monitoring job's ground-truth merge (captured predictions vs labels that arrived later).

``{"regression_metrics": {"mse": {"value": .., "standard_deviation": ..}, ...}}`` or
``{"binary_classification_metrics": {...}}``: the pipeline's condition step reads one value with
``JsonGet`` (``settings.quality_gate.metric_path``), the model registry shows the file as the
package's model-quality statistics, and the monitoring summary uses the same names.

The rules both callers share:

- **Missing values**: a row whose label or prediction is missing (NaN) is left out of every metric,
  and counted (:attr:`ModelQuality.missing`) so the caller reports how many were dropped.
- **Decision threshold** (binary classification): a row is predicted 1 when its probability is
  ``>= threshold``; the default is :data:`DECISION_THRESHOLD` everywhere. Labels must be 0 or 1 and
  predictions probabilities, else :class:`QualityInputError` says which.
- **Standard deviation**: Model Monitor's documented method, the metric on 5 random 80% samples
  (without replacement), reported only with at least 200 rows; below that the spread says more about
  the sample than the model, so the key is left out. The samples are seeded, so the same predictions
  always give the same file. An undefined value (r2 of a constant label, AUC of one class) is null.

scikit-learn is imported only when metrics are computed, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing_scripts.split_schema import REGRESSION

DECISION_THRESHOLD = 0.5  # a probability at or above this is the positive class
SPREAD_MIN_ROWS = 200
SPREAD_SAMPLES = 5
SPREAD_FRACTION = 0.8
SPREAD_SEED = 0

Metric = Callable[[np.ndarray, np.ndarray], float]


class QualityInputError(ValueError):
    """Labels or predictions that cannot be scored for the problem type; the message says why."""


@dataclass(frozen=True)
class ModelQuality:
    problem_type: str
    metrics: dict[str, Any]  # metric name -> {"value", "standard_deviation"} (and the curves)
    rows: int  # rows the metrics were computed on
    missing: int  # rows left out because their label or prediction was missing

    def to_json(self) -> dict[str, Any]:
        """Model Monitor's shape: ``{"<problem type>_metrics": {...}}``."""
        return {f"{self.problem_type}_metrics": self.metrics}

    def metric_rows(self) -> list[tuple[str, object, object]]:
        """(name, value, standard deviation) of every scalar metric, for a report's table."""
        return [
            (name, "n/a" if entry["value"] is None else entry["value"], entry.get("standard_deviation", ""))
            for name, entry in self.metrics.items()
            if isinstance(entry, dict) and "value" in entry
        ]


def model_quality(
    problem_type: str,
    actual: np.ndarray,
    predicted: np.ndarray,
    *,
    threshold: float = DECISION_THRESHOLD,
    source: str = "the data",
) -> ModelQuality:
    """The metrics of ``predicted`` against ``actual`` (no rows left: no metrics, not zeros).

    ``source`` names where the labels come from in error messages (e.g. "the test split").
    """
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    present = ~(np.isnan(actual) | np.isnan(predicted))
    actual, predicted = actual[present], predicted[present]
    metrics: dict[str, Any] = {}
    if actual.size:
        metrics = (
            regression_metrics(actual, predicted)
            if problem_type == REGRESSION
            else binary_classification_metrics(actual, predicted, threshold, source)
        )
    return ModelQuality(problem_type, metrics, int(actual.size), int(present.size - actual.size))


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """mse, rmse, mae and r2 of ``predicted`` against ``actual``."""
    from sklearn import metrics

    return {
        "mse": _value(metrics.mean_squared_error, actual, predicted),
        "rmse": _value(metrics.root_mean_squared_error, actual, predicted),
        "mae": _value(metrics.mean_absolute_error, actual, predicted),
        "r2": _value(metrics.r2_score, actual, predicted),
    }


def binary_classification_metrics(
    actual: np.ndarray, probability: np.ndarray, threshold: float, source: str
) -> dict[str, Any]:
    """Confusion matrix, threshold metrics, AUC and the ROC / precision-recall curves.

    ``actual`` must hold 0/1 labels and ``probability`` the model's probability of class 1. With one
    class present AUC is undefined (null) and the curves are left out.
    """
    from sklearn import metrics

    classes = set(np.unique(actual).tolist())
    if not classes <= {0.0, 1.0}:
        odd = sorted(classes - {0.0, 1.0})[:5]
        raise QualityInputError(
            f"binary_classification needs 0/1 labels but {source} has {', '.join(f'{v:g}' for v in odd)}; "
            "was the data preprocessed for this problem type?"
        )
    if probability.min() < 0 or probability.max() > 1:
        raise QualityInputError(
            f"the model's outputs range from {probability.min():g} to {probability.max():g}, not probabilities; "
            "train it with objective binary:logistic"
        )

    def labels(p: np.ndarray) -> np.ndarray:
        return (p >= threshold).astype(int)

    def thresholded(metric: Callable[..., float], **kwargs: object) -> Metric:
        return lambda y, p: metric(y, labels(p), **kwargs)

    tn, fp, fn, tp = (
        int(n) for n in metrics.confusion_matrix(actual, labels(probability), labels=[0, 1]).ravel()
    )
    result: dict[str, Any] = {
        # rows are the actual label, columns the predicted one (Model Monitor's layout)
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        "accuracy": _value(thresholded(metrics.accuracy_score), actual, probability),
        "precision": _value(thresholded(metrics.precision_score, zero_division=0), actual, probability),
        "recall": _value(thresholded(metrics.recall_score, zero_division=0), actual, probability),
        "f0_5": _value(thresholded(metrics.fbeta_score, beta=0.5, zero_division=0), actual, probability),
        "f1": _value(thresholded(metrics.f1_score, zero_division=0), actual, probability),
        "f2": _value(thresholded(metrics.fbeta_score, beta=2, zero_division=0), actual, probability),
        "true_positive_rate": {"value": _rate(tp, tp + fn)},
        "true_negative_rate": {"value": _rate(tn, tn + fp)},
        "false_positive_rate": {"value": _rate(fp, fp + tn)},
        "false_negative_rate": {"value": _rate(fn, fn + tp)},
        "auc": _value(_auc, actual, probability),
    }
    if len(classes) == 2:
        fpr, tpr, _ = metrics.roc_curve(actual, probability)
        precisions, recalls, _ = metrics.precision_recall_curve(actual, probability)
        result["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": fpr.tolist(),
            "true_positive_rates": tpr.tolist(),
        }
        result["precision_recall_curve"] = {"precisions": precisions.tolist(), "recalls": recalls.tolist()}
    return result


def _value(metric: Metric, actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """``{"value": v, "standard_deviation": s}`` (see the module docstring for ``s``)."""
    entry: dict[str, float | None] = {"value": _finite(metric(actual, predicted))}
    if len(actual) >= SPREAD_MIN_ROWS:
        rng = np.random.default_rng(SPREAD_SEED)
        size = int(len(actual) * SPREAD_FRACTION)
        samples = []
        for _ in range(SPREAD_SAMPLES):
            rows = rng.choice(len(actual), size=size, replace=False)
            samples.append(metric(actual[rows], predicted[rows]))
        entry["standard_deviation"] = _finite(float(np.nanstd(samples)))
    return entry


def _finite(number: float) -> float | None:
    """JSON has no NaN: an undefined metric is written as null."""
    return float(number) if math.isfinite(number) else None


def _rate(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _auc(actual: np.ndarray, probability: np.ndarray) -> float:
    """ROC AUC; NaN for a sample that holds one class (null, and dropped from the spread)."""
    from sklearn import metrics

    if len(np.unique(actual)) < 2:
        return math.nan
    return float(metrics.roc_auc_score(actual, probability))
