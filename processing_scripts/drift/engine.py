"""The two operations: suggest a baseline from a dataset, and check current data against it.

``build_baseline`` profiles a dataset into Model Monitor's ``statistics.json`` and
``constraints.json``. ``run_check`` profiles current data (a table or endpoint capture) against a
baseline in one streaming pass and returns a :class:`CheckResult`: the violations, the current
statistics, per-feature distances and verdicts, what reading found, and model quality when ground
truth is given. ``write_check`` writes the four output files.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from processing_scripts import contract
from processing_scripts.drift import checks, sources
from processing_scripts.drift.capture import Labels, TimeWindow
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import (
    FRACTIONAL,
    INTEGRAL,
    MAX_CATEGORIES,
    NUMERIC_TYPES,
    STRING,
    Constraints,
    DatasetStatistics,
    FeatureConstraints,
    FeatureStatistics,
    Violation,
    json_text,
    parse_json,
    violations_to_json,
)
from processing_scripts.drift.ground_truth import QualityResult, merged_quality, read_ground_truth
from processing_scripts.drift.profile import NumericProfile, Profile, StringProfile, text_column_kind
from processing_scripts.drift.report_context import ReportContext
from processing_scripts.drift.storage import Storage, StoredFile, join
from processing_scripts.drift.tabular import TypeConversionError
from processing_scripts.split_schema import REGRESSION

# Verdicts written to drift_summary.json.
DRIFT = "drift"
NO_DRIFT = "no_drift"
NOTHING_TO_CHECK = "nothing_to_check"
BASELINE_MISMATCH = "baseline_mismatch"
NO_USABLE_DATA = "no_usable_data"
CHECKED = (DRIFT, NO_DRIFT)


@dataclass
class Baseline:
    statistics: DatasetStatistics
    constraints: Constraints
    # What reading the dataset found (built baselines only): every row left out is counted there.
    reading: dict[str, Any] | None = None

    @property
    def features(self) -> list[str]:
        return [f.name for f in self.constraints.features]

    def left_out(self) -> str | None:
        """One line on the rows the baseline does not include, or None when every row is in it."""
        if not self.reading or not self.reading.get("rows_left_out"):
            return None
        reading = self.reading
        return (
            f"{reading['rows_left_out']} of {reading['rows_left_out'] + reading['rows']} rows left out "
            f"({reading['rows_with_wrong_value_count']} with a different number of values than the "
            f"{reading['columns']} columns, {reading['rows_in_unterminated_quotes']} inside an "
            f"unterminated quote), e.g. {'; '.join(reading['row_examples'][:3])}; "
            f"see {contract.BASELINE_READING_FILE}"
        )

    def outputs(self) -> dict[str, str]:
        """File name -> content, for the caller to write (atomically, in a job)."""
        files = {
            contract.STATISTICS_FILE: json_text(self.statistics.to_json()),
            contract.CONSTRAINTS_FILE: json_text(self.constraints.to_json()),
        }
        if self.reading is not None:
            files[contract.BASELINE_READING_FILE] = json_text(self.reading)
        return files


def load_baseline(storage: Storage, location: str) -> Baseline:
    """Read ``statistics.json`` and ``constraints.json`` from a folder or S3 prefix."""
    return load_baseline_files(
        storage, join(location, contract.STATISTICS_FILE), join(location, contract.CONSTRAINTS_FILE)
    )


def load_baseline_files(storage: Storage, statistics_uri: str, constraints_uri: str) -> Baseline:
    """Read the two baseline files from wherever they are (a model package names each one)."""
    docs = [parse_json(_read(storage, uri), uri) for uri in (statistics_uri, constraints_uri)]
    baseline = Baseline(
        _from_json(DatasetStatistics.from_json, docs[0], statistics_uri),
        _from_json(Constraints.from_json, docs[1], constraints_uri),
    )
    stat_names = {f.name for f in baseline.statistics.features}
    missing = [n for n in baseline.features if n not in stat_names]
    if missing:
        raise DriftInputError(
            f"{constraints_uri} names features that {statistics_uri} lacks: {', '.join(missing)}; "
            "both files must come from the same baseline run"
        )
    if not baseline.features:
        raise DriftInputError(f"{constraints_uri} lists no features")
    return baseline


def _from_json(parse: Any, doc: Any, uri: str) -> Any:
    """A baseline file's model; a field of the wrong shape (text for a count, a string for the
    feature list) is one line naming the file, not a traceback from deep in the parser."""
    try:
        return parse(doc, uri)
    except DriftInputError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        raise DriftInputError(
            f"{uri}: not Model Monitor's format ({type(err).__name__}: {err}); "
            "write it with `monitor baseline` or the baseline step"
        ) from err


def _read(storage: Storage, uri: str) -> bytes:
    try:
        return storage.read_bytes(uri)
    except FileNotFoundError as err:
        raise DriftInputError(f"{uri} does not exist: run `monitor baseline` first, or fix the path") from err
    except Exception as err:
        if type(err).__name__ in ("NoSuchKey", "ClientError", "NoSuchBucket"):
            raise DriftInputError(f"cannot read {uri}: {err}") from err
        raise


# -- baseline ----------------------------------------------------------------------------------
def build_baseline(
    source: sources.Source, config: MonitoringConfig, progress: sources.Progress | None = None
) -> Baseline:
    if source.kind == "capture":
        raise DriftInputError("a baseline is built from a CSV or Parquet dataset, not from capture files")
    try:
        profiles = _profile_inferring_types(source, None, progress)
    except TypeConversionError:
        # A column changed type after the first block: infer types over all data, then read again.
        kinds = _infer_text_types(dataclasses.replace(source, stats=type(source.stats)(), seen_columns=set()))
        types = {n: pa.float64() if k in NUMERIC_TYPES else pa.string() for n, k in kinds.items()}
        source = dataclasses.replace(source, stats=type(source.stats)(), seen_columns=set())
        profiles = _profile_inferring_types(source, types, progress, kinds)
    if not profiles or source.stats.rows == 0:
        raise DriftInputError(f"{source.uri}: no data rows to build a baseline from")
    statistics = DatasetStatistics(
        item_count=source.stats.rows, features=[p.statistics() for p in profiles.values()]
    )
    constraints = Constraints(
        features=[_suggest_constraint(s) for s in statistics.features], monitoring_config=config
    )
    reading = source.stats.to_json() | {
        "rows_left_out": source.stats.column_issues.total,
        "columns": source.stats.column_issues.expected,
    }
    return Baseline(statistics, constraints, reading)


def _profile_inferring_types(
    source: sources.Source,
    types: dict[str, pa.DataType] | None,
    progress: sources.Progress | None,
    kinds: dict[str, str] | None = None,
) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for batch in sources.table_batches(source, None, types, progress):
        for name, column in zip(batch.column_names, batch.columns, strict=True):
            if name not in profiles:
                kind = (kinds or {}).get(name) or _arrow_kind(column.type)
                profiles[name] = NumericProfile(name, kind) if kind in NUMERIC_TYPES else StringProfile(name)
            profiles[name].add(column)
    return profiles


def _infer_text_types(source: sources.Source) -> dict[str, str]:
    """Per column over every batch read as text: Integral, Fractional or String (Deequ's rule:
    any non-number makes a String)."""
    seen: dict[str, set[str]] = {}
    for batch in sources.table_batches(source, None, sources.ALL_TEXT):
        for name, column in zip(batch.column_names, batch.columns, strict=True):
            seen.setdefault(name, set()).add(text_column_kind(column))
    return {
        name: STRING if STRING in kinds else (INTEGRAL if kinds == {INTEGRAL} else FRACTIONAL)
        for name, kinds in seen.items()
    }


def _arrow_kind(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return INTEGRAL
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_null(kind):
        return FRACTIONAL
    return STRING


def _suggest_constraint(stats: FeatureStatistics) -> FeatureConstraints:
    numeric = stats.numeric
    domains = None
    if (
        stats.inferred_type == STRING
        and stats.categories is not None
        and (stats.distinct_count if stats.distinct_count is not None else len(stats.categories))
        <= MAX_CATEGORIES
    ):
        domains = tuple(sorted(stats.categories))
    return FeatureConstraints(
        name=stats.name,
        inferred_type=stats.inferred_type,
        completeness=stats.completeness,
        is_non_negative=None if numeric is None else bool(stats.num_present and not numeric.min < 0),
        domains=domains,
    )


# -- check -------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    verdict: str
    message: str
    statistics: DatasetStatistics
    violations: list[Violation]
    features: list[checks.FeatureResult]
    reading: dict[str, Any]
    baseline: Baseline
    window: TimeWindow | None = None
    quality: QualityResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def compared(self) -> list[checks.FeatureResult]:
        return [f for f in self.features if f.distance is not None and not math.isnan(f.distance.value)]

    @property
    def drifted(self) -> list[checks.FeatureResult]:
        return [f for f in self.compared if f.drifted]

    @property
    def drifted_share(self) -> float | None:
        return len(self.drifted) / len(self.compared) if self.compared else None

    def summary(self) -> dict[str, Any]:
        return {
            "version": 1,
            "verdict": self.verdict,
            "message": self.message,
            "drifted_feature_share": self.drifted_share,
            "drifted_features": [f.name for f in self.drifted],
            "features_compared": len(self.compared),
            "violations": len(self.violations),
            "window": None if self.window is None else self.window.to_json(),
            "reading": self.reading,
            "features": [f.to_json() for f in self.features],
            "model_quality": None if self.quality is None else self.quality.to_json(),
            "thresholds": self.baseline.constraints.monitoring_config.to_json(),
            "warnings": self.warnings,
        }


def run_check(
    baseline: Baseline,
    source: sources.Source,
    *,
    ground_truth: list[StoredFile] | None = None,
    problem_type: str = REGRESSION,
    progress: sources.Progress | None = None,
) -> CheckResult:
    predictions = Labels() if ground_truth else None
    profiles = profile_check(baseline, source, predictions, progress)
    quality = None
    if predictions is not None and ground_truth:
        quality = _quality(source, ground_truth, predictions, problem_type)
    return check_result(baseline, source, profiles, quality)


def profile_check(
    baseline: Baseline,
    source: sources.Source,
    predictions: Labels | None = None,
    progress: sources.Progress | None = None,
) -> dict[str, Profile]:
    """The baseline's features profiled over ``source`` in one streaming pass (``source.stats``
    and ``source.seen_columns`` say what reading found); the first half of :func:`run_check`, which
    a sharded check runs on each shard (see ``drift/partial.py``)."""
    features = baseline.features
    types = {n: pa.string() if c.inferred_type == STRING else pa.float64() for n, c in _constraints(baseline)}

    def profile(column_types: dict[str, pa.DataType]) -> dict[str, Profile]:
        profiles = check_profiles(baseline)
        if source.kind == "capture":
            batches = sources.capture_batches(source, features, column_types, predictions, progress)
        else:
            batches = sources.table_batches(source, features, column_types, progress)
        for batch in batches:
            for name, column in zip(batch.column_names, batch.columns, strict=True):
                if name in profiles:
                    profiles[name].add(column)
        return profiles

    try:
        return profile(types)
    except TypeConversionError:
        # Text in a numeric feature: read again with every column as text; profiles count mismatches.
        source.stats = type(source.stats)()
        source.seen_columns = set()
        return profile({name: pa.string() for name in features})


def check_result(
    baseline: Baseline,
    source: sources.Source,
    profiles: dict[str, Profile],
    quality: QualityResult | None = None,
) -> CheckResult:
    """The verdict, violations and statistics of profiled data; the second half of :func:`run_check`,
    which a sharded check runs once on the merged profiles."""
    features = baseline.features
    seen = {n for n, p in profiles.items() if p.rows}
    statistics = DatasetStatistics(
        item_count=source.stats.rows,
        features=[profiles[n].statistics() for n in features if n in seen],
    )
    evaluation = checks.evaluate(
        baseline.constraints, baseline.statistics.by_name(), profiles, source, features
    )
    verdict, message = _verdict(source, evaluation, seen)
    return CheckResult(
        verdict=verdict,
        message=message,
        statistics=statistics,
        violations=evaluation.violations,
        features=evaluation.features,
        reading=source.stats.to_json(),
        baseline=baseline,
        window=source.window,
        quality=quality,
        warnings=list(baseline.constraints.warnings),
    )


def _constraints(baseline: Baseline) -> list[tuple[str, FeatureConstraints]]:
    stats = baseline.statistics.by_name()
    found = []
    for constraint in baseline.constraints.features:
        kind = constraint.inferred_type
        if kind not in (*NUMERIC_TYPES, STRING):
            kind = stats[constraint.name].inferred_type
        found.append((constraint.name, dataclasses.replace(constraint, inferred_type=kind)))
    return found


def check_profiles(baseline: Baseline) -> dict[str, Profile]:
    """Empty profiles of the baseline's features, numeric ones holding the baseline's CDF."""
    stats = baseline.statistics.by_name()
    profiles: dict[str, Profile] = {}
    for name, constraint in _constraints(baseline):
        base = stats[name]
        if constraint.inferred_type == STRING:
            profiles[name] = StringProfile(name)
        else:
            cdf = base.numeric.sketch.cdf() if base.numeric is not None else None
            profiles[name] = NumericProfile(name, constraint.inferred_type, cdf)
    return profiles


def _quality(
    source: sources.Source, ground_truth: list[StoredFile], predictions: Labels, problem_type: str
) -> QualityResult:
    labels = Labels()
    for file, raw in source.storage.fetch_in_order(ground_truth):
        read_ground_truth(raw, file.uri, labels, source.stats)
    return merged_quality(predictions, labels, problem_type)


def _verdict(source: sources.Source, evaluation: checks.Evaluation, seen: set[str]) -> tuple[str, str]:
    """The overall verdict; only ``drift`` / ``no_drift`` are verdicts about the data's distribution."""
    stats = source.stats
    where = source.uri
    if source.window is not None:
        where += f" between {source.window.start:%Y-%m-%d %H:%M} and {source.window.end:%Y-%m-%d %H:%M} UTC"
    mismatch = (
        "the data does not match the baseline's features "
        f"({len(evaluation.features_missing)} of {len(evaluation.features)} baseline features absent"
        f"{', rows with a different number of values were left out' if stats.column_issues.total else ''}): "
        "is the baseline from another model, or is a schema (--schema / header) missing?"
    )
    named_columns_without_features = bool(source.seen_columns) and not seen and evaluation.features_missing
    if named_columns_without_features:
        return BASELINE_MISMATCH, mismatch
    if stats.records == 0 and stats.malformed_lines == 0:
        return NOTHING_TO_CHECK, f"nothing to check: no records in {where} ({stats.files} files)"
    if not seen and stats.column_issues.total == 0:
        return NO_USABLE_DATA, (
            f"none of the {stats.records} records in {where} could be read "
            f"({stats.malformed_lines} malformed lines); see reading.malformed_examples"
        )
    if not seen:
        return BASELINE_MISMATCH, mismatch
    drifted = [f.name for f in evaluation.features if f.drifted]
    compared = [f for f in evaluation.features if f.distance is not None and not math.isnan(f.distance.value)]
    if drifted:
        return DRIFT, f"drift in {len(drifted)} of {len(compared)} features: {', '.join(drifted)}"
    return NO_DRIFT, f"no drift in {len(compared)} features ({len(evaluation.violations)} violations)"


def check_outputs(
    result: CheckResult, *, report: bool = True, context: ReportContext | None = None
) -> dict[str, str]:
    """constraint_violations.json, statistics.json, drift_summary.json and (unless ``report`` is
    False) report.html, as file name -> content; ``context`` is what the caller knows about the run,
    shown at the top of the report."""
    files = {
        contract.VIOLATIONS_FILE: json_text(violations_to_json(result.violations)),
        contract.STATISTICS_FILE: json_text(result.statistics.to_json()),
        contract.DRIFT_SUMMARY_FILE: json_text(_json_safe(result.summary())),
    }
    if report:
        from processing_scripts.drift.report import render_report

        files[contract.REPORT_FILE] = render_report(result, context)
    return files


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: they become null (e.g. a distance that could not be computed)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
