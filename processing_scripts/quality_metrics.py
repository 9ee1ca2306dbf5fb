"""Model quality metrics in the JSON shape SageMaker Model Monitor and model cards use.

``{"regression_metrics": {"mse": {"value": .., "standard_deviation": ..}, ...}}`` or
``{"binary_classification_metrics": {...}}``: the pipeline's condition step reads one value with
``JsonGet`` (``settings.quality_gate.metric_path``) and the model registry shows the file as the
package's model-quality statistics.

The standard deviation follows Model Monitor's documented method: the metric on 5 random 80%
samples (without replacement), reported only when there are at least 200 rows; below that the
spread says more about the sample than the model, so the key is left out. The samples are seeded,
so the same predictions always give the same file.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn import metrics

from processing_scripts.job import JobInputError

SPREAD_MIN_ROWS = 200
SPREAD_SAMPLES = 5
SPREAD_FRACTION = 0.8
SPREAD_SEED = 0

Metric = Callable[[np.ndarray, np.ndarray], float]


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
    """JSON has no NaN: an undefined metric (e.g. r2 of a constant label) is written as null."""
    return float(number) if math.isfinite(number) else None


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """mse, rmse, mae and r2 of ``predicted`` against ``actual``."""
    return {
        "regression_metrics": {
            "mse": _value(metrics.mean_squared_error, actual, predicted),
            "rmse": _value(metrics.root_mean_squared_error, actual, predicted),
            "mae": _value(metrics.mean_absolute_error, actual, predicted),
            "r2": _value(metrics.r2_score, actual, predicted),
        }
    }


def _rate(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def binary_classification_metrics(actual: np.ndarray, probability: np.ndarray, threshold: float) -> dict:
    """Confusion matrix, threshold metrics, AUC and the ROC / precision-recall curves.

    ``actual`` must hold 0/1 labels with both classes present (AUC is undefined otherwise) and
    ``probability`` the model's probability of class 1; a row is predicted 1 when
    ``probability >= threshold``.
    """
    classes = set(np.unique(actual).tolist())
    if not classes <= {0.0, 1.0}:
        odd = sorted(classes - {0.0, 1.0})[:5]
        raise JobInputError(
            f"binary_classification needs 0/1 labels but the test split has {', '.join(f'{v:g}' for v in odd)}; "
            "was the data preprocessed for this problem type?"
        )
    if len(classes) < 2:
        raise JobInputError(
            f"the test split has only label {next(iter(classes)):g}; AUC and recall need both classes, "
            "so use more data or a different split seed"
        )
    if probability.min() < 0 or probability.max() > 1:
        raise JobInputError(
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
    fpr, tpr, _ = metrics.roc_curve(actual, probability)
    precisions, recalls, _ = metrics.precision_recall_curve(actual, probability)
    return {
        "binary_classification_metrics": {
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
            "receiver_operating_characteristic_curve": {
                "false_positive_rates": fpr.tolist(),
                "true_positive_rates": tpr.tolist(),
            },
            "precision_recall_curve": {"precisions": precisions.tolist(), "recalls": recalls.tolist()},
        }
    }


def _auc(actual: np.ndarray, probability: np.ndarray) -> float:
    """ROC AUC; NaN for a sample that happens to hold one class (dropped from the spread)."""
    if len(np.unique(actual)) < 2:
        return math.nan
    return float(metrics.roc_auc_score(actual, probability))
