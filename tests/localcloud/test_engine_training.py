"""Training (the built-in XGBoost emulation), tuning, model registration and Lambda steps."""

from __future__ import annotations

import io
import random
import tarfile
from typing import Any

import pytest
import xgboost as xgb

from localcloud import DefinitionError, ExecutionStatus, LambdaRegistry, LocalPipelineRunner, StepStatus
from localcloud.sagemaker.executor.steps.base import StepError
from localcloud.sagemaker.executor.steps.tuning import draw, draw_trials
from localcloud.sagemaker.executor.xgboost_versions import ClientError, booster_parameters
from processing_scripts import s3_uri

# Label (rings) first, then the numeric features: the built-in algorithm's CSV layout.
SPLIT_SCRIPT = """
rows = (inp("raw") / "abalone.csv").read_text().splitlines()[1:]
lines = [",".join([r.split(",")[-1], *r.split(",")[1:-1]]) for r in rows]
(out("train") / "part-algo-1.csv").write_text("\\n".join(lines[:3000]) + "\\n")
(out("validation") / "part-algo-1.csv").write_text("\\n".join(lines[3000:]) + "\\n")
"""
HYPERPARAMETERS = {"objective": "reg:squarederror", "num_round": "8", "max_depth": "3", "eta": "0.3"}
deploy_calls: list[dict[str, Any]] = []


def handle(event: dict[str, Any], client: Any, env: dict[str, str]) -> dict[str, Any]:
    """A stand-in deploy handler (the registry below maps the deploy function to this module)."""
    deploy_calls.append({"event": event, "env": env})
    package = client("sagemaker").describe_model_package(ModelPackageName=event["model_package_arn"])
    return {"status": "created", "endpoint_name": env["ENDPOINT"], "approval": package["ModelApprovalStatus"]}


def _split(pipeline) -> dict[str, Any]:
    pipeline.processing(
        "Split",
        SPLIT_SCRIPT,
        inputs={"raw": pipeline.settings.raw_data_uri},
        outputs=("train", "validation"),
    )
    return {c: pipeline.output_uri("Split", c) for c in ("train", "validation")}


def _model(local_aws, uri: str) -> xgb.Booster:
    bucket, key = s3_uri.split(uri)
    body = local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.getnames() == ["xgboost-model"]
        return xgb.Booster(model_file=bytearray(archive.extractfile("xgboost-model").read()))


def test_training_emulates_the_builtin_xgboost_algorithm(runner, pipeline, local_aws):
    pipeline.training("Train", _split(pipeline), HYPERPARAMETERS)
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    job = record.steps["Train"].properties
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"{pipeline.bucket}/models/{job['TrainingJobName']}/output/model.tar.gz"
    booster = _model(local_aws, uri)
    assert booster.num_boosted_rounds() == 8 and booster.num_features() == 7
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:rmse", "validation:rmse"}
    assert 1.0 < metrics["validation:rmse"] < 4.0  # abalone rings: a real fit, not a constant
    log = (record.run_dir / record.steps["Train"].log_file).read_text()
    assert "[7]#011train-rmse:" in log and "#011validation-rmse:" in log


def test_hyperparameters_are_checked_like_the_builtin_algorithm():
    parsed = booster_parameters(
        {
            "num_round": "50",
            "eta": "0.2",
            "eval_metric": "rmse,mae",
            "_tuning_objective_metric": "validation:rmse",
        }
    )
    assert (parsed.booster, parsed.num_round, parsed.early_stopping_rounds) == (
        {"eta": 0.2, "eval_metric": ["rmse", "mae"]},
        50,
        None,
    )
    with pytest.raises(ClientError, match="Extraneous hyperparameter found: learning_rate_typo"):
        booster_parameters({"num_round": "5", "learning_rate_typo": "0.1"})
    with pytest.raises(ClientError, match="Missing required hyperparameter: num_round"):
        booster_parameters({"eta": "0.1"})


def test_tuning_draws_reproducibly_and_exposes_the_best_job_like_sagemaker(runner, pipeline, local_aws):
    channels = _split(pipeline)
    config = {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "2", "MaxValue": "6", "ScalingType": "Auto"}
            ],
            "CategoricalParameterRanges": [{"Name": "tree_method", "Values": ["hist", "exact"]}],
        },
    }
    definition = pipeline.training_job(channels, {})
    definition["StaticHyperParameters"] = {"objective": "reg:squarederror", "num_round": "5"}
    del definition["HyperParameters"]
    pipeline.add(
        {
            "Name": "Tune",
            "Type": "Tuning",
            "Arguments": {"HyperParameterTuningJobConfig": config, "TrainingJobDefinition": definition},
        }
    )
    # What the SDK's get_top_model_s3_uri(top_k=0, s3_bucket, prefix="models") writes.
    top_model = pipeline.join(
        "s3:/", pipeline.settings.bucket_name("artifacts"), "models",
        pipeline.get("Steps.Tune.TrainingJobSummaries[0].TrainingJobName"), "output/model.tar.gz",
    )  # fmt: skip
    pipeline.add(
        {
            "Name": "Register",
            "Type": "RegisterModel",
            "Arguments": {
                "ModelPackageGroupName": pipeline.settings.model_package_group,
                "ModelApprovalStatus": "PendingManualApproval",
                "InferenceSpecification": {
                    "Containers": [{"Image": "xgboost", "ModelDataUrl": top_model}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                "CustomerMetadataProperties": {
                    "best_job": pipeline.get("Steps.Tune.BestTrainingJob.TrainingJobName")
                },
            },
        }
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    tuned = record.steps["Tune"].properties
    summaries = tuned["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert len(summaries) == 2 and values == sorted(values)
    assert tuned["BestTrainingJob"] == summaries[0]
    for summary in summaries:
        drawn = summary["TunedHyperParameters"]
        assert 0.05 <= float(drawn["eta"]) <= 0.5 and 2 <= int(drawn["max_depth"]) <= 6
        assert drawn["tree_method"] in ("hist", "exact")
    package = local_aws.clients.sagemaker.describe_model_package(ModelPackageName=record.model_package_arn)
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert summaries[0]["TrainingJobName"] in model_url
    assert package["CustomerMetadataProperties"] == {"best_job": summaries[0]["TrainingJobName"]}
    assert _model(local_aws, model_url).num_boosted_rounds() == 5


def test_tuning_draws_are_reproducible_and_respect_scaling():
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.001", "MaxValue": "1", "ScalingType": "Logarithmic"},
            {
                "Name": "subsample",
                "MinValue": "0.5",
                "MaxValue": "0.999",
                "ScalingType": "ReverseLogarithmic",
            },
        ],
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "8"}],
    }
    first = [t.hyperparameters for t in draw_trials("tune", ranges, 200, seed=7)]
    again = [t.hyperparameters for t in draw_trials("tune", ranges, 200, seed=7)]
    assert first == again
    etas = sorted(float(h["eta"]) for h in first)
    assert sum(eta < 0.0316 for eta in etas) > 60  # log scale: about half below the geometric middle
    assert {int(h["max_depth"]) for h in first} == set(range(3, 9))
    assert all(0.5 <= float(h["subsample"]) <= 0.999 for h in first)
    with pytest.raises(StepError, match="Logarithmic scaling needs MinValue > 0"):
        draw(
            {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
                ]
            },
            random.Random(1),
        )


def _register_and_deploy(pipeline) -> dict[str, Any]:
    approval = pipeline.parameter("ModelApprovalStatus", "String", "Approved")
    pipeline.processing(
        "Artifact", """(out("model") / "model.tar.gz").write_bytes(b"x")""", outputs=("model",)
    )
    model_url = pipeline.join(pipeline.output_uri("Artifact", "model"), "model.tar.gz")
    pipeline.add(
        {
            "Name": "Register",
            "Type": "RegisterModel",
            "Arguments": {
                "ModelPackageGroupName": pipeline.settings.model_package_group,
                "ModelApprovalStatus": approval,
                "InferenceSpecification": {
                    "Containers": [{"Image": "xgboost", "ModelDataUrl": model_url}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                "CustomerMetadataProperties": {"git_commit": "abc123"},
            },
        }
    )
    pipeline.add(
        {
            "Name": "Deploy",
            "Type": "Lambda",
            "FunctionArn": pipeline.settings.function_arn("deploy"),
            "OutputParameters": [
                {"OutputName": "status", "OutputType": "String"},
                {"OutputName": "endpoint_name", "OutputType": "String"},
            ],
            "Arguments": {
                "model_package_arn": pipeline.get("Steps.Register.ModelPackageArn"),
                "endpoint_name": pipeline.settings.endpoint_name,
            },
        }
    )
    status = pipeline.get("Steps.Deploy.OutputParameters['status']")
    not_deployed = pipeline.branch_step(
        pipeline.fail("NotDeployed", pipeline.join("deploy said", status, on=" "))
    )
    pipeline.condition(
        "Deployed", [{"Type": "Equals", "LeftValue": status, "RightValue": "created"}], [], [not_deployed]
    )
    return pipeline.definition()


@pytest.fixture
def lambda_runner(runner, local_aws) -> LocalPipelineRunner:
    """A runner whose deploy function is :func:`handle` above, with a test environment."""
    deploy_calls.clear()
    registry = LambdaRegistry.build(
        runner.settings,
        handlers={"deploy": __name__},
        environment_for=lambda settings, purpose: {"ENDPOINT": settings.endpoint_name, "PURPOSE": purpose},
    )
    return LocalPipelineRunner(runner.settings, local_aws, runner.runs_dir, lambdas=registry)


def test_register_model_then_lambda_outputs_feed_a_condition(lambda_runner, pipeline, local_aws):
    record = lambda_runner.run(_register_and_deploy(pipeline), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    arn = record.model_package_arn
    package = local_aws.clients.sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"] == {"git_commit": "abc123"}
    assert record.steps["Deploy"].properties == {
        "OutputParameters": {"status": "created", "endpoint_name": pipeline.settings.endpoint_name}
    }
    assert deploy_calls == [
        {
            "event": {"model_package_arn": arn, "endpoint_name": pipeline.settings.endpoint_name},
            "env": {"ENDPOINT": pipeline.settings.endpoint_name, "PURPOSE": "deploy"},
        }
    ]
    assert record.steps["Deployed"].properties == {"Outcome": True}
    assert record.steps["NotDeployed"].status == StepStatus.SKIPPED


def test_registering_a_missing_artifact_fails_with_the_field_named(lambda_runner, pipeline):
    definition = _register_and_deploy(pipeline)
    register = next(s for s in definition["Steps"] if s["Name"] == "Register")
    register["Arguments"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = (
        f"{pipeline.bucket}/nothing/here.tar.gz"
    )
    record = lambda_runner.run(definition, pipeline_name="demo")

    assert record.failure_reason == (
        "step Register failed: Arguments.InferenceSpecification.Containers[0].ModelDataUrl: "
        f"no object at {pipeline.bucket}/nothing/here.tar.gz (did the step that writes it run?)"
    )
    assert record.steps["Deploy"].status == StepStatus.NOT_STARTED and deploy_calls == []


def test_an_unknown_function_arn_is_refused_before_anything_runs(lambda_runner, pipeline):
    definition = _register_and_deploy(pipeline)
    deploy = next(s for s in definition["Steps"] if s["Name"] == "Deploy")
    deploy["FunctionArn"] = "arn:aws:lambda:us-east-1:123456789012:function:someone-else"
    with pytest.raises(DefinitionError) as refused:
        lambda_runner.run(definition, pipeline_name="demo")

    assert refused.value.problems == [
        "Deploy: Lambda function arn:aws:lambda:us-east-1:123456789012:function:someone-else is not one of "
        "the project's functions; pass --lambda someone-else=path/to/handler.py:function "
        "(or --stub Deploy=outputs.json)"
    ]
