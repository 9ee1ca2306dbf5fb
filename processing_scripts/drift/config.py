"""The drift engine's thresholds and methods: constraints.json's ``monitoring_config``, defined once.

Container code cannot import the project's settings, so the settings hold an instance of this class
(``settings.monitoring.drift``) instead of restating its fields. The fields marked with a command-line
flag travel to the baseline job: the training pipeline's baseline step writes them with
:meth:`MonitoringConfig.as_arguments`, the job reads them back with :func:`add_arguments` and
:meth:`MonitoringConfig.with_arguments`, and the CLI offers the same options (:func:`argument_specs`).
A new threshold is one field here; method choices come from the statistics registry.

Kept free of numpy and pyarrow: ``pipelines/settings.py`` imports this module and must stay instant.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processing_scripts.drift import json_values
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.methods import STATISTICS, DriftStatistic, Kind, canonical_name, names

_FLAG = "flag"  # field metadata: the command-line flag of a field the baseline job takes
_HELP = "help"  # field metadata: the flag's help text
_KIND = "kind"  # field metadata: a method field chooses among the registry's statistics of this kind


def _argument(default: Any, flag: str, help_text: str, kind: Kind | None = None) -> Any:
    metadata: dict[str, Any] = {_FLAG: flag, _HELP: help_text}
    if kind is not None:
        metadata[_KIND] = kind
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds and switches; defaults are Model Monitor's documented ones.

    Threshold semantics (all fractions in [0, 1]):
    - ``datatype_check_threshold``: tolerated share of values not of the baseline's type.
    - ``domain_content_threshold``: tolerated share of String values outside the baseline domain.
    - ``completeness_threshold``: tolerated drop of completeness below the baseline's (absolute).
    - ``comparison_threshold`` / ``categorical_comparison_threshold``: the drift threshold of the
      numeric / categorical statistic; drift is on the side the statistic's direction names (above
      for a distance, below for a p-value: see :mod:`.methods`).

    Field order is the order of the baseline job's arguments (the pipeline definition shows it).
    """

    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 0.1
    domain_content_threshold: float = 0.1
    perform_comparison: bool = True
    comparison_threshold: float = _argument(0.1, "--comparison-threshold", "Numeric drift threshold")
    comparison_method: str = _argument(
        "linf_robust", "--comparison-method", "Numeric drift statistic", Kind.NUMERICAL
    )
    categorical_comparison_threshold: float = _argument(
        0.1, "--categorical-threshold", "Categorical drift threshold"
    )
    categorical_drift_method: str = _argument(
        "LInfinity", "--categorical-method", "Categorical drift statistic", Kind.CATEGORICAL
    )
    completeness_threshold: float = _argument(0.1, "--completeness-threshold", "Tolerated completeness drop")

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name in _THRESHOLDS and not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise DriftInputError(
                    f"monitoring_config.{item.name} must be a number in [0, 1], got {value!r}"
                )
            kind = item.metadata.get(_KIND)
            if kind is not None and value not in names(kind):
                raise DriftInputError(f"{item.name} {value!r} unknown; use one of {names(kind)}")

    def comparison(self, kind: Kind) -> tuple[DriftStatistic, float]:
        """The statistic that compares features of this kind, and its threshold."""
        if kind is Kind.NUMERICAL:
            return STATISTICS[self.comparison_method], self.comparison_threshold
        return STATISTICS[self.categorical_drift_method], self.categorical_comparison_threshold

    # -- constraints.json --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "evaluate_constraints": json_values.enabled(self.evaluate_constraints),
            "emit_metrics": json_values.enabled(self.emit_metrics),
            "datatype_check_threshold": self.datatype_check_threshold,
            "domain_content_threshold": self.domain_content_threshold,
            "completeness_threshold": self.completeness_threshold,
            "distribution_constraints": {
                "perform_comparison": json_values.enabled(self.perform_comparison),
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
            name = _FIELD_ALIASES.get(key, key)
            if name == "min_domain_mass":  # TFDV-style: minimum share inside the domain
                changes["domain_content_threshold"] = 1.0 - json_values.number(value, f"{where}.{key}")
            elif name in _SWITCHES:
                changes[name] = json_values.parse_enabled(value, f"{where}.{key}")
            elif name in _THRESHOLDS:
                changes[name] = json_values.number(value, f"{where}.{key}")
            elif name in _METHODS:
                changes[name] = canonical_name(str(value))
            else:
                warnings.append(f"{where}: ignored unknown field {key!r}")
        return dataclasses.replace(self, **changes)

    # -- the baseline job's command line -----------------------------------------------------------
    def as_arguments(self) -> list[tuple[str, str]]:
        """``(flag, value)`` pairs for the baseline job, in field order.

        A field without a flag cannot reach the job, so a value other than its default is refused
        here rather than silently dropped.
        """
        unsent = [
            item.name
            for item in dataclasses.fields(self)
            if _FLAG not in item.metadata and getattr(self, item.name) != item.default
        ]
        if unsent:
            raise DriftInputError(
                f"{', '.join(unsent)} cannot be passed to the baseline job: give the field a flag in "
                "processing_scripts/drift/config.py, or leave it at its default"
            )
        return [(spec.flag, str(getattr(self, spec.field))) for spec in argument_specs()]

    def with_arguments(self, values: Mapping[str, Any]) -> MonitoringConfig:
        """This config with the argument values given by field name (None keeps this config's)."""
        flagged = {spec.field for spec in argument_specs()}
        return dataclasses.replace(
            self, **{name: value for name, value in values.items() if name in flagged and value is not None}
        )


@dataclass(frozen=True)
class ArgumentSpec:
    """One command-line option of the drift config, for argparse (the job) and typer (the CLI)."""

    field: str
    flag: str
    help: str
    type: type
    choices: tuple[str, ...] | None


def argument_specs() -> list[ArgumentSpec]:
    return [
        ArgumentSpec(
            field=item.name,
            flag=item.metadata[_FLAG],
            help=item.metadata[_HELP],
            type=type(item.default),
            choices=names(item.metadata[_KIND]) if _KIND in item.metadata else None,
        )
        for item in dataclasses.fields(MonitoringConfig)
        if _FLAG in item.metadata
    ]


def fraction(text: str) -> float:
    """argparse type of a threshold: a number between 0 and 1."""
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a threshold must be between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per flagged field, defaulting to Model Monitor's values."""
    defaults = MonitoringConfig()
    for spec in argument_specs():
        parser.add_argument(
            spec.flag,
            dest=spec.field,
            type=fraction if spec.type is float else spec.type,
            choices=spec.choices,
            default=getattr(defaults, spec.field),
            help=spec.help,
        )


_THRESHOLDS = tuple(f.name for f in dataclasses.fields(MonitoringConfig) if type(f.default) is float)
_SWITCHES = tuple(f.name for f in dataclasses.fields(MonitoringConfig) if type(f.default) is bool)
_METHODS = tuple(f.name for f in dataclasses.fields(MonitoringConfig) if _KIND in f.metadata)
# Spellings of field names found in AWS's documentation and SDK fixtures.
_FIELD_ALIASES = {
    "comparion_method": "comparison_method",
    "enable_comparisons": "perform_comparison",
    "categorical_threshold": "categorical_comparison_threshold",
    "categorical_comparison_method": "categorical_drift_method",
    "categorical_method": "categorical_drift_method",
}
