"""Baseline and check end to end on the real abalone data: drift is found where it is, no false
alarm on a resample, and every kind of bad input gets a violation or a clear error."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from processing_scripts.drift import engine, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage
from tests.processing_scripts.drift.conftest import write_csv

STORAGE = Storage()


@pytest.fixture(scope="module")
def baseline(abalone_csv) -> engine.Baseline:
    return engine.build_baseline(sources.open_source(STORAGE, str(abalone_csv)), MonitoringConfig())


def check(baseline: engine.Baseline, path, **options) -> engine.CheckResult:
    return engine.run_check(baseline, sources.open_source(STORAGE, str(path), **options))


def resample(table: pa.Table, rows: int, seed: int) -> pa.Table:
    return table.take(pa.array(np.random.default_rng(seed).integers(0, table.num_rows, rows)))


def test_no_false_alarm_on_resamples_of_the_baseline(baseline, abalone, tmp_path):
    for seed in range(3):
        result = check(baseline, write_csv(resample(abalone, 2000, seed), tmp_path / f"r{seed}.csv"))
        assert result.verdict == engine.NO_DRIFT, result.message
        assert result.violations == []
        assert len(result.compared) == 9


def test_known_drift_is_found_in_exactly_the_changed_features(baseline, abalone, tmp_path):
    current = resample(abalone, 3000, 7)
    current = current.set_column(1, "length", pc.add(current.column("length"), 0.08))
    current = current.set_column(0, "sex", pa.array(np.where(np.arange(3000) % 10 < 8, "M", "F")))
    result = check(baseline, write_csv(current, tmp_path / "drifted.csv"))
    assert result.verdict == engine.DRIFT
    assert {f.name for f in result.drifted} == {"length", "sex"}
    assert result.drifted_share == pytest.approx(2 / 9)
    drift_violations = {
        v.feature_name for v in result.violations if v.constraint_check_type == "baseline_drift_check"
    }
    assert drift_violations == {"length", "sex"}
    summary = json.loads(engine.check_outputs(result, report=False)["drift_summary.json"])
    length = next(f for f in summary["features"] if f["name"] == "length")
    assert length["drifted"] is True and length["threshold"] == 0.1 and length["distance"] > 0.1


def test_headerless_split_named_by_schema_drops_the_label(tmp_path, abalone):
    features = [c for c in abalone.column_names if c not in ("rings", "sex")]
    split = abalone.select(["rings", *features])
    write_csv(split, tmp_path / "train" / "part-algo-1.csv", header=False)
    (tmp_path / "schema.json").write_text(json.dumps({"label": "rings", "features": features}))
    source = sources.open_source(STORAGE, str(tmp_path / "train"), schema_file=str(tmp_path / "schema.json"))
    built = engine.build_baseline(source, MonitoringConfig())
    assert built.features == features
    assert built.statistics.item_count == abalone.num_rows


def test_headerless_data_maps_by_position_and_wrong_value_counts_are_violations(baseline, abalone, tmp_path):
    good = resample(abalone, 500, 1)
    write_csv(good, tmp_path / "data" / "a.csv", header=False)
    short = good.drop_columns(["rings"]).slice(0, 40)
    write_csv(short, tmp_path / "data" / "b.csv", header=False)
    result = check(baseline, tmp_path / "data")
    assert result.verdict == engine.NO_DRIFT
    assert result.reading["rows"] == 500 and result.reading["rows_with_wrong_value_count"] == 40
    missing = [v for v in result.violations if v.constraint_check_type == "missing_column_check"]
    assert [v.feature_name for v in missing] == ["rings"]
    assert "40 rows have 8 values but the baseline has 9 features" in missing[0].description


def test_baseline_from_another_model_is_a_mismatch_not_a_verdict(baseline, tmp_path):
    other = pa.table({"age": [30, 41, 52], "income": [1.0, 2.0, 3.0]})
    result = check(baseline, write_csv(other, tmp_path / "other.csv"))
    assert result.verdict == engine.BASELINE_MISMATCH
    assert "another model" in result.message
    kinds = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert ("length", "missing_column_check") in kinds and ("age", "extra_column_check") in kinds


def test_type_completeness_and_domain_violations(baseline, abalone, tmp_path):
    current = resample(abalone, 1000, 3)
    rings = current.column("rings").to_pylist()
    rings = [("n/a" if i % 4 == 0 else str(v)) for i, v in enumerate(rings)]  # 25% text
    height = [None if i % 3 == 0 else v for i, v in enumerate(current.column("height").to_pylist())]
    sex = ["U" if i % 5 == 0 else v for i, v in enumerate(current.column("sex").to_pylist())]
    current = current.set_column(8, "rings", pa.array(rings)).set_column(3, "height", pa.array(height))
    current = current.set_column(0, "sex", pa.array(sex))
    result = check(baseline, write_csv(current, tmp_path / "bad.csv"))
    by_check = {(v.feature_name, v.constraint_check_type): v.description for v in result.violations}
    assert "250 are not numbers" in by_check[("rings", "data_type_check")]
    assert "completeness 66.6%" in by_check[("height", "completeness_check")]
    assert "'U'" in by_check[("sex", "categorical_values_check")]
    assert result.statistics.by_name()["rings"].num_present == 1000  # text values are present, not missing


def test_per_feature_override_changes_only_that_feature(abalone_csv, abalone, tmp_path):
    built = engine.build_baseline(sources.open_source(STORAGE, str(abalone_csv)), MonitoringConfig())
    doc = built.constraints.to_json()
    next(f for f in doc["features"] if f["name"] == "length")["monitoringConfigOverrides"] = {
        "comparison_threshold": 0.9
    }
    (tmp_path / "bl").mkdir()
    (tmp_path / "bl" / "constraints.json").write_text(json.dumps(doc))
    (tmp_path / "bl" / "statistics.json").write_text(built.outputs()["statistics.json"])
    loaded = engine.load_baseline(STORAGE, str(tmp_path / "bl"))
    current = resample(abalone, 3000, 2)
    current = current.set_column(1, "length", pc.add(current.column("length"), 0.08))
    current = current.set_column(2, "diameter", pc.add(current.column("diameter"), 0.08))
    result = check(loaded, write_csv(current, tmp_path / "c.csv"))
    thresholds = {f.name: f.distance.threshold for f in result.features}
    assert thresholds["length"] == 0.9 and thresholds["diameter"] == 0.1
    assert {f.name for f in result.drifted} == {"diameter"}


def test_unusable_inputs_raise_clear_errors(baseline, tmp_path):
    with pytest.raises(DriftInputError, match="nothing found at"):
        sources.open_source(STORAGE, str(tmp_path / "missing"))
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(DriftInputError, match=r"no \.csv, \.parquet or \.jsonl files"):
        sources.open_source(STORAGE, str(tmp_path))
    with pytest.raises(DriftInputError, match="does not exist: run `monitor baseline` first"):
        engine.load_baseline(STORAGE, str(tmp_path))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DriftInputError, match="not a readable Parquet file"):
        check(baseline, tmp_path / "broken.parquet")


def test_parquet_and_csv_give_the_same_statistics(baseline, abalone, tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(abalone, tmp_path / "a.parquet")
    from_parquet = check(baseline, tmp_path / "a.parquet")
    assert from_parquet.verdict == engine.NO_DRIFT and from_parquet.reading["rows"] == abalone.num_rows
    assert from_parquet.statistics.to_json() == baseline.statistics.to_json()


def test_type_change_after_the_first_block_falls_back_to_inference(tmp_path, monkeypatch):
    from processing_scripts.drift import tabular

    monkeypatch.setattr(tabular, "BLOCK_SIZE", 64)  # many tiny blocks: the first ones look integral
    rows = "\n".join(["x,y", *[f"{i},a" for i in range(50)], "2.5,b", "oops,c"])
    (tmp_path / "d.csv").write_text(rows + "\n")
    built = engine.build_baseline(sources.open_source(STORAGE, str(tmp_path / "d.csv")), MonitoringConfig())
    assert {f.name: f.inferred_type for f in built.statistics.features} == {"x": "String", "y": "String"}
