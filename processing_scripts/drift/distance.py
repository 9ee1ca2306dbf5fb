"""Distribution distances, as Model Monitor's analyzer (Deequ) defines them.

Numeric features — L-infinity between CDFs (the two-sample Kolmogorov–Smirnov statistic):
``linf_simple = max_x |F_baseline(x) - F_current(x)|``, both CDFs right-continuous step functions,
``F(x) = P(X <= x)``. The baseline CDF comes from its sketch (rank / total weight); the current CDF
is exact. Between two consecutive baseline points the baseline CDF is flat and the current one only
rises, so the maximum is attained either at a baseline point or just below the next one; counting
the current values ``<= p`` and ``< p`` for every baseline point ``p`` therefore gives exactly the
value Deequ computes over the union of both sketches' items (with an exact current sketch).
``linf_robust = max(0, linf_simple - 1.8 * sqrt((n + m) / (n * m)))`` subtracts the KS critical
value at alpha ~ 0.003, so small samples do not raise false alarms. Drift when the value
``> comparison_threshold`` (Model Monitor's default 0.1: "maximum absolute difference between the
CDFs"). Note: in Deequ's code ``correctForLowNumberOfSamples=true`` returns the *simple* value; the
method names here say what is computed.

Categorical features — L-infinity between category frequencies, ``max_v |p_b(v) - p_c(v)|`` over the
union of categories (robust variant as above), drift when ``> categorical_comparison_threshold``; or
``ChiSquared``: Pearson's goodness-of-fit test of the current counts against the baseline
proportions (Deequ's procedure: current categories unknown to the baseline are left out, small
expected categories are merged until Cochran's/Yates' rules hold); drift when the p-value
``< categorical_comparison_threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from processing_scripts.drift.formats import CHI_SQUARED, LINF_ROBUST, LINFINITY
from processing_scripts.drift.sketch import Cdf

ROBUST_FACTOR = 1.8


@dataclass(frozen=True)
class Distance:
    """One feature's comparison: ``value`` is what the verdict compares with ``threshold``."""

    method: str
    value: float
    threshold: float
    linf: float  # the plain L-infinity distance, reported for every method

    @property
    def drifted(self) -> bool:
        if math.isnan(self.value):
            return False
        if self.method == CHI_SQUARED:
            return self.value < self.threshold
        return self.value > self.threshold


def robust(linf: float, n: float, m: float) -> float:
    return max(0.0, linf - ROBUST_FACTOR * math.sqrt((n + m) / (n * m)))


def numeric_linf(baseline: Cdf, at_or_below: np.ndarray, below: np.ndarray, current_total: int) -> float:
    """Exact sup |F_b - F_c| from the current counts at (and just below) each baseline point."""
    if current_total == 0 or baseline.points.size == 0:
        return math.nan
    at_point = np.abs(baseline.cumulative - at_or_below / current_total)
    # Just below point i the baseline CDF still has its value at point i-1 (0 before the first).
    previous = np.concatenate([[0.0], baseline.cumulative[:-1]])
    before_point = np.abs(previous - below / current_total)
    # Above the last baseline point F_b = 1 and F_c only rises: covered by the last at_point.
    return float(max(at_point.max(), before_point.max()))


def numeric_distance(
    baseline: Cdf,
    baseline_total: float,
    *,
    at_or_below: np.ndarray,
    below: np.ndarray,
    current_total: int,
    method: str,
    threshold: float,
) -> Distance:
    linf = numeric_linf(baseline, at_or_below, below, current_total)
    use_robust = method == LINF_ROBUST and not math.isnan(linf)
    value = robust(linf, baseline_total, current_total) if use_robust else linf
    return Distance(method=method, value=value, threshold=threshold, linf=linf)


def categorical_linf(baseline: Mapping[str, int], current: Mapping[str, int]) -> float:
    n, m = sum(baseline.values()), sum(current.values())
    if n == 0 or m == 0:
        return math.nan
    keys = baseline.keys() | current.keys()
    return max(abs(baseline.get(k, 0) / n - current.get(k, 0) / m) for k in keys)


def categorical_distance(
    baseline: Mapping[str, int], current: Mapping[str, int], method: str, threshold: float, robust_linf: bool
) -> Distance:
    """``robust_linf`` follows the numeric comparison method, as Deequ shares one flag for both."""
    linf = categorical_linf(baseline, current)
    if method == CHI_SQUARED:
        return Distance(CHI_SQUARED, chi_squared_p_value(baseline, current), threshold, linf)
    n, m = sum(baseline.values()), sum(current.values())
    value = robust(linf, n, m) if robust_linf and not math.isnan(linf) else linf
    return Distance(LINFINITY, value, threshold, linf)


def chi_squared_p_value(
    baseline: Mapping[str, int],
    current: Mapping[str, int],
    yates_min_expected: float = 5,
    yates_share_below: float = 0.2,
    cochran_min_expected: float = 10,
) -> float:
    """p-value of the current counts given the baseline proportions (NaN if < 2 groups remain)."""
    from scipy.special import chdtrc  # the chi-squared survival function; only this method needs scipy

    sample_total = sum(count for value, count in current.items() if value in baseline)
    baseline_total = sum(baseline.values())
    if sample_total == 0 or baseline_total == 0:
        return math.nan
    expected = {k: v / baseline_total * sample_total for k, v in baseline.items()}
    observed = {k: float(current.get(k, 0)) for k in baseline}
    while len(expected) >= 2:
        two_by_two = len(expected) == 2
        minimum = cochran_min_expected if two_by_two else yates_min_expected
        allowed_below = 0 if two_by_two else int(yates_share_below * len(expected))
        if sum(1 for v in expected.values() if v < minimum) <= allowed_below:
            break
        smallest = min(expected, key=expected.__getitem__)
        small_expected, small_observed = expected.pop(smallest), observed.pop(smallest)
        second = min(expected, key=expected.__getitem__)
        expected[second] += small_expected
        observed[second] += small_observed
    if len(expected) < 2:
        return math.nan
    exp = np.array(list(expected.values()))
    obs = np.array([observed[k] for k in expected])
    statistic = float(np.sum(np.square(obs - exp) / exp))
    return float(chdtrc(len(exp) - 1, statistic))
