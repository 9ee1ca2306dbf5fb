"""QualityCheck steps: the SDK's DataQuality/ModelQuality checks, with the baseline lifecycle AWS documents."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from localcloud import ExecutionStatus
from localcloud.sagemaker.executor.steps.quality_check import preflight_problems
from processing_scripts import s3_uri

REPO = Path(__file__).parents[2]
FIXTURE = REPO / "tests" / "pipelines" / "fixtures" / "sdk2" / "checks.json"
ROWS = list(csv.reader((REPO / "data" / "abalone.csv").read_text().splitlines()))


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def _step(name: str) -> dict[str, Any]:
    return copy.deepcopy(next(s for s in _fixture()["Steps"] if s["Name"] == name))


def _put(local_aws, uri: str, text: str) -> None:
    bucket, key = s3_uri.split(uri)
    local_aws.clients.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


def _get_json(local_aws, uri: str) -> Any:
    bucket, key = s3_uri.split(uri)
    return json.loads(local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _data_quality(pipeline, data_uri: str, output: str) -> dict[str, Any]:
    """The fixture's DataQualityCheck and its parameters, reading ``data_uri`` (with a header)."""
    pipeline.parameters = [p for p in _fixture()["Parameters"] if p["Name"] != "ModelPackageGroup"]
    pipeline.parameter("ModelPackageGroup", "String", pipeline.settings.model_package_group)
    step = _step("DataQualityCheck")
    step["Arguments"]["Environment"]["dataset_format"] = json.dumps({"csv": {"header": True}})
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = data_uri
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = output
    return pipeline.add(step)


def test_a_first_baseline_then_checks_against_it(runner, pipeline, local_aws, tmp_path):
    _put(local_aws, f"{pipeline.bucket}/dq/train.csv", _csv(ROWS[:3001]))
    _data_quality(pipeline, f"{pipeline.bucket}/dq/train.csv", f"{pipeline.bucket}/dq/first")
    first = runner.run(
        pipeline.definition(),
        {"SkipDataQualityCheck": "true", "RegisterNewDataQualityBaseline": "true"},
        pipeline_name="demo",
    )
    assert first.status == ExecutionStatus.SUCCEEDED, first.failure_reason
    baseline = first.steps["DataQualityCheck"].properties
    assert baseline == {
        "CalculatedBaselineStatistics": f"{pipeline.bucket}/dq/first/statistics.json",
        "CalculatedBaselineConstraints": f"{pipeline.bucket}/dq/first/constraints.json",
        "BaselineUsedForDriftCheckStatistics": f"{pipeline.bucket}/dq/first/statistics.json",
        "BaselineUsedForDriftCheckConstraints": f"{pipeline.bucket}/dq/first/constraints.json",
    }
    statistics = _get_json(local_aws, baseline["CalculatedBaselineStatistics"])
    assert statistics["dataset"]["item_count"] == 3000
    assert {f["name"]: f["inferred_type"] for f in statistics["features"]}["length"] == "Fractional"

    # The rest of the data, checked against the supplied first baseline: the same population.
    supplied = {
        "SuppliedStatistics": baseline["CalculatedBaselineStatistics"],
        "SuppliedConstraints": baseline["CalculatedBaselineConstraints"],
    }
    pipeline.steps.clear()
    _put(local_aws, f"{pipeline.bucket}/dq/rest.csv", _csv([ROWS[0], *ROWS[3001:]]))
    _data_quality(pipeline, f"{pipeline.bucket}/dq/rest.csv", f"{pipeline.bucket}/dq/second")
    second = runner.run(pipeline.definition(), supplied, pipeline_name="demo")
    assert second.status == ExecutionStatus.SUCCEEDED, second.failure_reason
    properties = second.steps["DataQualityCheck"].properties
    assert properties["BaselineUsedForDriftCheckConstraints"] == supplied["SuppliedConstraints"]
    assert properties["CalculatedBaselineConstraints"] == f"{pipeline.bucket}/dq/second/constraints.json"
    assert _get_json(local_aws, f"{pipeline.bucket}/dq/second/constraint_violations.json") == {
        "violations": []
    }

    # Only the largest abalone: drift, and FailOnViolation fails the step.
    pipeline.steps.clear()
    big = [r for r in ROWS[1:] if float(r[1]) > 0.6]
    _put(local_aws, f"{pipeline.bucket}/dq/big.csv", _csv([ROWS[0], *big]))
    _data_quality(pipeline, f"{pipeline.bucket}/dq/big.csv", f"{pipeline.bucket}/dq/third")
    third = runner.run(pipeline.definition(), supplied, pipeline_name="demo")
    assert third.status == ExecutionStatus.FAILED
    assert (
        "DATA_QUALITY check found" in third.failure_reason
        and "constraint_violations.json" in third.failure_reason
    )
    violations = _get_json(local_aws, f"{pipeline.bucket}/dq/third/constraint_violations.json")["violations"]
    assert "length" in {
        v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"
    }


def test_a_check_without_a_previous_baseline_says_how_to_get_one(runner, pipeline, local_aws):
    _put(local_aws, f"{pipeline.bucket}/dq/train.csv", _csv(ROWS[:500]))
    _data_quality(pipeline, f"{pipeline.bucket}/dq/train.csv", f"{pipeline.bucket}/dq/none")
    record = runner.run(pipeline.definition(), pipeline_name="demo")
    assert record.status == ExecutionStatus.FAILED
    assert record.failure_reason == (
        "step DataQualityCheck failed: DATA_QUALITY: SkipCheck=False and RegisterNewBaseline=False need a "
        "previous baseline, and there is none: set SuppliedBaselineConstraints, approve a model package "
        f"with DriftCheckBaselines in {pipeline.settings.model_package_group}, or set SkipCheck and "
        "RegisterNewBaseline to true for a first baseline"
    )


def _predictions(rows: list[list[str]], bias: float) -> str:
    """Headerless prediction,label rows: the fixture's inference _c0 and ground truth _c1."""
    return _csv([[float(r[-1]) + bias + (0.5 if i % 2 else -0.5), r[-1]] for i, r in enumerate(rows)])


def test_model_quality_checks_against_the_latest_approved_package(runner, pipeline, local_aws):
    sagemaker = local_aws.clients.sagemaker
    group = pipeline.settings.model_package_group
    # A baseline run (skip the check, keep the new baseline) gives the constraints to register.
    step = _step("ModelQualityCheck")
    step.update(SkipCheck=True, RegisterNewBaseline=True, ModelPackageGroupName=group)
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = f"{pipeline.bucket}/mq/good.csv"
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = (
        f"{pipeline.bucket}/mq/base"
    )
    _put(local_aws, f"{pipeline.bucket}/mq/good.csv", _predictions(ROWS[1:1001], 0.0))
    pipeline.add(step)
    base = runner.run(pipeline.definition(), pipeline_name="demo")
    assert base.status == ExecutionStatus.SUCCEEDED, base.failure_reason
    calculated = base.steps["ModelQualityCheck"].properties
    statistics = _get_json(local_aws, calculated["CalculatedBaselineStatistics"])
    assert statistics["regression_metrics"]["mae"]["value"] == pytest.approx(0.5)
    constraints = _get_json(local_aws, calculated["CalculatedBaselineConstraints"])
    assert constraints["regression_constraints"]["mae"] == {
        "threshold": pytest.approx(0.5),
        "comparison_operator": "GreaterThanThreshold",
    }

    model_data = f"{pipeline.bucket}/mq/good.csv"  # any existing object stands in for the model
    sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img:1", "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": calculated["CalculatedBaselineStatistics"],
                },
                "Constraints": {
                    "ContentType": "application/json",
                    "S3Uri": calculated["CalculatedBaselineConstraints"],
                },
            }
        },
    )
    # The fixture's step as the SDK wrote it: check against the registry, do not fail on violations.
    pipeline.steps.clear()
    step = _step("ModelQualityCheck")
    step["ModelPackageGroupName"] = group
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = f"{pipeline.bucket}/mq/worse.csv"
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = (
        f"{pipeline.bucket}/mq/check"
    )
    _put(local_aws, f"{pipeline.bucket}/mq/worse.csv", _predictions(ROWS[1001:2001], 1.0))
    pipeline.add(step)
    check = runner.run(pipeline.definition(), pipeline_name="demo")

    assert check.status == ExecutionStatus.SUCCEEDED, check.failure_reason  # FailOnViolation is false
    properties = check.steps["ModelQualityCheck"].properties
    assert properties["BaselineUsedForDriftCheckConstraints"] == calculated["CalculatedBaselineConstraints"]
    violations = _get_json(local_aws, f"{pipeline.bucket}/mq/check/constraint_violations.json")["violations"]
    assert {v["metric_name"] for v in violations} >= {"mae", "mse", "rmse"}
    assert all(
        v["constraint_check_type"] == "GreaterThanThreshold" for v in violations if v["metric_name"] == "mae"
    )


@pytest.mark.parametrize("sdk", ["sdk2", "sdk3"])
def test_what_cannot_run_locally_is_known_before_the_run(sdk):
    step = next(
        s
        for s in json.loads((FIXTURE.parents[1] / sdk / "checks.json").read_text())["Steps"]
        if s["Name"] == "ModelQualityCheck"
    )
    assert preflight_problems(step) == []
    step["Arguments"]["Environment"].update(
        problem_type="MulticlassClassification",
        dataset_format=json.dumps({"json": {"lines": True}}),
        record_preprocessor_script="/opt/ml/processing/code/pre.py",
    )
    assert preflight_problems(step) == [
        "Arguments.Environment.record_preprocessor_script: custom analyzer scripts cannot run locally",
        'Arguments.Environment.dataset_format {"json": {"lines": true}}: only csv and parquet datasets can run locally',
        "Arguments.Environment.problem_type 'MulticlassClassification': only Regression, BinaryClassification can run locally",
    ]


def test_a_cached_check_is_reused_only_while_its_data_and_check_fields_stay_the_same(
    runner, pipeline, local_aws
):
    _put(local_aws, f"{pipeline.bucket}/dq/a.csv", _csv(ROWS[:400]))
    _put(local_aws, f"{pipeline.bucket}/dq/b.csv", _csv([ROWS[0], *ROWS[400:800]]))
    first_run = {"SkipDataQualityCheck": "true", "RegisterNewDataQualityBaseline": "true"}

    def run(data: str, parameters: dict[str, str]) -> Any:
        pipeline.steps.clear()
        step = _data_quality(pipeline, f"{pipeline.bucket}/dq/{data}", f"{pipeline.bucket}/dq/cached")
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P30D"}
        record = runner.run(pipeline.definition(), parameters, pipeline_name="demo")
        assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
        return record.steps["DataQualityCheck"].cache_hit

    assert run("a.csv", first_run) is None
    assert run("a.csv", first_run) is not None
    assert run("b.csv", first_run) is None  # another dataset: the job's arguments differ
    supplied = {
        "SkipDataQualityCheck": "true",
        "RegisterNewDataQualityBaseline": "false",
        "SuppliedStatistics": f"{pipeline.bucket}/dq/cached/statistics.json",
        "SuppliedConstraints": f"{pipeline.bucket}/dq/cached/constraints.json",
    }
    assert run("b.csv", supplied) is None  # other check fields: a new key


def test_a_non_numeric_prediction_column_is_one_clear_line(runner, pipeline, local_aws):
    step = _step("ModelQualityCheck")
    step.update(SkipCheck=True, RegisterNewBaseline=True)
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = f"{pipeline.bucket}/mq/text.csv"
    _put(local_aws, f"{pipeline.bucket}/mq/text.csv", "high,10\nlow,7\n")
    pipeline.add(step)
    record = runner.run(pipeline.definition(), pipeline_name="demo")
    assert record.status == ExecutionStatus.FAILED
    assert record.failure_reason.startswith(
        "step ModelQualityCheck failed: ClientError: inference_attribute '_c0' is not numeric ("
    )
    assert "\n" not in record.failure_reason
