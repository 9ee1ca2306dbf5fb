"""Every example, end to end through the container scripts, as its pipeline runs them: its data is
preprocessed, a model is trained with its own objective, evaluated against its own gate and served
by the endpoint's inference code. A new example folder is tested here with no test edit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from localcloud.stories import traffic
from pipelines import settings as project_settings
from processing_scripts import contract, evaluate, example, inference, preprocess, quality_gate
from processing_scripts.model_io import ModelLoadError
from tests.processing_scripts.conftest import (
    package_model,
    place_raw,
    read_split,
    run_in_process,
    sandbox_path,
    split_file,
    stage_evaluation,
    train_like_the_pipeline,
)


def test_preprocess_train_evaluate_and_serve(tmp_path: Path, each_example: example.Example) -> None:
    spec = each_example.dataset
    splits = tmp_path / "splits"
    head = each_example.data_file().read_text().splitlines(keepends=True)[:3001]  # fast: 3000 rows
    place_raw(splits, {"data.csv": "".join(head)})
    assert run_in_process(splits, preprocess.main) == 0

    schema = json.loads((sandbox_path(splits, contract.Preprocess.SCHEMA) / "schema.json").read_text())
    assert (schema["label"], schema["features"], schema["problem_type"]) == (
        spec.target,
        spec.feature_names(),
        spec.problem_type,
    )
    train = read_split(split_file(splits, "train"))
    assert train.shape[1] == 1 + len(spec.feature_names())

    settings = project_settings.load("dev")
    model = train_like_the_pipeline(settings, splits, tmp_path / "train")
    scored = tmp_path / "evaluate"
    stage_evaluation(scored, splits, model.archive.read_bytes(), archived=True)
    model.stage_code(scored)
    gate = settings.quality_gate
    args = ["--gate-metric-path", gate.metric_path, "--gate-comparison", gate.comparison]
    args += ["--gate-threshold", str(gate.threshold), *model.evaluate_arguments()]
    assert run_in_process(scored, evaluate.main, *args) == 0
    evaluation = json.loads(
        (sandbox_path(scored, contract.Evaluate.EVALUATION) / contract.Evaluate.EVALUATION_FILE).read_text()
    )
    value = quality_gate.metric_at(evaluation, gate.metric_path)
    assert value is not None
    assert "passes the gate" in quality_gate.verdict(
        gate.metric_path, value, gate.comparison, gate.threshold, "t"
    )

    answer = model.serve(tmp_path / "endpoint")
    rows = traffic.to_csv_lines(traffic.generate(traffic.TrafficKind.NORMAL, 20, seed=0))
    predictions = answer("\n".join(rows).encode())
    assert len(predictions) == 20 and np.isfinite(predictions).all()
    if spec.problem_type == example.BINARY_CLASSIFICATION:
        assert ((predictions >= 0) & (predictions <= 1)).all()


def test_drifted_traffic_moves_what_the_example_says(each_example: example.Example) -> None:
    """Scaled columns grow by their weight, shifted categories move; nothing else changes."""
    normal = traffic.generate(traffic.TrafficKind.NORMAL, 500, seed=3)
    drifted = traffic.generate(traffic.TrafficKind.DRIFTED, 500, seed=3, strength=0.5)
    drift = each_example.drift
    for column, weight in drift.scale.items():
        assert np.allclose(drifted[column], normal[column] * (1 + 0.5 * weight))
    for shift in drift.shifts:
        names = each_example.dataset.one_hot_columns()[shift.column]
        assert drifted[names[shift.source]].sum() < normal[names[shift.source]].sum()
        assert drifted[names[shift.to]].sum() > normal[names[shift.to]].sum()
    untouched = [c for c in each_example.dataset.numeric_features if c not in drift.scale]
    assert drifted[untouched].equals(normal[untouched])


@pytest.mark.parametrize("kind", list(traffic.TrafficKind))
def test_traffic_is_what_the_endpoint_takes(each_example: example.Example, kind: traffic.TrafficKind) -> None:
    rows = traffic.generate(kind, 10, seed=1)
    assert list(rows.columns) == each_example.dataset.feature_names()
    assert inference.parse_csv("\n".join(traffic.to_csv_lines(rows))).shape == (10, len(rows.columns))


def test_settings_follow_the_example(each_example: example.Example) -> None:
    settings = project_settings.load("prod")
    assert settings.example == each_example.name
    assert settings.project == f"{each_example.name}-mlops"
    assert settings.raw_data_uri.endswith(f"/raw/{Path(each_example.data_file_name).name}")
    model = each_example.model
    if model.script is None:
        assert settings.training.hyperparameters == model.hyperparameters
        assert settings.training.tuning_objective == model.tuning_objective
    else:  # the example's own code, trained as it is (no tuning) in every environment
        script = settings.training.script
        assert script is not None and script.hyperparameters == model.hyperparameters
        assert script.path == (each_example.folder / model.script.get("source_dir", "model")).resolve()
        assert not settings.training.tuning_enabled
    assert settings.training.instance_type == "ml.m5.xlarge"  # the environment's, not the example's
    assert (settings.quality_gate.metric_path, settings.quality_gate.threshold) == (
        each_example.gate.metric_path,
        each_example.gate.threshold,
    )
    default = each_example.name == example.DEFAULT_EXAMPLE
    assert settings.job_environment == ({} if default else {example.EXAMPLE_ENV: each_example.name})


def test_a_booster_for_one_example_is_refused_by_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint's code checks the model takes the selected example's features."""
    monkeypatch.setenv(example.EXAMPLE_ENV, "abalone")
    width = len(inference.features())
    model = xgb.train(
        {"objective": "reg:squarederror"}, xgb.DMatrix(np.ones((4, width)), label=np.ones(4)), 2
    )
    archive = package_model(bytes(model.save_raw("ubj")), tmp_path)
    monkeypatch.setenv(example.EXAMPLE_ENV, "credit")
    with pytest.raises(ModelLoadError, match="feature"):
        inference.load_model(archive.parent)


def test_the_demo_judges_better_by_the_examples_gate_metric(
    tmp_path: Path, each_example: example.Example
) -> None:
    """A model that learned the data beats one trained on shuffled labels, by the example's own gate
    metric and direction (RMSE lower, AUC higher): what the demo's last check asks of a retraining."""
    from localcloud.stories.loop import RegisteredModel

    raw = traffic.load_raw().iloc[:1500]
    features = traffic.to_features(raw).to_numpy()
    labels = raw[each_example.dataset.target].to_numpy(dtype=float)
    binary = each_example.dataset.problem_type == example.BINARY_CLASSIFICATION
    objective = {"objective": "binary:logistic" if binary else "reg:squarederror", "nthread": 1}
    shuffled = np.random.default_rng(0).permutation(labels)
    scores = {}
    for name, y in (("learned", labels), ("shuffled", shuffled)):
        booster = xgb.train(objective, xgb.DMatrix(features, label=y), 20)
        artifact = package_model(bytes(booster.save_raw("ubj")), tmp_path / name).read_bytes()
        scores[name] = RegisteredModel(1, name, name, name, artifact).score(raw, each_example.gate)
    better = np.greater if each_example.gate.higher_is_better else np.less
    assert better(scores["learned"], scores["shuffled"])


def test_the_real_uci_credit_file_is_accepted_as_uci_spells_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UCI's sheet saved as CSV: an ID column first, upper-case names, 'default payment next month'."""
    monkeypatch.setenv(example.EXAMPLE_ENV, "credit")
    rows = traffic.load_raw().iloc[:300]
    uci = rows.rename(
        columns=lambda c: "default payment next month" if c.startswith("default") else c.upper()
    )
    uci.insert(0, "ID", range(1, len(uci) + 1))
    place_raw(tmp_path, {"default of credit card clients.csv": uci.to_csv(index=False)})

    assert run_in_process(tmp_path, preprocess.main) == 0
    assert "ignoring extra column(s) 'ID'" in caplog.text
    total = sum(len(read_split(split_file(tmp_path, name))) for name in ("train", "validation", "test"))
    assert total == len(rows.drop_duplicates())
