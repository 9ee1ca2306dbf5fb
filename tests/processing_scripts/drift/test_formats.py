"""Model Monitor's file formats: the documented shapes and AWS's misspelled variants load; what the
engine writes has the documented names and reads back to the same values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from processing_scripts.drift import engine, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import Constraints, DatasetStatistics
from processing_scripts.drift.storage import Storage

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_documented_statistics_load_with_their_sketch_weights():
    stats = DatasetStatistics.from_json(load("model_monitor_statistics.json")).by_name()
    length = stats["length"]
    assert (length.inferred_type, length.num_present, length.numeric.mean) == ("Fractional", 6, 0.5)
    # Level 1 items weigh 2: ranks 0.25:1, 0.4:3, 0.6:5, 0.75:6 of a total weight 6.
    cdf = length.numeric.sketch.cdf()
    np.testing.assert_allclose(cdf.points, [0.25, 0.4, 0.6, 0.75])
    np.testing.assert_allclose(cdf.cumulative, [1 / 6, 3 / 6, 5 / 6, 1.0])
    assert stats["sex"].categories == {"M": 3, "F": 2}
    assert stats["sex"].completeness == pytest.approx(5 / 6)


def test_documented_constraints_load_with_overrides_and_method_names():
    constraints = Constraints.from_json(load("model_monitor_constraints.json"))
    config = constraints.monitoring_config
    assert config.comparison_method == "linf_simple"  # "Simple" in AWS's documentation
    assert config.categorical_drift_method == "ChiSquared"
    assert (config.comparison_threshold, config.categorical_comparison_threshold) == (0.2, 0.15)
    assert constraints.config_for("length").comparison_threshold == 0.3  # monitoringConfigOverrides
    assert constraints.config_for("sex").comparison_threshold == 0.2
    assert constraints.by_name()["sex"].domains == ("F", "M")
    assert constraints.warnings == []


def test_legacy_spellings_load_and_unknown_fields_are_reported_not_ignored():
    constraints = Constraints.from_json(load("model_monitor_constraints_legacy.json"), "legacy.json")
    config = constraints.monitoring_config
    assert config.comparison_method == "linf_robust"  # "comparion_method": "Robust"
    assert config.perform_comparison is True  # "enable_comparisons"
    assert config.emit_metrics is False
    assert config.domain_content_threshold == pytest.approx(0.05)  # min_domain_mass 0.95
    assert constraints.config_for("length").comparison_method == "linf_simple"  # snake_case overrides
    assert constraints.warnings == [
        "legacy.json: monitoring_config: ignored unknown field 'comparision_treshold'"
    ]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"comparison_threshold": 2}, "comparison_threshold must be a number in [0, 1]"),
        ({"comparison_method": "ks"}, "comparison_method 'ks' unknown"),
        ({"emit_metrics": "maybe"}, "emit_metrics must be Enabled or Disabled"),
    ],
)
def test_invalid_config_values_name_the_field(patch, message):
    doc = load("model_monitor_constraints.json")
    doc["monitoring_config"]["distribution_constraints"].update(patch)
    with pytest.raises(DriftInputError, match=re.escape(message)):
        Constraints.from_json(doc)


def test_not_a_model_monitor_file_is_a_clear_error():
    with pytest.raises(DriftInputError, match=r"x\.json: expected an object with a 'features' list"):
        DatasetStatistics.from_json({"columns": []}, "x.json")


def test_written_baseline_uses_documented_names_and_round_trips(tmp_path, abalone_csv):
    baseline = engine.build_baseline(sources.open_source(Storage(), str(abalone_csv)), MonitoringConfig())
    files = baseline.outputs()
    constraints_doc = json.loads(files["constraints.json"])
    statistics_doc = json.loads(files["statistics.json"])
    assert set(constraints_doc["monitoring_config"]["distribution_constraints"]) == {
        "perform_comparison",
        "comparison_threshold",
        "comparison_method",
        "categorical_comparison_threshold",
        "categorical_drift_method",
    }
    length = next(f for f in statistics_doc["features"] if f["name"] == "length")
    kll = length["numerical_statistics"]["distribution"]["kll"]
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    assert len(kll["buckets"]) == 10
    assert sum(b["count"] for b in kll["buckets"]) == pytest.approx(4177)
    sex = next(f for f in constraints_doc["features"] if f["name"] == "sex")
    assert sex == {
        "name": "sex",
        "inferred_type": "String",
        "completeness": 1.0,
        "string_constraints": {"domains": ["F", "I", "M"]},
    }
    rings = next(f for f in constraints_doc["features"] if f["name"] == "rings")
    assert rings["inferred_type"] == "Integral" and rings["num_constraints"] == {"is_non_negative": True}

    reread = Constraints.from_json(constraints_doc)
    assert reread.to_json() == constraints_doc
    assert DatasetStatistics.from_json(statistics_doc).to_json() == statistics_doc
