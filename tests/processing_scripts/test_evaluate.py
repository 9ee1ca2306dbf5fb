"""Evaluation of a real XGBoost model trained here on the preprocessed abalone data."""

from __future__ import annotations

import base64
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from selenium.webdriver.common.by import By

from pipelines import settings as project_settings
from processing_scripts import contract, evaluate
from tests.browser import drawn_images, remote_sources
from tests.processing_scripts.conftest import (
    exit_message,
    output_files,
    package_model,
    read_split,
    run_as_user,
    run_in_process,
    sandbox_path,
    split_file,
    stage_evaluation,
    train_booster,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def results(opt_ml: Path) -> tuple[dict, str]:
    out = sandbox_path(opt_ml, contract.Evaluate.EVALUATION)
    evaluation = json.loads((out / contract.Evaluate.EVALUATION_FILE).read_text())
    return evaluation, (out / contract.REPORT_FILE).read_text()


def embedded_pngs(report: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', report)]


def json_get(document: dict, path: str) -> object:
    """What the pipeline's JsonGet does with settings.quality_gate.metric_path."""
    for key in path.split("."):
        document = document[key]
    return document


# -- regression -----------------------------------------------------------------------------------


def test_regression_run_as_a_user(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")))

    result = run_as_user(tmp_path, "evaluate")

    assert result.returncode == 0, result.stderr
    assert "evaluated 418 test rows as regression" in result.stderr
    evaluation, report = results(tmp_path)
    test = read_split(split_file(abalone_splits, "test"))
    errors = test[:, 0] - regression_model.predict(xgb.DMatrix(test[:, 1:]))
    metrics = evaluation["regression_metrics"]
    assert metrics["mse"]["value"] == pytest.approx(np.mean(errors**2), rel=1e-6)
    assert metrics["rmse"]["value"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-6)
    assert metrics["mae"]["value"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-6)
    total = np.sum((test[:, 0] - test[:, 0].mean()) ** 2)
    assert metrics["r2"]["value"] == pytest.approx(1 - np.sum(errors**2) / total, rel=1e-6)
    assert all(0 < entry["standard_deviation"] < entry["value"] for entry in metrics.values())
    # the quality gate's path resolves, and a sensible model on abalone passes the default gate
    assert json_get(evaluation, project_settings.load("dev").quality_gate.metric_path) < 3.0

    assert report.index("<table>") < report.index("<img")  # metrics first
    assert f"{metrics['rmse']['value']:.6g}" in report
    pngs = embedded_pngs(report)
    assert len(pngs) == 2 and all(png.startswith(PNG_SIGNATURE) for png in pngs)
    assert "http" not in report.split("<body>")[1]  # self-contained: nothing linked


def test_same_inputs_same_outputs(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    model = bytes(regression_model.save_raw("ubj"))
    for run in ("a", "b"):
        stage_evaluation(tmp_path / run, abalone_splits, model)
        assert run_in_process(tmp_path / run, evaluate.main) == 0

    assert results(tmp_path / "a") == results(tmp_path / "b")  # the report too, images included


@pytest.mark.parametrize(("threshold", "outcome"), [("3.0", "passes the gate"), ("1.0", "fails the gate")])
def test_the_report_names_its_inputs_and_the_gates_verdict(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster, threshold: str, outcome: str
) -> None:
    """It showed container paths and no verdict (issue 17): the pipeline passes the S3 URIs and the
    gate, and the report says what the QualityGate will decide."""
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")))
    gate = project_settings.load("dev").quality_gate
    model_uri = (
        "s3://artifacts/pipelines/abalone-mlops-dev-training/models/pipelines-x1-Train/output/model.tar.gz"
    )
    test_uri = "s3://artifacts/pipelines/abalone-mlops-dev-training/x1/Preprocess/test"
    code = run_in_process(
        tmp_path, evaluate.main, "--model-uri", model_uri, "--test-uri", test_uri,
        "--gate-metric-path", gate.metric_path, "--gate-comparison", gate.comparison, "--gate-threshold", threshold,
    )  # fmt: skip
    assert code == 0
    evaluation, report = results(tmp_path)
    rmse = json_get(evaluation, gate.metric_path)
    assert (
        f"<h2>Quality gate</h2><p>{gate.metric_path} {rmse:.4g} &lt;= {float(threshold):g} (QualityThreshold): {outcome}</p>"
        in report
    )
    assert model_uri in report and test_uri in report
    assert str(contract.Evaluate.TEST) not in report


def rmse_of(booster: xgb.Booster, test: np.ndarray) -> float:
    return float(np.sqrt(np.mean((test[:, 0] - booster.predict(xgb.DMatrix(test[:, 1:]))) ** 2)))


@pytest.mark.parametrize(
    "serialize",
    [
        pytest.param(lambda booster: bytes(booster.save_raw("json")), id="json model file"),
        pytest.param(pickle.dumps, id="pickled Booster (algorithm < 1.3)"),
    ],
)
def test_other_formats_the_algorithm_writes(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster, serialize
) -> None:
    stage_evaluation(tmp_path, abalone_splits, serialize(regression_model))

    assert run_in_process(tmp_path, evaluate.main) == 0

    expected = rmse_of(regression_model, read_split(split_file(abalone_splits, "test")))
    assert results(tmp_path)[0]["regression_metrics"]["rmse"]["value"] == pytest.approx(expected, rel=1e-6)


def test_a_pickled_scikit_learn_estimator_is_accepted(tmp_path: Path, abalone_splits: Path) -> None:
    train = read_split(split_file(abalone_splits, "train"))
    estimator = xgb.XGBRegressor(n_estimators=10, max_depth=3, n_jobs=1).fit(train[:, 1:], train[:, 0])
    stage_evaluation(tmp_path, abalone_splits, pickle.dumps(estimator))

    assert run_in_process(tmp_path, evaluate.main) == 0
    expected = rmse_of(estimator.get_booster(), read_split(split_file(abalone_splits, "test")))
    assert results(tmp_path)[0]["regression_metrics"]["rmse"]["value"] == pytest.approx(expected, rel=1e-6)


def test_no_standard_deviation_below_200_rows(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    small_test = read_split(split_file(abalone_splits, "test"))[:150]
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")), test=small_test)

    assert run_in_process(tmp_path, evaluate.main) == 0

    metrics = results(tmp_path)[0]["regression_metrics"]
    assert all(set(entry) == {"value"} for entry in metrics.values())


# -- binary classification (rings > 9) ------------------------------------------------------------


def binary(rows: np.ndarray) -> np.ndarray:
    labelled = rows.copy()
    labelled[:, 0] = (rows[:, 0] > 9).astype(float)
    return labelled


def test_binary_classification(tmp_path: Path, abalone_splits: Path) -> None:
    model = train_booster(
        binary(read_split(split_file(abalone_splits, "train"))), objective="binary:logistic"
    )
    test = binary(read_split(split_file(abalone_splits, "test")))
    stage_evaluation(tmp_path, abalone_splits, bytes(model.save_raw("ubj")), test=test)

    assert (
        run_in_process(
            tmp_path, evaluate.main, "--problem-type", "binary_classification", "--threshold", "0.4"
        )
        == 0
    )

    evaluation, report = results(tmp_path)
    metrics = evaluation["binary_classification_metrics"]
    predicted = (model.predict(xgb.DMatrix(test[:, 1:])) >= 0.4).astype(int)
    actual = test[:, 0].astype(int)
    matrix = metrics["confusion_matrix"]
    assert matrix == {
        "0": {
            "0": int(np.sum((actual == 0) & (predicted == 0))),
            "1": int(np.sum((actual == 0) & (predicted == 1))),
        },
        "1": {
            "0": int(np.sum((actual == 1) & (predicted == 0))),
            "1": int(np.sum((actual == 1) & (predicted == 1))),
        },
    }
    tp, fp, fn = matrix["1"]["1"], matrix["0"]["1"], matrix["1"]["0"]
    assert metrics["accuracy"]["value"] == pytest.approx(np.mean(actual == predicted))
    assert metrics["precision"]["value"] == pytest.approx(tp / (tp + fp))
    assert metrics["recall"]["value"] == pytest.approx(tp / (tp + fn))
    assert metrics["f1"]["value"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert 0.8 < metrics["auc"]["value"] <= 1 and "standard_deviation" in metrics["auc"]
    curve = metrics["receiver_operating_characteristic_curve"]
    assert len(curve["false_positive_rates"]) == len(curve["true_positive_rates"]) > 2
    assert curve["false_positive_rates"][0] == 0 and curve["true_positive_rates"][-1] == 1
    assert len(embedded_pngs(report)) == 2
    assert 'alt="confusion matrix"' in report and 'alt="ROC curve"' in report
    assert '<td>threshold</td><td class="number">0.4</td>' in report


# -- bad input: a clear message and no output -----------------------------------------------------


def fails_cleanly(opt_ml: Path, *args: str) -> str:
    assert run_in_process(opt_ml, evaluate.main, *args) == 1
    assert output_files(opt_ml) == []
    return exit_message(opt_ml)


def test_an_archive_without_the_model_file(tmp_path: Path, abalone_splits: Path) -> None:
    stage_evaluation(tmp_path, abalone_splits, b"{}")
    package_model(b"not relevant", sandbox_path(tmp_path, contract.Evaluate.MODEL), member="model.json")

    assert "model.tar.gz: the archive has no 'xgboost-model' file" in fails_cleanly(tmp_path)


def test_a_model_that_is_no_xgboost_model(tmp_path: Path, abalone_splits: Path) -> None:
    stage_evaluation(tmp_path, abalone_splits, b"this is a text file, not a model")

    message = fails_cleanly(tmp_path)

    assert (
        "model.tar.gz!xgboost-model: neither an XGBoost JSON/UBJSON model file nor a pickled Booster"
        in message
    )
    assert "legacy binary format" in message and "algorithm version 3.0-5 or later" in message
    assert "Stack trace" not in message


def test_a_pickle_of_something_else(tmp_path: Path, abalone_splits: Path) -> None:
    stage_evaluation(tmp_path, abalone_splits, pickle.dumps({"not": "a model"}))

    assert "the pickle holds a dict, not an XGBoost Booster" in fails_cleanly(tmp_path)


def test_a_model_archive_that_is_not_an_archive(tmp_path: Path, abalone_splits: Path) -> None:
    stage_evaluation(tmp_path, abalone_splits, b"{}")
    (sandbox_path(tmp_path, contract.Evaluate.MODEL) / "model.tar.gz").write_bytes(b"plain bytes")

    assert "model.tar.gz: not a readable tar.gz archive" in fails_cleanly(tmp_path)


def test_a_model_trained_on_other_columns(tmp_path: Path, abalone_splits: Path) -> None:
    other = train_booster(read_split(split_file(abalone_splits, "train"))[:, :6])
    stage_evaluation(tmp_path, abalone_splits, bytes(other.save_raw("ubj")))

    assert "the model expects 5 features but the data has 10" in fails_cleanly(tmp_path)


def test_a_test_split_with_the_wrong_columns(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    test = read_split(split_file(abalone_splits, "test"))[:, 1:]  # label missing
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")), test=test)

    assert "part-algo-1.csv: has 10 columns, expected 11 (rings, length," in fails_cleanly(tmp_path)


def test_a_missing_schema(tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster) -> None:
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")))
    (sandbox_path(tmp_path, contract.Evaluate.SCHEMA) / "schema.json").unlink()

    assert "schema.json does not exist; it is written by the preprocessing step" in fails_cleanly(tmp_path)


def test_regression_labels_evaluated_as_classification(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")))

    message = fails_cleanly(tmp_path, "--problem-type", "binary_classification")

    assert "binary_classification needs 0/1 labels but the test split has" in message


def test_a_regression_model_evaluated_as_classifier(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster
) -> None:
    test = binary(read_split(split_file(abalone_splits, "test")))
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")), test=test)

    message = fails_cleanly(tmp_path, "--problem-type", "binary_classification")

    assert "not probabilities; train it with objective binary:logistic" in message


@pytest.mark.parametrize("threshold", ["0", "1", "1.5", "half"])
def test_a_threshold_outside_zero_one_is_refused(tmp_path: Path, threshold: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_in_process(tmp_path, evaluate.main, "--threshold", threshold)

    assert exit_info.value.code == 2
    assert output_files(tmp_path) == []


@pytest.mark.parametrize("value", [1e39, -3.5e38])
def test_a_value_beyond_float32_is_refused_not_an_xgboost_trace(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster, value: float
) -> None:
    """Found by the robustness campaign: finite in float64, inf in XGBoost, which failed the job with
    a C++ stack trace."""
    test = read_split(split_file(abalone_splits, "test"))
    test[3, 2] = value
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")), test=test)

    message = fails_cleanly(tmp_path)
    assert "part-algo-1.csv: line 4, column 'diameter'" in message
    assert "is outside float32, the range the model computes in" in message


def test_the_report_renders_in_a_browser_with_both_plots_and_nothing_fetched(
    tmp_path: Path, abalone_splits: Path, regression_model: xgb.Booster, open_page
) -> None:
    stage_evaluation(tmp_path, abalone_splits, bytes(regression_model.save_raw("ubj")))
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone-mlops-dev-training/execution/x1"
    assert run_in_process(tmp_path, evaluate.main, "--execution-arn", arn) == 0
    _, report = results(tmp_path)
    path = sandbox_path(tmp_path, contract.Evaluate.EVALUATION) / contract.REPORT_FILE

    errors, driver = open_page(path)

    assert errors == []
    assert remote_sources(report) == []
    assert driver.title == evaluate.REPORT_TITLE
    assert drawn_images(driver) == 2  # predicted vs actual, residuals
    assert arn in driver.find_element(By.TAG_NAME, "body").text


@pytest.fixture
def sagemaker_and_s3():
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1"), boto3.client("s3", region_name="us-east-1")


def test_nothing_deployed_yet_is_said_not_failed(sagemaker_and_s3) -> None:
    sagemaker, s3 = sagemaker_and_s3
    assert evaluate.deployed_evaluation(sagemaker, s3, "abalone") == (
        "no model deployed yet (endpoint abalone does not exist)"
    )


def test_a_served_model_without_a_package_has_nothing_to_compare_with(sagemaker_and_s3) -> None:
    sagemaker, s3 = sagemaker_and_s3
    role = "arn:aws:iam::123456789012:role/model"
    sagemaker.create_model(
        ModelName="hand-made", PrimaryContainer={"Image": "xgboost:1"}, ExecutionRoleArn=role
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "hand-made", "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName="c", ProductionVariants=[{**variant, "InstanceType": "ml.m5.large"}]
    )
    sagemaker.create_endpoint(EndpointName="abalone", EndpointConfigName="c")

    assert evaluate.deployed_evaluation(sagemaker, s3, "abalone") == (
        "endpoint abalone serves model hand-made, which was not created from a model package"
    )
