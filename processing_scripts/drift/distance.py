"""Distribution distances, as Model Monitor's analyzer (Deequ) defines them: the math behind the
statistics registered in :mod:`.methods`.

Numeric features — L-infinity between CDFs (the two-sample Kolmogorov–Smirnov statistic):
``linf_simple = max_x |F_baseline(x) - F_current(x)|``, both CDFs right-continuous step functions,
``F(x) = P(X <= x)``. The baseline CDF comes from its sketch (rank / total weight); the current CDF
is exact. Between two consecutive baseline points the baseline CDF is flat and the current one only
rises, so the maximum is attained either at a baseline point or just below the next one; counting
the current values ``<= p`` and ``< p`` for every baseline point ``p`` therefore gives exactly the
value Deequ computes over the union of both sketches' items (with an exact current sketch).
``linf_robust = max(0, linf_simple - 1.8 * sqrt((n + m) / (n * m)))`` subtracts the KS critical
value at alpha ~ 0.003, so small samples do not raise false alarms. Note: in Deequ's code
``correctForLowNumberOfSamples=true`` returns the *simple* value; the method names here say what is
computed.

Categorical features — L-infinity between category frequencies, ``max_v |p_b(v) - p_c(v)|`` over the
union of categories; or Pearson's chi-squared goodness-of-fit test of the current counts against the
baseline proportions (Deequ's procedure: current categories unknown to the baseline are left out,
small expected categories are merged until Cochran's/Yates' rules hold), whose p-value is reported.

No numpy import at module level: the registry imports this module, the drift config imports the
registry, and ``pipelines/settings.py`` imports the config, which must stay instant to import. The
numeric distance works on the arrays it is given through their own methods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from processing_scripts.drift.sketch import Cdf

ROBUST_FACTOR = 1.8


def robust(linf: float, n: float, m: float) -> float:
    """The L-infinity distance less the small-sample allowance; NaN (nothing compared) stays NaN."""
    if math.isnan(linf):
        return linf
    return max(0.0, linf - ROBUST_FACTOR * math.sqrt((n + m) / (n * m)))


def numeric_linf(baseline: Cdf, at_or_below: np.ndarray, below: np.ndarray, current_total: int) -> float:
    """Exact sup |F_b - F_c| from the current counts at (and just below) each baseline point."""
    if current_total == 0 or baseline.points.size == 0:
        return math.nan
    at_point = abs(baseline.cumulative - at_or_below / current_total).max()
    # Just below point i the baseline CDF still has its value at point i-1 (0 before the first).
    before_first = below[0] / current_total
    before_others = abs(baseline.cumulative[:-1] - below[1:] / current_total).max(initial=0.0)
    # Above the last baseline point F_b = 1 and F_c only rises: covered by the last at_point.
    return float(max(at_point, before_first, before_others))


def categorical_linf(baseline: Mapping[str, int], current: Mapping[str, int]) -> float:
    n, m = sum(baseline.values()), sum(current.values())
    if n == 0 or m == 0:
        return math.nan
    keys = baseline.keys() | current.keys()
    return max(abs(baseline.get(k, 0) / n - current.get(k, 0) / m) for k in keys)


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
    statistic = math.fsum((observed[k] - e) ** 2 / e for k, e in expected.items())
    return float(chdtrc(len(expected) - 1, statistic))
