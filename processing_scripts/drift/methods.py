"""The drift statistics, one registry entry each: the only place that knows a method by its name.

An entry says everything the rest of the project needs about a statistic: its name as Model
Monitor's ``constraints.json`` writes it (``comparison_method`` for numbers,
``categorical_drift_method`` for strings), the other spellings AWS's documents use for it, which
kind of feature it compares, how its value is computed, which side of the threshold is drift, and
how a violation description names the value. The config validates method names against it, the
baseline job's and the CLI's choices come from it, the checks compute and judge with it, and the
CloudWatch alarms take their comparison operator from its direction (a p-value drifts *below* its
threshold, a distance *above*). Adding a statistic is adding one entry to ``STATISTICS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from processing_scripts.drift.distance import chi_squared_p_value, robust

if TYPE_CHECKING:
    from processing_scripts.drift.config import MonitoringConfig


class Kind(Enum):
    """Which features a statistic compares: numbers (Integral, Fractional) or strings."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"


class Direction(Enum):
    """Which side of the threshold is drift; the value is how a violation description says it."""

    ABOVE = "exceeds the threshold"
    BELOW = "is below"

    def drifted(self, value: float, threshold: float) -> bool:
        """NaN (nothing was compared) never drifts."""
        if math.isnan(value):
            return False
        return value > threshold if self is Direction.ABOVE else value < threshold


@dataclass(frozen=True)
class Comparison:
    """What a statistic is computed from, for one feature.

    ``linf`` is the plain L-infinity distance between the two distributions (CDFs for numbers,
    category frequencies for strings), computed for every feature and reported whatever the method.
    """

    linf: float
    baseline_count: float
    current_count: float
    baseline_categories: Mapping[str, int] = field(default_factory=dict)
    current_categories: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftStatistic:
    name: str  # as constraints.json writes it
    kind: Kind
    direction: Direction
    # The value compared with the threshold. The config is passed because Deequ shares one
    # small-sample flag between numbers and strings: categorical LInfinity follows comparison_method.
    compute: Callable[[Comparison, MonitoringConfig], float]
    measure: str  # how a violation description names the value
    value_format: str  # how descriptions and the report print the value
    aliases: tuple[str, ...] = ()  # other spellings in AWS's documents and SDK fixtures (read leniently)

    def describe(self, value: float, threshold: float) -> str:
        """What a baseline_drift_check violation says was measured."""
        return f"{self.measure} {value:{self.value_format}} {self.direction.value} {threshold:g}"


@dataclass(frozen=True)
class Distance:
    """One feature's comparison: ``value`` is what the verdict compares with ``threshold``."""

    statistic: DriftStatistic
    value: float
    threshold: float
    linf: float  # the plain L-infinity distance, reported for every method

    @property
    def method(self) -> str:
        return self.statistic.name

    @property
    def drifted(self) -> bool:
        return self.statistic.direction.drifted(self.value, self.threshold)


def _categorical_linf(comparison: Comparison, config: MonitoringConfig) -> float:
    """Category frequencies' L-infinity, robust exactly when the numeric method is (Deequ's one flag)."""
    numeric, _ = config.comparison(Kind.NUMERICAL)
    return numeric.compute(comparison, config)


def _robust_linf(comparison: Comparison, _config: MonitoringConfig) -> float:
    return robust(comparison.linf, comparison.baseline_count, comparison.current_count)


STATISTICS: dict[str, DriftStatistic] = {
    entry.name: entry
    for entry in (
        DriftStatistic(
            name="linf_simple",
            kind=Kind.NUMERICAL,
            direction=Direction.ABOVE,
            compute=lambda comparison, _config: comparison.linf,
            measure="linf_simple distance",
            value_format=".3f",
            aliases=("simple",),
        ),
        DriftStatistic(
            name="linf_robust",
            kind=Kind.NUMERICAL,
            direction=Direction.ABOVE,
            compute=_robust_linf,
            measure="linf_robust distance",
            value_format=".3f",
            aliases=("robust",),
        ),
        DriftStatistic(
            name="LInfinity",
            kind=Kind.CATEGORICAL,
            direction=Direction.ABOVE,
            compute=_categorical_linf,
            measure="LInfinity distance",
            value_format=".3f",
            aliases=("l_infinity",),
        ),
        DriftStatistic(
            name="ChiSquared",
            kind=Kind.CATEGORICAL,
            direction=Direction.BELOW,
            compute=lambda comparison, _config: chi_squared_p_value(
                comparison.baseline_categories, comparison.current_categories
            ),
            measure="chi-squared p-value",
            value_format=".3g",
            aliases=("chisquare", "chi_squared"),
        ),
    )
}


def names(kind: Kind) -> tuple[str, ...]:
    """The method names for one kind of feature, as constraints.json and the command lines take them."""
    return tuple(name for name, entry in STATISTICS.items() if entry.kind is kind)


def canonical_name(spelling: str) -> str:
    """The registry's name for any spelling AWS's documents use (case-insensitive); an unknown
    spelling comes back unchanged, so validation can name it."""
    wanted = spelling.lower()
    for entry in STATISTICS.values():
        if wanted == entry.name.lower() or wanted in entry.aliases:
            return entry.name
    return spelling
