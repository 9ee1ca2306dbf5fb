"""The numbers: statistics against numpy, sketches against exact ranks, distances against scipy."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from processing_scripts.drift.distance import categorical_distance, chi_squared_p_value, numeric_distance
from processing_scripts.drift.formats import CHI_SQUARED, LINF_ROBUST, LINF_SIMPLE, LINFINITY
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


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=1, max_size=200),
    st.lists(st.integers(-20, 20), min_size=1, max_size=200),
)
def test_exact_baseline_distance_is_the_two_sample_ks_statistic(baseline, current):
    _, profile = _current_counts(baseline, current)
    distance = numeric_distance(
        profile.baseline_cdf,
        len(baseline),
        at_or_below=profile.at_or_below,
        below=profile.below,
        current_total=profile.count,
        method=LINF_SIMPLE,
        threshold=0.1,
    )
    expected = scipy_stats.ks_2samp(baseline, current).statistic
    assert distance.value == pytest.approx(expected, abs=1e-12)


def test_robust_distance_subtracts_the_small_sample_allowance():
    rng = np.random.default_rng(3)
    baseline, current = rng.normal(size=3000), rng.normal(0.3, 1, size=500)
    _, profile = _current_counts(baseline, current)
    args = {
        "at_or_below": profile.at_or_below,
        "below": profile.below,
        "current_total": 500,
        "threshold": 0.1,
    }
    simple = numeric_distance(profile.baseline_cdf, 3000, method=LINF_SIMPLE, **args)
    robust = numeric_distance(profile.baseline_cdf, 3000, method=LINF_ROBUST, **args)
    assert robust.value == pytest.approx(simple.value - 1.8 * math.sqrt((3000 + 500) / (3000 * 500)))
    assert robust.linf == simple.value


def test_categorical_linf_and_chi_squared():
    baseline = {"M": 500, "F": 300, "I": 200}
    same = categorical_distance(baseline, {"M": 50, "F": 30, "I": 20}, LINFINITY, 0.1, robust_linf=False)
    assert same.value == 0.0 and not same.drifted
    moved = categorical_distance(baseline, {"M": 20, "F": 30, "I": 50}, LINFINITY, 0.1, robust_linf=False)
    assert moved.value == pytest.approx(0.3) and moved.drifted
    chi = categorical_distance(baseline, {"M": 20, "F": 30, "I": 50}, CHI_SQUARED, 0.05, robust_linf=False)
    expected = scipy_stats.chisquare([20, 30, 50], [50, 30, 20]).pvalue
    assert chi.value == pytest.approx(expected) and chi.drifted  # a p-value below the threshold
    assert not categorical_distance(
        baseline, {"M": 52, "F": 29, "I": 19}, CHI_SQUARED, 0.05, robust_linf=False
    ).drifted


def test_chi_squared_merges_small_expected_categories_like_deequ():
    # Expected counts 1 and 2 are merged into the next smallest until Yates' rule holds.
    baseline = {"a": 60, "b": 30, "c": 7, "d": 2, "e": 1}
    p_value = chi_squared_p_value(baseline, {"a": 55, "b": 33, "c": 8, "d": 3, "e": 1})
    expected = scipy_stats.chisquare([55, 33, 12], [60, 30, 10]).pvalue
    assert p_value == pytest.approx(expected)
