"""The training pipeline's quality gate in words: a metric, a SageMaker condition type, a threshold.

The gate itself is the pipeline's ConditionStep (``pipelines/training.py``); this module says the
same thing to a person, in the evaluation report (the job's view) and at the end of ``run-local``
(the CLI's view), so both read the metric and judge it the way the condition does.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

# SageMaker's comparison condition types (ConditionStep) the gate may use, as a symbol and a test.
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "LessThanOrEqualTo": ("<=", operator.le),
    "LessThan": ("<", operator.lt),
    "GreaterThanOrEqualTo": (">=", operator.ge),
    "GreaterThan": (">", operator.gt),
}


def metric_at(document: Mapping[str, Any], path: str) -> float | None:
    """The number at a JsonGet-style dotted ``path`` (``regression_metrics.rmse.value``), or None."""
    value: Any = document
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def verdict(metric_path: str, value: float, comparison: str, threshold: float, threshold_name: str) -> str:
    """``regression_metrics.rmse.value 2.339 <= 3.0 (QualityThreshold): passes the gate``."""
    symbol, passes = COMPARISONS[comparison]
    outcome = "passes the gate" if passes(value, threshold) else "fails the gate"
    return f"{metric_path} {value:.4g} {symbol} {threshold:g} ({threshold_name}): {outcome}"
