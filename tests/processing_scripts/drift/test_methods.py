"""The drift-statistics registry: every entry survives constraints.json, directions decide verdicts,
the command lines offer exactly the registered names, and a new entry is all a statistic needs."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from processing_scripts import baseline as baseline_script
from processing_scripts.drift import config, engine, methods, metrics, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import Constraints
from processing_scripts.drift.methods import STATISTICS, Direction, DriftStatistic, Kind
from processing_scripts.drift.storage import Storage
from tests.processing_scripts.drift.conftest import write_csv

METHOD_FIELD = {Kind.NUMERICAL: "comparison_method", Kind.CATEGORICAL: "categorical_drift_method"}


@pytest.mark.parametrize("statistic", STATISTICS.values(), ids=list(STATISTICS))
def test_every_statistic_round_trips_through_constraints_json(statistic: DriftStatistic) -> None:
    chosen = MonitoringConfig(**{METHOD_FIELD[statistic.kind]: statistic.name})
    written = json.loads(json.dumps(Constraints(features=[], monitoring_config=chosen).to_json()))
    read = Constraints.from_json(written)
    assert read.monitoring_config == chosen
    assert read.monitoring_config.comparison(statistic.kind)[0] is statistic
    for spelling in (statistic.name.upper(), *statistic.aliases):  # AWS's other spellings read back
        written["monitoring_config"]["distribution_constraints"][METHOD_FIELD[statistic.kind]] = spelling
        assert Constraints.from_json(written).monitoring_config == chosen


def test_an_unknown_method_names_the_registered_ones() -> None:
    with pytest.raises(
        DriftInputError, match=r"categorical_drift_method 'KS' unknown; use one of \('LInfinity'"
    ):
        MonitoringConfig(categorical_drift_method="KS")


@pytest.mark.parametrize(
    ("direction", "value", "drifted"),
    [
        (Direction.ABOVE, 0.2, True),
        (Direction.ABOVE, 0.05, False),
        (Direction.BELOW, 0.05, True),
        (Direction.BELOW, 0.2, False),
        (Direction.ABOVE, math.nan, False),
        (Direction.BELOW, math.nan, False),
    ],
)
def test_direction_decides_which_side_of_the_threshold_is_drift(direction, value, drifted) -> None:
    assert direction.drifted(value, 0.1) is drifted


def _table(rng: np.random.Generator, rows: int, shift: float, categories: list[str], weights: list[float]):
    return pa.table(
        {
            "x": rng.normal(shift, 1.0, rows),
            "colour": rng.choice(categories, rows, p=weights),
        }
    )


def test_chi_squared_drifts_below_its_threshold_and_linf_above(tmp_path) -> None:
    rng = np.random.default_rng(11)
    colours = ["red", "green", "blue"]
    chosen = MonitoringConfig(comparison_method="linf_simple", categorical_drift_method="ChiSquared")
    reference = write_csv(_table(rng, 3000, 0.0, colours, [0.5, 0.3, 0.2]), tmp_path / "reference.csv")
    built = engine.build_baseline(sources.open_source(Storage(), str(reference)), chosen)

    def check(table: pa.Table, name: str) -> engine.CheckResult:
        return engine.run_check(built, sources.open_source(Storage(), str(write_csv(table, tmp_path / name))))

    steady = check(_table(rng, 2000, 0.0, colours, [0.5, 0.3, 0.2]), "steady.csv")
    by_name = {f.name: f.distance for f in steady.features}
    assert by_name["colour"].method == "ChiSquared" and by_name["colour"].value > 0.1  # a high p-value
    assert steady.verdict == engine.NO_DRIFT and steady.violations == []

    moved = check(_table(rng, 2000, 0.5, colours, [0.2, 0.3, 0.5]), "moved.csv")
    by_name = {f.name: f.distance for f in moved.features}
    assert by_name["colour"].value < 0.1 and by_name["x"].value > 0.1
    assert {f.name for f in moved.drifted} == {"x", "colour"}
    descriptions = {v.feature_name: v.description for v in moved.violations}
    assert "chi-squared p-value" in descriptions["colour"] and " is below 0.1 " in descriptions["colour"]
    assert "linf_simple distance" in descriptions["x"] and "exceeds the threshold 0.1" in descriptions["x"]
    # The feature metric is the p-value itself: what the per-feature alarm compares below its threshold.
    names = metrics.MetricNames("namespace", "drift_", "share", "violations")
    published = {
        d["MetricName"]: d["Value"] for d in metrics.metric_data(moved, names, {}, datetime.now(UTC))
    }
    assert published["drift_colour"] == by_name["colour"].value


def test_command_line_choices_are_the_registry_names() -> None:
    choices = {spec.field: spec.choices for spec in config.argument_specs() if spec.choices}
    assert choices == {
        "comparison_method": methods.names(Kind.NUMERICAL),
        "categorical_drift_method": methods.names(Kind.CATEGORICAL),
    }
    assert set(methods.names(Kind.NUMERICAL) + methods.names(Kind.CATEGORICAL)) == set(STATISTICS)
    with pytest.raises(SystemExit) as refused:
        baseline_script.parse_args(["--categorical-method", "KS"])
    assert refused.value.code == 2


def test_job_arguments_round_trip_the_flagged_fields() -> None:
    chosen = MonitoringConfig(
        comparison_threshold=0.25, categorical_drift_method="ChiSquared", completeness_threshold=0.05
    )
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    line = [item for pair in chosen.as_arguments() for item in pair]
    assert MonitoringConfig().with_arguments(vars(parser.parse_args(line))) == chosen
    assert MonitoringConfig().with_arguments(vars(parser.parse_args([]))) == MonitoringConfig()


def test_a_field_the_job_cannot_receive_is_refused_not_dropped() -> None:
    with pytest.raises(
        DriftInputError, match="datatype_check_threshold cannot be passed to the baseline job"
    ):
        MonitoringConfig(datatype_check_threshold=0.3).as_arguments()


def test_a_new_statistic_is_one_entry(monkeypatch, tmp_path) -> None:
    doubled = DriftStatistic(
        name="linf_doubled",
        kind=Kind.NUMERICAL,
        direction=Direction.ABOVE,
        compute=lambda comparison, _config: 2 * comparison.linf,
        measure="doubled distance",
        value_format=".3f",
    )
    monkeypatch.setitem(STATISTICS, doubled.name, doubled)
    chosen = MonitoringConfig(comparison_method="linf_doubled")
    assert ("--comparison-method", "linf_doubled") in chosen.as_arguments()
    assert "linf_doubled" in next(
        s.choices for s in config.argument_specs() if s.field == "comparison_method"
    )
    rng = np.random.default_rng(5)
    reference = write_csv(pa.table({"x": rng.normal(0, 1, 500)}), tmp_path / "reference.csv")
    built = engine.build_baseline(sources.open_source(Storage(), str(reference)), chosen)
    current = write_csv(pa.table({"x": rng.normal(0.3, 1, 500)}), tmp_path / "current.csv")
    (feature,) = engine.run_check(built, sources.open_source(Storage(), str(current))).features
    assert feature.distance.method == "linf_doubled"
    assert feature.distance.value == pytest.approx(2 * feature.distance.linf)


def test_the_config_imports_without_numpy_so_settings_stay_instant() -> None:
    probe = (
        "import sys, processing_scripts.drift.config; print(sorted({'numpy', 'pyarrow'} & set(sys.modules)))"
    )
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=repo
    )
    assert result.stdout.strip() == "[]"
