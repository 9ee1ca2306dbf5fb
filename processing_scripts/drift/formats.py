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

from processing_scripts.drift import json_values
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.sketch import QuantileSketch

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

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
        chosen = numeric_doc if isinstance(numeric_doc, dict) else string_doc
        if not isinstance(chosen, dict):
            raise DriftInputError(f"{where} ({name}): neither numerical_statistics nor string_statistics")
        body: dict[str, Any] = chosen
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
                mean=json_values.number(body.get("mean")),
                sum=json_values.number(body.get("sum")),
                std_dev=json_values.number(body.get("std_dev")),
                min=json_values.number(body.get("min")),
                max=json_values.number(body.get("max")),
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
                    else json_values.number(completeness, f"{where}.completeness"),
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


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
