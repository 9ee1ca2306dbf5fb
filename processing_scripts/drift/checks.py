"""Constraint checks and drift verdicts, turned into violations a person can act on.

Each check compares one feature's current profile with the baseline's statistics and constraints
(thresholds from ``monitoring_config`` with the feature's ``monitoringConfigOverrides`` applied) and,
when it fails, says what was expected, what was observed, and what to do about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from processing_scripts.drift import sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.distance import categorical_linf, numeric_linf
from processing_scripts.drift.formats import (
    BASELINE_DRIFT_CHECK,
    CATEGORICAL_VALUES_CHECK,
    COMPLETENESS_CHECK,
    DATA_TYPE_CHECK,
    EXTRA_COLUMN_CHECK,
    MISSING_COLUMN_CHECK,
    STRING,
    Constraints,
    FeatureStatistics,
    Violation,
)
from processing_scripts.drift.methods import Comparison, Distance, Kind
from processing_scripts.drift.profile import NumericProfile, Profile, StringProfile


@dataclass
class FeatureResult:
    """One feature's outcome, as it appears in drift_summary.json and the report."""

    name: str
    inferred_type: str
    baseline_count: int
    current_count: int
    distance: Distance | None = None
    note: str = ""

    @property
    def drifted(self) -> bool:
        return self.distance is not None and self.distance.drifted

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "inferred_type": self.inferred_type,
            "baseline_count": self.baseline_count,
            "current_count": self.current_count,
        }
        if self.distance is not None:
            doc |= {
                "method": self.distance.method,
                "distance": self.distance.value,
                "linf": self.distance.linf,
                "threshold": self.distance.threshold,
                "drifted": self.drifted,
            }
        else:
            doc |= {"method": None, "distance": None, "threshold": None, "drifted": None}
        if self.note:
            doc["note"] = self.note
        return doc


@dataclass
class Evaluation:
    features: list[FeatureResult] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    features_missing: list[str] = field(default_factory=list)


def evaluate(
    constraints: Constraints,
    baseline_stats: dict[str, FeatureStatistics],
    profiles: dict[str, Profile],
    source: sources.Source,
    features: list[str],
) -> Evaluation:
    result = Evaluation()
    _column_checks(result, source, features, profiles)
    for constraint in constraints.features:
        name = constraint.name
        profile = profiles[name]
        base = baseline_stats[name]
        config = constraints.config_for(name)
        outcome = FeatureResult(name, constraint.inferred_type, base.num_present, profile.present)
        result.features.append(outcome)
        if profile.rows == 0:
            outcome.note = "absent from the current data"
            continue
        if config.evaluate_constraints:
            result.violations += _constraint_checks(
                constraint.completeness, constraint.domains, base, profile, config
            )
        if config.perform_comparison:
            outcome.distance = _distance(base, profile, config)
            if outcome.distance is None or math.isnan(outcome.distance.value):
                outcome.note = "not compared: no values of the baseline's type on one side"
            elif outcome.drifted:
                result.violations.append(_drift_violation(name, outcome.distance, base, profile))
    return result


def _column_checks(
    result: Evaluation, source: sources.Source, features: list[str], profiles: dict[str, Profile]
) -> None:
    """Missing/extra columns: by name for files with a header, by value count for positional rows."""
    issues = source.stats.column_issues
    for count, rows in sorted(issues.by_count.items()):
        expected = len(features)
        what = "rows" if source.kind != "capture" else "rows (in capture requests)"
        left_out = f"{rows:,} {what} have {count} values but the baseline has {expected} features"
        if count < expected:
            for name in features[count:]:
                result.violations.append(
                    Violation(
                        name,
                        MISSING_COLUMN_CHECK,
                        f"{left_out}; by position '{name}' is absent. Those rows were left out of the "
                        "statistics. Check that the data sends every feature in the baseline's order.",
                    )
                )
        else:
            result.violations.append(
                Violation(
                    f"_c{expected}",
                    EXTRA_COLUMN_CHECK,
                    f"{left_out} ({count - expected} extra). Those rows were left out of the statistics. "
                    "If the extra value is a label or an id, pass --schema, or drop it before sending.",
                )
            )
    if source.kind == "capture":
        for name, count in sorted(source.stats.unknown_fields.items()):
            result.violations.append(
                Violation(
                    name,
                    EXTRA_COLUMN_CHECK,
                    f"{count:,} JSON rows carry '{name}', which the baseline does not know.",
                )
            )
        return
    if not source.seen_columns:
        return
    for name in features:
        if name not in source.seen_columns and profiles[name].rows == 0:
            result.features_missing.append(name)
            result.violations.append(
                Violation(
                    name,
                    MISSING_COLUMN_CHECK,
                    f"'{name}' is in the baseline but not in the data's columns. If the column was renamed, "
                    "rename it back or re-baseline; if this baseline belongs to another model, use that model's.",
                )
            )
    for name in sorted(source.seen_columns - set(features) - set(source.exclude)):
        if not name.startswith("_c") or source.column_names:
            result.violations.append(
                Violation(
                    name,
                    EXTRA_COLUMN_CHECK,
                    f"'{name}' is in the data but not in the baseline; it was not checked.",
                )
            )


def _constraint_checks(
    completeness: float | None,
    domains: tuple[str, ...] | None,
    base: FeatureStatistics,
    profile: Profile,
    config: MonitoringConfig,
) -> list[Violation]:
    found = []
    name = profile.name
    rows = profile.rows
    current = profile.present / rows
    expected = base.completeness if completeness is None else completeness
    if expected - current > config.completeness_threshold:
        found.append(
            Violation(
                name,
                COMPLETENESS_CHECK,
                f"completeness {current:.1%} of {rows:,} rows is below the baseline's {expected:.1%} by more than "
                f"the tolerated {config.completeness_threshold:.0%}: find why the producer sends empty values.",
            )
        )
    if isinstance(profile, NumericProfile) and profile.present:
        mismatches = profile.type_mismatches
        share = mismatches / profile.present
        if share > config.datatype_check_threshold:
            detail = (
                f"{profile.not_numbers:,} are not numbers"
                if profile.not_numbers
                else f"{profile.not_whole:,} are not whole numbers"
            )
            found.append(
                Violation(
                    name,
                    DATA_TYPE_CHECK,
                    f"expected {profile.expected_type} values but {share:.1%} of {profile.present:,} ({detail}), "
                    f"more than the tolerated {config.datatype_check_threshold:.0%}: check the producer's "
                    "encoding of this feature, or re-baseline if its type changed on purpose.",
                )
            )
    if isinstance(profile, StringProfile) and domains is not None and profile.present:
        domain = set(domains)
        unknown = {v: c for v, c in profile.counts.items() if v not in domain}
        share = sum(unknown.values()) / profile.present
        if share > config.domain_content_threshold:
            examples = ", ".join(repr(v) for v, _ in sorted(unknown.items(), key=lambda kv: -kv[1])[:5])
            found.append(
                Violation(
                    name,
                    CATEGORICAL_VALUES_CHECK,
                    f"{share:.1%} of {profile.present:,} values are outside the baseline's domain "
                    f"({len(domain)} values), more than the tolerated {config.domain_content_threshold:.0%}; "
                    f"new values: {examples}. Add them to constraints.json's domains if they are valid, "
                    "or retrain with data that has them.",
                )
            )
    return found


def _distance(base: FeatureStatistics, profile: Profile, config: MonitoringConfig) -> Distance | None:
    """The configured statistic for the feature's kind, computed and judged against its threshold."""
    if isinstance(profile, NumericProfile):
        if profile.baseline_cdf is None or base.numeric is None:
            return None
        kind = Kind.NUMERICAL
        comparison = Comparison(
            linf=numeric_linf(profile.baseline_cdf, profile.at_or_below, profile.below, profile.count),
            baseline_count=float(base.num_present),
            current_count=profile.count,
        )
    elif base.inferred_type == STRING and base.categories is not None:
        kind = Kind.CATEGORICAL
        comparison = Comparison(
            linf=categorical_linf(base.categories, profile.counts),
            baseline_count=sum(base.categories.values()),
            current_count=sum(profile.counts.values()),
            baseline_categories=base.categories,
            current_categories=profile.counts,
        )
    else:
        return None
    statistic, threshold = config.comparison(kind)
    return Distance(statistic, statistic.compute(comparison, config), threshold, comparison.linf)


def _drift_violation(name: str, distance: Distance, base: FeatureStatistics, profile: Profile) -> Violation:
    measured = distance.statistic.describe(distance.value, distance.threshold)
    if isinstance(profile, NumericProfile) and base.numeric is not None and profile.count:
        shift = f"mean {base.numeric.mean:.4g} -> {profile.mean:.4g}, std {base.numeric.std_dev:.4g} -> {math.sqrt(profile.m2 / profile.count):.4g}"
    elif isinstance(profile, StringProfile) and base.categories:
        shift = f"most frequent {_top(base.categories)} -> {_top(profile.counts)}"
    else:
        shift = ""
    return Violation(
        name,
        BASELINE_DRIFT_CHECK,
        f"distribution drifted from the baseline: {measured} ({shift}). Inspect the report's plot; if the "
        "new distribution is expected, retrain and re-baseline, else find the upstream change.",
    )


def _top(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    value, count = max(counts.items(), key=lambda kv: kv[1])
    return f"{value!r} {count / total:.0%}"
