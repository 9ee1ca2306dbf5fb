"""The numbers: statistics against numpy, sketches against exact ranks, distances against scipy."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.distance import categorical_linf, chi_squared_p_value, numeric_linf
from processing_scripts.drift.methods import STATISTICS, Comparison
from processing_scripts.drift.profile import NumericProfile, StringProfile
from processing_scripts.drift.sketch import QuantileSketch

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
cells = st.one_of(st.none(), finite)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cells, min_size=0, max_size=40), min_size=1, max_size=5))
def test_numeric_statistics_match_numpy_over_any_batching(batches):
    profile = NumericProfile("x", "Fractional")
    for batch in batches:
        profile.add(pa.array(batch, pa.float64()))
    values = np.array([v for b in batches for v in b if v is not None])
    stats = profile.statistics()
    assert stats.num_present == values.size
    assert stats.num_missing == sum(v is None for b in batches for v in b)
    if values.size:
        assert stats.numeric.min == values.min() and stats.numeric.max == values.max()
        assert stats.numeric.mean == pytest.approx(values.mean(), rel=1e-9, abs=1e-6)
        assert stats.numeric.std_dev == pytest.approx(values.std(), rel=1e-6, abs=1e-6)
        assert stats.numeric.sum == pytest.approx(values.sum(), rel=1e-9, abs=1e-6)
        assert stats.numeric.sketch.total_weight == values.size  # exact below the limit
    else:
        assert math.isnan(stats.numeric.mean)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["M", "F", "I", "x y"])), max_size=60))
def test_string_counts_match_a_plain_count(values):
    profile = StringProfile("sex")
    profile.add(pa.array(values, pa.string()))
    stats = profile.statistics()
    present = [v for v in values if v is not None]
    assert stats.categories == {v: present.count(v) for v in set(present)}
    assert (stats.num_present, stats.num_missing) == (len(present), len(values) - len(present))


def test_text_in_a_numeric_feature_counts_as_type_mismatch_not_as_data():
    profile = NumericProfile("rings", "Integral")
    profile.add(pa.array(["7", " 9 ", "abc", None, "2.5", "1e1"]))
    assert (profile.present, profile.missing, profile.not_numbers, profile.not_whole) == (5, 1, 1, 1)
    assert profile.type_mismatches == 2  # "abc" is not a number, 2.5 is not whole
    assert profile.count == 4 and profile.max == 10.0


def test_large_streams_stay_bounded_and_accurate():
    rng = np.random.default_rng(1)
    values = rng.normal(size=400_000)
    sketch = QuantileSketch()
    for chunk in np.array_split(values, 40):
        sketch.update(chunk)
    items = sum(level.size for level in sketch.levels)
    assert items < 2048 / (1 - 0.64) + 64  # KLL's bound, independent of the stream length
    assert sketch.total_weight == pytest.approx(values.size, rel=0.01)
    cdf = sketch.cdf()
    probes = np.quantile(values, np.linspace(0.01, 0.99, 50))
    exact = np.searchsorted(np.sort(values), probes, side="right") / values.size
    assert np.max(np.abs(cdf.at(probes) - exact)) < 0.01


def _current_counts(baseline_values, current_values):
    sketch = QuantileSketch()
    sketch.update(np.asarray(baseline_values, dtype=float))
    profile = NumericProfile("x", "Fractional", sketch.cdf())
    profile.add(pa.array(np.asarray(current_values, dtype=float)))
    return sketch, profile


def _numeric(profile: NumericProfile, baseline_count: int) -> Comparison:
    linf = numeric_linf(profile.baseline_cdf, profile.at_or_below, profile.below, profile.count)
    return Comparison(linf, baseline_count, profile.count)


def _categorical(baseline: dict[str, int], current: dict[str, int]) -> Comparison:
    linf = categorical_linf(baseline, current)
    return Comparison(linf, sum(baseline.values()), sum(current.values()), baseline, current)


SIMPLE = MonitoringConfig(comparison_method="linf_simple")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=1, max_size=200),
    st.lists(st.integers(-20, 20), min_size=1, max_size=200),
)
def test_exact_baseline_distance_is_the_two_sample_ks_statistic(baseline, current):
    _, profile = _current_counts(baseline, current)
    value = STATISTICS["linf_simple"].compute(_numeric(profile, len(baseline)), SIMPLE)
    expected = scipy_stats.ks_2samp(baseline, current).statistic
    assert value == pytest.approx(expected, abs=1e-12)


def test_robust_distance_subtracts_the_small_sample_allowance():
    rng = np.random.default_rng(3)
    baseline, current = rng.normal(size=3000), rng.normal(0.3, 1, size=500)
    _, profile = _current_counts(baseline, current)
    comparison = _numeric(profile, 3000)
    simple = STATISTICS["linf_simple"].compute(comparison, SIMPLE)
    robust = STATISTICS["linf_robust"].compute(comparison, SIMPLE)
    assert simple == comparison.linf
    assert robust == pytest.approx(simple - 1.8 * math.sqrt((3000 + 500) / (3000 * 500)))


def test_categorical_linfinity_follows_the_numeric_methods_small_sample_correction():
    """Deequ shares one flag: LInfinity on categories is robust exactly when comparison_method is."""
    moved = _categorical({"M": 500, "F": 300, "I": 200}, {"M": 20, "F": 30, "I": 50})
    linfinity = STATISTICS["LInfinity"]
    assert linfinity.compute(moved, SIMPLE) == pytest.approx(0.3)
    robust = linfinity.compute(moved, MonitoringConfig(comparison_method="linf_robust"))
    assert robust == pytest.approx(0.3 - 1.8 * math.sqrt((1000 + 100) / (1000 * 100)))


def test_categorical_linf_and_chi_squared():
    baseline = {"M": 500, "F": 300, "I": 200}
    linfinity, chi_squared = STATISTICS["LInfinity"], STATISTICS["ChiSquared"]
    same = _categorical(baseline, {"M": 50, "F": 30, "I": 20})
    assert linfinity.compute(same, SIMPLE) == 0.0
    moved = _categorical(baseline, {"M": 20, "F": 30, "I": 50})
    assert linfinity.compute(moved, SIMPLE) == pytest.approx(0.3)
    p_value = chi_squared.compute(moved, SIMPLE)
    assert p_value == pytest.approx(scipy_stats.chisquare([20, 30, 50], [50, 30, 20]).pvalue)
    close = chi_squared.compute(_categorical(baseline, {"M": 52, "F": 29, "I": 19}), SIMPLE)
    assert close > 0.05


def test_chi_squared_merges_small_expected_categories_like_deequ():
    # Expected counts 1 and 2 are merged into the next smallest until Yates' rule holds.
    baseline = {"a": 60, "b": 30, "c": 7, "d": 2, "e": 1}
    p_value = chi_squared_p_value(baseline, {"a": 55, "b": 33, "c": 8, "d": 3, "e": 1})
    expected = scipy_stats.chisquare([55, 33, 12], [60, 30, 10]).pvalue
    assert p_value == pytest.approx(expected)
