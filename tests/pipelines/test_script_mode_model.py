"""A script-mode model in the settings, its packed code and its training definition."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tarfile

import pytest

from pipelines import settings as settings_module
from pipelines.model_code import pack, source_archive
from pipelines.settings import ScriptModel, SettingsError

CREDIT = "examples/credit/model"
DEV = settings_module.load("dev")


def with_script(script: ScriptModel, **changes: object) -> settings_module.Settings:
    return dataclasses.replace(DEV, training=dataclasses.replace(DEV.training, script=script), **changes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"framework": "pytorch"}, "framework 'pytorch' is not supported; use one of sklearn, xgboost"),
        ({"source_dir": "/abs/model"}, "must be a folder inside the repository"),
        ({"source_dir": "../elsewhere"}, "must be a folder inside the repository"),
        ({"source_dir": "examples/missing"}, "no such folder"),
        (
            {"entry_point": "fit.py"},
            "entry_point 'fit.py' must be a .py file directly in examples/credit/model",
        ),
        ({"inference_entry_point": "serve.sh"}, "inference_entry_point 'serve.sh' must be a .py file"),
        ({"hyperparameters": {"sagemaker_program": "x.py"}}, "not starting with sagemaker_"),
        ({"hyperparameters": {"max_iter": 10}}, "must be a string, got 10"),
    ],
)
def test_bad_script_model_settings_are_one_line_errors(fields, message):
    with pytest.raises(SettingsError, match=message) as raised:
        ScriptModel(**{"source_dir": CREDIT, **fields})
    assert "\n" not in str(raised.value)


def test_tuning_is_refused_for_a_script_mode_model():
    with pytest.raises(SettingsError, match=r"built-in XGBoost only.*set tuning_enabled=False"):
        settings_module.TrainingConfig(script=ScriptModel(source_dir=CREDIT), tuning_enabled=True)


def test_the_code_archive_depends_on_the_files_only(tmp_path):
    (tmp_path / "train.py").write_text("print('train')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helpers.py").write_text("X = 1\n")
    first = pack(tmp_path)
    os.utime(tmp_path / "train.py", (0, 1_000_000_000))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"cache")

    assert pack(tmp_path) == first  # timestamps and caches do not count
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        assert archive.getnames() == ["lib/helpers.py", "train.py"]  # relative, sorted
        assert {member.mtime for member in archive.getmembers()} == {0}
    (tmp_path / "train.py").write_text("print('changed')\n")
    assert pack(tmp_path) != first


def test_the_archive_uri_is_content_addressed_under_the_training_pipeline():
    settings = with_script(ScriptModel(source_dir=CREDIT))
    uri, data = source_archive(settings)

    assert uri.startswith(
        f"{settings.pipeline_artifacts_uri}/{settings.training_pipeline_name}/code/sourcedir-"
    )
    assert uri.endswith(".tar.gz")
    assert source_archive(settings) == (uri, data)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert "train.py" in archive.getnames()


def test_a_framework_version_the_sdk_lacks_is_one_line_listing_the_ones_it_has():
    from pipelines.training import _framework_image

    settings = with_script(ScriptModel(source_dir=CREDIT, framework_version="1.4-2"))
    with pytest.raises(SettingsError) as raised:
        _framework_image(settings, "inference")
    message = str(raised.value)
    assert "no inference image for sklearn 1.4-2 (py3)" in message and "1.9-0" in message
    assert "\n" not in message


@pytest.mark.slow
def test_the_script_mode_definition_is_pure_and_wires_the_code_everywhere():
    from pipelines.synth import render_pipelines

    settings = with_script(
        ScriptModel(source_dir=CREDIT, hyperparameters={"max_iter": "50"}),
        quality_gate=settings_module.QualityGate(
            "binary_classification_metrics.auc.value", "GreaterThanOrEqualTo", 0.75
        ),
    )
    rendered = render_pipelines(settings)
    assert render_pipelines(settings) == rendered  # byte-identical, and no AWS call was possible

    definition = json.loads(rendered[settings.training_pipeline_name])
    steps = {step["Name"]: step for step in definition["Steps"]}
    assert list(steps) == ["Preprocess", "Train", "Baseline", "Evaluate", "QualityGate"]  # same graph
    code_uri = source_archive(settings)[0]
    train = steps["Train"]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"].endswith("sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert train["HyperParameters"] == {
        "max_iter": "50",
        "sagemaker_program": "train.py",
        "sagemaker_region": settings.region,
        "sagemaker_submit_directory": code_uri,
    }
    evaluate = steps["Evaluate"]["Arguments"]
    code_input = next(i for i in evaluate["ProcessingInputs"] if i["InputName"] == "code")
    assert code_input["S3Input"]["S3Uri"] == code_uri
    assert evaluate["AppSpecification"]["ContainerArguments"][-2:] == ["--program", "train.py"]
    gate = steps["QualityGate"]["Arguments"]
    assert gate["Conditions"][0]["Type"] == "GreaterThanOrEqualTo"
    register = next(s for s in gate["IfSteps"] if s["Type"] == "RegisterModel")
    container = register["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == code_uri
    assert str(settings_module.REPO_ROOT) not in rendered[settings.training_pipeline_name]  # no local path


def test_xgboost_in_framework_mode_trains_and_serves_with_the_xgboost_image():
    from pipelines.training import _framework_image

    settings = with_script(ScriptModel(source_dir=CREDIT, framework="xgboost", framework_version="3.2-0"))
    for scope in ("training", "inference"):
        assert _framework_image(settings, scope).endswith("/sagemaker-xgboost:3.2-0")


def test_the_default_scikit_learn_image_matches_the_project_image_that_unpickles_its_models():
    """evaluate runs in the project image and joblib-loads what the framework image pickled."""
    pins = (settings_module.REPO_ROOT / "processing_scripts" / "requirements.txt").read_text()
    (pinned,) = [line.split("==")[1] for line in pins.splitlines() if line.startswith("scikit-learn==")]
    image_version = ScriptModel(source_dir=CREDIT).framework_version  # "1.9-0": scikit-learn 1.9
    assert pinned.split(".")[:2] == image_version.split("-")[0].split(".")[:2]


def test_network_isolation_is_refused_for_a_script_mode_model():
    """Isolated containers cannot download the code archive from S3."""
    isolated = settings_module.IsolationConfig(network_isolation=True)
    with pytest.raises(SettingsError, match="cannot be used with a script-mode model"):
        with_script(ScriptModel(source_dir=CREDIT), isolation=isolated)
