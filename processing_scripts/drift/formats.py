"""Model Monitor's JSON files: ``statistics.json``, ``constraints.json``, ``constraint_violations.json``.

Writing uses the documented field names. Reading is lenient because AWS's own documentation and SDK
fixtures spell some fields differently (``comparion_method``, ``enable_comparisons``,
``monitoring_config_overrides``, ``min_domain_mass``, ``"Simple"``/``"Robust"``): baselines made by
Model Monitor, by older tooling or by hand all load. Fields this engine does not know are reported as
warnings (never silently dropped), so a misspelled threshold cannot quietly fall back to a default.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.sketch import QuantileSketch

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

LINF_SIMPLE = "linf_simple"
LINF_ROBUST = "linf_robust"
LINFINITY = "LInfinity"
CHI_SQUARED = "ChiSquared"
NUMERIC_METHODS = (LINF_SIMPLE, LINF_ROBUST)
CATEGORICAL_METHODS = (LINFINITY, CHI_SQUARED)

# Violation check types (Model Monitor's names).
DATA_TYPE_CHECK = "data_type_check"
COMPLETENESS_CHECK = "completeness_check"
BASELINE_DRIFT_CHECK = "baseline_drift_check"
MISSING_COLUMN_CHECK = "missing_column_check"
EXTRA_COLUMN_CHECK = "extra_column_check"
CATEGORICAL_VALUES_CHECK = "categorical_values_check"

# String features: categories kept in statistics.json and domains in constraints.json ("for small
# cardinality", as Model Monitor puts it). Above this a feature gets no domain constraint.
MAX_CATEGORIES = 1000


# -- statistics.json ---------------------------------------------------------------------------
@dataclass
class NumericSummary:
    mean: float
    sum: float
    std_dev: float
    min: float
    max: float
    sketch: QuantileSketch


@dataclass
class FeatureStatistics:
    name: str
    inferred_type: str
    num_present: int
    num_missing: int
    numeric: NumericSummary | None = None
    categories: dict[str, int] | None = None  # String features: value -> count (most frequent)
    distinct_count: int | None = None

    @property
    def completeness(self) -> float:
        total = self.num_present + self.num_missing
        return self.num_present / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        common = {"num_present": self.num_present, "num_missing": self.num_missing}
        doc: dict[str, Any] = {"name": self.name, "inferred_type": self.inferred_type}
        if self.numeric is not None:
            num = self.numeric
            stats: dict[str, Any] = {
                "common": common,
                "mean": _finite(num.mean),
                "sum": _finite(num.sum),
                "std_dev": _finite(num.std_dev),
                "min": _finite(num.min),
                "max": _finite(num.max),
            }
            if self.num_present:
                stats["distribution"] = {
                    "kll": {
                        "buckets": num.sketch.equal_width_buckets(num.min, num.max),
                        "sketch": num.sketch.to_json(),
                    }
                }
            doc["numerical_statistics"] = stats
        else:
            categories = self.categories or {}
            doc["string_statistics"] = {
                "common": common,
                "distinct_count": self.distinct_count if self.distinct_count is not None else len(categories),
                "distribution": {
                    "categorical": {"buckets": [{"value": v, "count": c} for v, c in categories.items()]}
                },
            }
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str) -> FeatureStatistics:
        name = _required(doc, "name", where)
        inferred = str(doc.get("inferred_type", UNKNOWN))
        numeric_doc = doc.get("numerical_statistics")
        string_doc = doc.get("string_statistics")
        body = numeric_doc if isinstance(numeric_doc, dict) else string_doc
        if not isinstance(body, dict):
            raise DriftInputError(f"{where} ({name}): neither numerical_statistics nor string_statistics")
        common = body.get("common") or {}
        stats = cls(
            name=str(name),
            inferred_type=inferred,
            num_present=int(common.get("num_present", 0)),
            num_missing=int(common.get("num_missing", 0)),
        )
        if body is numeric_doc:
            kll = (body.get("distribution") or {}).get("kll") or {}
            sketch_doc = kll.get("sketch")
            sketch = (
                QuantileSketch.from_json(sketch_doc, f"{where} ({name}).distribution.kll.sketch")
                if sketch_doc
                else QuantileSketch()
            )
            stats.numeric = NumericSummary(
                mean=_number(body.get("mean")),
                sum=_number(body.get("sum")),
                std_dev=_number(body.get("std_dev")),
                min=_number(body.get("min")),
                max=_number(body.get("max")),
                sketch=sketch,
            )
            if stats.inferred_type not in NUMERIC_TYPES:
                stats.inferred_type = FRACTIONAL
        else:
            buckets = ((body.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
            stats.categories = {str(b.get("value")): int(b.get("count", 0)) for b in buckets}
            stats.distinct_count = int(body.get("distinct_count", len(stats.categories)))
            stats.inferred_type = STRING
        return stats


@dataclass
class DatasetStatistics:
    item_count: int
    features: list[FeatureStatistics]

    def by_name(self) -> dict[str, FeatureStatistics]:
        return {f.name: f for f in self.features}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 0,
            "dataset": {"item_count": self.item_count},
            "features": [f.to_json() for f in self.features],
        }

    @classmethod
    def from_json(cls, doc: Any, source: str = "statistics.json") -> DatasetStatistics:
        if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
            raise DriftInputError(
                f"{source}: expected an object with a 'features' list (Model Monitor format)"
            )
        features = [
            FeatureStatistics.from_json(f, f"{source}: features[{i}]") for i, f in enumerate(doc["features"])
        ]
        return cls(item_count=int((doc.get("dataset") or {}).get("item_count", 0)), features=features)


# -- constraints.json --------------------------------------------------------------------------
@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds and switches; defaults are Model Monitor's documented ones.

    Threshold semantics (all fractions in [0, 1]):
    - ``datatype_check_threshold``: tolerated share of values not of the baseline's type.
    - ``domain_content_threshold``: tolerated share of String values outside the baseline domain.
    - ``completeness_threshold``: tolerated drop of completeness below the baseline's (absolute).
    - ``comparison_threshold``: numeric drift when the L-infinity CDF distance exceeds it.
    - ``categorical_comparison_threshold``: categorical drift when the L-infinity frequency distance
      exceeds it, or, with ``ChiSquared``, when the test's p-value falls below it.
    """

    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 0.1
    domain_content_threshold: float = 0.1
    completeness_threshold: float = 0.1
    perform_comparison: bool = True
    comparison_threshold: float = 0.1
    comparison_method: str = LINF_ROBUST
    categorical_comparison_threshold: float = 0.1
    categorical_drift_method: str = LINFINITY

    def __post_init__(self) -> None:
        for name in _THRESHOLDS:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise DriftInputError(f"monitoring_config.{name} must be a number in [0, 1], got {value!r}")
        if self.comparison_method not in NUMERIC_METHODS:
            raise DriftInputError(
                f"comparison_method {self.comparison_method!r} unknown; use one of {NUMERIC_METHODS}"
            )
        if self.categorical_drift_method not in CATEGORICAL_METHODS:
            raise DriftInputError(
                f"categorical_drift_method {self.categorical_drift_method!r} unknown; "
                f"use one of {CATEGORICAL_METHODS}"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluate_constraints": _enabled(self.evaluate_constraints),
            "emit_metrics": _enabled(self.emit_metrics),
            "datatype_check_threshold": self.datatype_check_threshold,
            "domain_content_threshold": self.domain_content_threshold,
            "completeness_threshold": self.completeness_threshold,
            "distribution_constraints": {
                "perform_comparison": _enabled(self.perform_comparison),
                "comparison_threshold": self.comparison_threshold,
                "comparison_method": self.comparison_method,
                "categorical_comparison_threshold": self.categorical_comparison_threshold,
                "categorical_drift_method": self.categorical_drift_method,
            },
        }

    def merged(self, doc: Any, where: str, warnings: list[str]) -> MonitoringConfig:
        """This config with the fields present in ``doc`` (lenient spellings) replacing its own."""
        if not doc:
            return self
        if not isinstance(doc, dict):
            raise DriftInputError(f"{where} must be an object, got {type(doc).__name__}")
        changes: dict[str, Any] = {}
        flat = dict(doc)
        nested = flat.pop("distribution_constraints", None) or {}
        if not isinstance(nested, dict):
            raise DriftInputError(f"{where}.distribution_constraints must be an object")
        for key, value in [*flat.items(), *nested.items()]:
            name = _CONFIG_ALIASES.get(key, key)
            if name == "min_domain_mass":  # TFDV-style: minimum share inside the domain
                changes["domain_content_threshold"] = 1.0 - _number(value, f"{where}.{key}")
            elif name in _BOOLEANS:
                changes[name] = _parse_enabled(value, f"{where}.{key}")
            elif name in _THRESHOLDS:
                changes[name] = _number(value, f"{where}.{key}")
            elif name in ("comparison_method", "categorical_drift_method"):
                changes[name] = _METHOD_ALIASES.get(str(value).lower(), str(value))
            else:
                warnings.append(f"{where}: ignored unknown field {key!r}")
        return dataclasses.replace(self, **changes)


_THRESHOLDS = (
    "datatype_check_threshold",
    "domain_content_threshold",
    "completeness_threshold",
    "comparison_threshold",
    "categorical_comparison_threshold",
)
_BOOLEANS = ("evaluate_constraints", "emit_metrics", "perform_comparison")
_CONFIG_ALIASES = {
    "comparion_method": "comparison_method",
    "enable_comparisons": "perform_comparison",
    "categorical_threshold": "categorical_comparison_threshold",
    "categorical_comparison_method": "categorical_drift_method",
    "categorical_method": "categorical_drift_method",
}
_METHOD_ALIASES = {
    "simple": LINF_SIMPLE,
    "linf_simple": LINF_SIMPLE,
    "robust": LINF_ROBUST,
    "linf_robust": LINF_ROBUST,
    "linfinity": LINFINITY,
    "l_infinity": LINFINITY,
    "chisquared": CHI_SQUARED,
    "chisquare": CHI_SQUARED,
    "chi_squared": CHI_SQUARED,
}


@dataclass(frozen=True)
class FeatureConstraints:
    name: str
    inferred_type: str
    completeness: float | None = None
    is_non_negative: bool | None = None
    domains: tuple[str, ...] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "inferred_type": self.inferred_type}
        if self.completeness is not None:
            doc["completeness"] = self.completeness
        if self.is_non_negative is not None:
            doc["num_constraints"] = {"is_non_negative": self.is_non_negative}
        if self.domains is not None:
            doc["string_constraints"] = {"domains": list(self.domains)}
        if self.overrides:
            doc["monitoringConfigOverrides"] = self.overrides
        return doc


@dataclass
class Constraints:
    features: list[FeatureConstraints]
    monitoring_config: MonitoringConfig = field(default_factory=MonitoringConfig)
    warnings: list[str] = field(default_factory=list)

    def by_name(self) -> dict[str, FeatureConstraints]:
        return {f.name: f for f in self.features}

    def config_for(self, feature: str) -> MonitoringConfig:
        """The global config with the feature's ``monitoringConfigOverrides`` applied."""
        constraint = self.by_name().get(feature)
        if constraint is None or not constraint.overrides:
            return self.monitoring_config
        where = f"constraints.json: {feature}.monitoringConfigOverrides"
        return self.monitoring_config.merged(constraint.overrides, where, [])

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 0,
            "features": [f.to_json() for f in self.features],
            "monitoring_config": self.monitoring_config.to_json(),
        }

    @classmethod
    def from_json(
        cls, doc: Any, source: str = "constraints.json", defaults: MonitoringConfig | None = None
    ) -> Constraints:
        if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
            raise DriftInputError(
                f"{source}: expected an object with a 'features' list (Model Monitor format)"
            )
        warnings: list[str] = []
        config = (defaults or MonitoringConfig()).merged(
            doc.get("monitoring_config"), f"{source}: monitoring_config", warnings
        )
        features = []
        for i, item in enumerate(doc["features"]):
            where = f"{source}: features[{i}]"
            if not isinstance(item, dict):
                raise DriftInputError(f"{where} must be an object")
            name = str(_required(item, "name", where))
            overrides = item.get("monitoringConfigOverrides", item.get("monitoring_config_overrides")) or {}
            # Validate overrides now so a bad one fails at load time, naming the feature.
            config.merged(overrides, f"{where} ({name}).monitoringConfigOverrides", warnings)
            domains = (item.get("string_constraints") or {}).get("domains")
            non_negative = (item.get("num_constraints") or {}).get("is_non_negative")
            completeness = item.get("completeness")
            features.append(
                FeatureConstraints(
                    name=name,
                    inferred_type=str(item.get("inferred_type", UNKNOWN)),
                    completeness=None
                    if completeness is None
                    else _number(completeness, f"{where}.completeness"),
                    is_non_negative=None if non_negative is None else bool(non_negative),
                    domains=None if domains is None else tuple(str(d) for d in domains),
                    overrides=dict(overrides),
                )
            )
        return cls(features=features, monitoring_config=config, warnings=warnings)


# -- constraint_violations.json ----------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def violations_to_json(violations: list[Violation]) -> dict[str, Any]:
    return {"violations": [v.to_json() for v in violations]}


# -- files -------------------------------------------------------------------------------------
def json_text(doc: dict[str, Any]) -> str:
    """Indented, strict JSON (NaN is refused: callers turn non-finite numbers into null first)."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write ``name -> text`` into ``out_dir`` (created if needed); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def parse_json(text: bytes | str, source: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DriftInputError(f"{source} is not valid JSON: {err}") from err


# -- helpers -----------------------------------------------------------------------------------
def _required(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise DriftInputError(f"{where} has no {key!r} field")
    return doc[key]


def _number(value: Any, where: str = "value") -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise DriftInputError(f"{where} must be a number, got {value!r}") from err


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def _parse_enabled(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("enabled", "true", "1", "yes"):
        return True
    if text in ("disabled", "false", "0", "no"):
        return False
    raise DriftInputError(f"{where} must be Enabled or Disabled, got {value!r}")
