"""`pipelines lineage` as a user calls it, against moto: a registered, approved, deployed version
traced to its execution, steps (from a local run record: moto has no ListPipelineExecutionSteps),
data versions, commit, images, baselines, approval note and endpoint variant."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud.moto_extensions import sagemaker_rules
from pipelines import lineage
from pipelines import parameters as p
from pipelines import settings as settings_module
from pipelines.cli.exit_codes import ExitCode
from processing_scripts import data_version
from tests.pipelines.cli_runner import one_line_error, run

SETTINGS = settings_module.load("dev")
TINY = Path(__file__).parent / "fixtures" / "tiny-pipeline.json"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
IMAGE = SETTINGS.processing_image_uri
DATA = SETTINGS.raw_data_uri


@pytest.fixture
def registered(tmp_path: Path):
    """Version 1 of the group, registered by an alarm-started execution, approved and deployed."""
    sagemaker_rules.install()  # the local cloud's SageMaker: approving keeps the package's metadata
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
        s3 = boto3.client("s3", region_name=SETTINGS.region)
        sagemaker.create_pipeline(
            PipelineName=SETTINGS.training_pipeline_name,
            PipelineDefinition=TINY.read_text(),
            RoleArn=SETTINGS.role_arn(settings_module.PIPELINE_ROLE),
        )
        execution = sagemaker.start_pipeline_execution(
            PipelineName=SETTINGS.training_pipeline_name,
            PipelineExecutionDescription=f"retraining triggered by alarm {SETTINGS.drift_alarm_name} (e-1)",
        )["PipelineExecutionArn"]
        bucket = SETTINGS.bucket_name("artifacts")
        s3.create_bucket(Bucket=bucket)
        manifest_uri = f"s3://{bucket}/runs/preprocess/schema"
        objects = [data_version.InputObject(DATA, "v-42", "ab" * 32, 191873)]
        s3.put_object(
            Bucket=bucket,
            Key="runs/preprocess/schema/data-version-algo-1.json",
            Body=data_version.manifest_json(objects, "algo-1").encode(),
        )
        sagemaker.create_model_package_group(ModelPackageGroupName=SETTINGS.model_package_group)
        package = sagemaker.create_model_package(
            ModelPackageGroupName=SETTINGS.model_package_group,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "xgboost:1.7", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            DriftCheckBaselines={
                "ModelDataQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{bucket}/b/statistics.json",
                    },
                    "Constraints": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{bucket}/b/constraints.json",
                    },
                }
            },
            CustomerMetadataProperties={
                p.GIT_COMMIT: COMMIT,
                p.TRIGGERED_BY: "drift-alarm",
                p.INPUT_DATA_URL: DATA,
                p.DATA_SNAPSHOT: "2026-12-01T13:00:00Z",
                lineage.DATA_MANIFEST_URI: manifest_uri,
                lineage.PROCESSING_IMAGE_TAG: IMAGE.rpartition(":")[2],
                lineage.PIPELINE_EXECUTION_ARN: execution,
            },
        )["ModelPackageArn"]
        sagemaker.create_model(
            ModelName="m1",
            Containers=[{"ModelPackageName": package}],
            ExecutionRoleArn=SETTINGS.role_arn(settings_module.MODEL_ROLE),
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c1",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m1",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=SETTINGS.endpoint_name, EndpointConfigName="c1")
        runs = tmp_path / "runs"
        (runs / "x").mkdir(parents=True)
        step = {
            "name": "Preprocess",
            "type": "Processing",
            "status": "Succeeded",
            "cache_hit": None,
            "properties": {
                "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pre-1",
                "AppSpecification": {"ImageUri": IMAGE},
                "ProcessingInputs": [{"S3Input": {"S3Uri": DATA}}],
            },
        }
        record = {"execution_arn": execution, "status": "Succeeded", "started_at": "t", "steps": [step]}
        (runs / "x" / "record.json").write_text(json.dumps(record))
        yield package, runs


def test_lineage_traces_a_version_to_its_run_data_code_approval_and_endpoint(registered, capsys):
    package, runs = registered
    assert run(capsys, "approve", "1", "-m", "holdout RMSE 1.8, checked by hand")[0] == 0

    code, out, err = run(capsys, "lineage", "1", "--json", "--runs-dir", str(runs))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == lineage.SCHEMA
    assert doc["model"]["package_arn"] == package and doc["model"]["version"] == 1
    assert doc["approval"]["status"] == "Approved"
    assert doc["approval"]["note"] == "holdout RMSE 1.8, checked by hand"
    assert doc["trigger"] == {
        "triggered_by": "drift-alarm",
        "detail": f"retraining triggered by alarm {SETTINGS.drift_alarm_name} (e-1)",
    }
    assert doc["code"]["git_commit"] == COMMIT and doc["code"]["dirty"] is False
    assert doc["code"]["images"] == [IMAGE]
    assert doc["data"]["objects"] == [
        {"uri": DATA, "version_id": "v-42", "sha256": "ab" * 32, "bytes": 191873}
    ]
    assert doc["data"]["sha256"] == data_version.combined_sha256(
        [data_version.InputObject(DATA, "v-42", "ab" * 32, 1)]
    )
    assert doc["baselines"]["statistics"].endswith("/statistics.json")
    assert doc["deployments"] == [{"endpoint": SETTINGS.endpoint_name, "variant": "AllTraffic"}]
    assert [s["name"] for s in doc["steps"]] == ["Preprocess"] and doc["steps"][0]["inputs"] == [DATA]
    assert any(n.startswith("SageMaker lineage entities: not available here") for n in doc["notes"])

    # The same model by its endpoint and by its ARN; the human view names each part.
    for target in (SETTINGS.endpoint_name, package):
        code, out, _ = run(capsys, "lineage", target, "--runs-dir", str(runs))
        assert code == 0
        flat = " ".join(out.split())
        for expected in (
            COMMIT,
            "v-42",
            "drift-alarm",
            SETTINGS.drift_alarm_name,
            "holdout RMSE 1.8",
            "AllTraffic",
        ):
            assert expected in flat


def test_without_run_records_the_missing_steps_are_one_note(registered, capsys):
    code, out, _ = run(capsys, "lineage", "1", "--json")
    assert code == 0
    notes = json.loads(out)["notes"]
    assert any("ListPipelineExecutionSteps" in n and "--runs-dir" in n for n in notes)


@pytest.mark.parametrize(
    ("target", "message"),
    [("7", "has no version 7"), ("no-such-endpoint", "neither a version number")],
)
def test_an_unknown_model_is_one_line(registered, capsys, target, message):
    code, _, err = run(capsys, "lineage", target)
    assert code == ExitCode.NOT_FOUND
    assert message in one_line_error(err)[0]


def test_the_demos_saved_lineage_is_shown_after_the_demo(registered, capsys, tmp_path):
    code, out, _ = run(capsys, "lineage", "1", "--json", "--runs-dir", str(registered[1]))
    lineage.save(lineage.Lineage.from_json(json.loads(out)), tmp_path / "demo")
    code, out, _ = run(capsys, "lineage", "1", "--demo-out", str(tmp_path / "demo"))
    assert code == 0 and COMMIT in out
    code, _, err = run(capsys, "lineage", "3", "--demo-out", str(tmp_path / "demo"))
    assert code == ExitCode.NOT_FOUND and "saved: v1" in err


def test_against_aws_the_steps_and_jobs_come_from_the_api():
    """ListPipelineExecutionSteps (newest first, paginated) and Describe*Job in AWS's real shapes
    (botocore's Stubber checks every request and response against the service model)."""
    from botocore.stub import Stubber

    from pipelines.lineage import _execution

    sagemaker = boto3.client(
        "sagemaker", region_name=SETTINGS.region, aws_access_key_id="k", aws_secret_access_key="s"
    )
    execution = f"{SETTINGS.pipeline_arn(SETTINGS.training_pipeline_name)}/execution/abc123"
    job = f"arn:aws:sagemaker:{SETTINGS.region}:{SETTINGS.account}"
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": execution, "PipelineExecutionStatus": "Succeeded",
             "PipelineExecutionDescription": "retraining triggered by alarm a (aws.cloudwatch event e)"},
            {"PipelineExecutionArn": execution},
        )  # fmt: skip
        stub.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [
                {"StepName": "Train", "StepStatus": "Succeeded",
                 "Metadata": {"TrainingJob": {"Arn": f"{job}:training-job/pipelines-abc123-train"}}},
             ], "NextToken": "t"},
            {"PipelineExecutionArn": execution},
        )  # fmt: skip
        stub.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [
                {"StepName": "Preprocess", "StepStatus": "Succeeded",
                 "CacheHitResult": {"SourcePipelineExecutionArn": f"{execution[:-6]}older1"},
                 "Metadata": {"ProcessingJob": {"Arn": f"{job}:processing-job/pipelines-abc123-pre"}}},
             ]},
            {"PipelineExecutionArn": execution, "NextToken": "t"},
        )  # fmt: skip
        stub.add_response(
            "describe_processing_job",
            {"ProcessingJobName": "pipelines-abc123-pre", "ProcessingJobArn": f"{job}:processing-job/pipelines-abc123-pre",
             "ProcessingJobStatus": "Completed", "CreationTime": "2026-12-01T00:00:00Z",
             "AppSpecification": {"ImageUri": IMAGE},
             "ProcessingInputs": [{"InputName": "raw", "S3Input": {"S3Uri": DATA, "LocalPath": "/opt/ml/processing/input/raw",
                                   "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
             "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}}},
            {"ProcessingJobName": "pipelines-abc123-pre"},
        )  # fmt: skip
        stub.add_response(
            "describe_training_job",
            {"TrainingJobName": "pipelines-abc123-train", "TrainingJobArn": f"{job}:training-job/pipelines-abc123-train",
             "ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"}, "TrainingJobStatus": "Completed",
             "SecondaryStatus": "Completed", "CreationTime": "2026-12-01T00:00:00Z",
             "AlgorithmSpecification": {"TrainingImage": "xgb:1", "TrainingInputMode": "File"},
             "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                 "S3DataType": "S3Prefix", "S3Uri": "s3://b/train"}}}],
             "ResourceConfig": {"VolumeSizeInGB": 30}, "StoppingCondition": {}},
            {"TrainingJobName": "pipelines-abc123-train"},
        )  # fmt: skip
        notes: list[str] = []
        described, steps = _execution(sagemaker, execution, None, notes)
        stub.assert_no_pending_responses()
    assert described is not None and described["description"].startswith("retraining triggered by alarm a")
    assert [(s.name, s.image, s.inputs) for s in steps] == [
        ("Preprocess", IMAGE, [DATA]),
        ("Train", "xgb:1", ["s3://b/train"]),
    ]
    assert steps[0].cache_hit_from and steps[0].cache_hit_from.endswith("older1") and notes == []
