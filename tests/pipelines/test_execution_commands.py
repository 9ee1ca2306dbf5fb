"""approve/reject against moto; stop, retry, logs and start --wait against SageMaker's real API shapes
(botocore's Stubber: moto has no Stop/RetryPipelineExecution or ListPipelineExecutionSteps)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from localcloud.sagemaker.executor.records import ExecutionRecord, StepRecord, StepStatus
from pipelines import settings as settings_module
from pipelines.cli import watch as watch_module
from pipelines.cli.exit_codes import ExitCode
from processing_scripts.aws_clients import AwsClients
from tests.pipelines.cli_runner import one_line_error, run

SETTINGS = settings_module.load("dev")
TRAINING = SETTINGS.training_pipeline_name
GROUP = SETTINGS.model_package_group
TINY = (Path(__file__).parent / "fixtures" / "tiny-pipeline.json").read_text()
EXECUTION = f"{SETTINGS.pipeline_arn(TRAINING)}/execution/abc123"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# -- approve / reject (moto) ------------------------------------------------------------------------
@pytest.fixture
def registry():
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        for status in ("Approved", "PendingManualApproval"):
            sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": SETTINGS.processing_image_uri}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        yield sagemaker


def package(sagemaker, version: int) -> dict:
    summaries = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    arn = next(s["ModelPackageArn"] for s in summaries if s["ModelPackageVersion"] == version)
    return sagemaker.describe_model_package(ModelPackageName=arn)


def test_approve_takes_the_pending_version_and_stores_the_note(registry, capsys):
    code, out, err = run(capsys, "approve", "-m", "RMSE 1.84 on the drifted week; checked by ana")
    assert code == 0, err
    assert "approved" in out and "(was PendingManualApproval)" in out
    approved = package(registry, 2)
    assert approved["ModelApprovalStatus"] == "Approved"
    assert approved["ApprovalDescription"] == "RMSE 1.84 on the drifted week; checked by ana"


def test_reject_by_version_number_and_nothing_pending(registry, capsys):
    code, _, _ = run(capsys, "reject", "1", "--note", "leaks the label")
    assert code == 0 and package(registry, 1)["ModelApprovalStatus"] == "Rejected"
    run(capsys, "approve", "2", "-m", "ok")
    code, _, err = run(capsys, "approve", "-m", "ok")
    message, hint = one_line_error(err)
    assert code == ExitCode.NOT_FOUND and "is waiting for approval" in message and "approve 3" in hint
    code, _, err = run(capsys, "approve", "9", "-m", "ok")
    assert code == ExitCode.NOT_FOUND and f"{GROUP} has no version 9" in one_line_error(err)[0]


def test_a_note_is_required(registry, capsys):
    code, _, err = run(capsys, "approve")
    assert code == ExitCode.USAGE and "--note" in one_line_error(err)[0]


# -- stop / retry / start --wait / logs (Stubber) -----------------------------------------------------
@pytest.fixture
def stubbed(monkeypatch):
    """The CLI's sagemaker and logs clients, answering with queued responses of the real API shapes."""
    clients = {s: boto3.client(s, region_name=SETTINGS.region) for s in ("sagemaker", "logs")}
    stubs = {s: Stubber(c) for s, c in clients.items()}
    monkeypatch.setattr(AwsClients, "client", lambda self, service: clients[service])
    monkeypatch.setattr(watch_module, "POLL_SECONDS", 0)
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def expect_execution(stub: Stubber, status: str) -> None:
    """What `--execution abc123` costs: the pipeline exists, the execution is one of its, its status."""
    stub.add_response("describe_pipeline", {"PipelineDefinition": TINY}, {"PipelineName": TRAINING})
    stub.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": [{"PipelineExecutionArn": EXECUTION}]},
        {"PipelineName": TRAINING},
    )
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION},
    )


def steps_response(*steps: tuple[str, str, str]) -> dict:
    return {
        "PipelineExecutionSteps": [
            {"StepName": n, "StepStatus": s, "StartTime": WHEN, **({"FailureReason": r} if r else {})}
            for n, s, r in reversed(steps)
        ]
    }


def test_stop_a_running_execution_by_id(stubbed, capsys):
    expect_execution(stubbed["sagemaker"], "Executing")
    stubbed["sagemaker"].add_response(
        "stop_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION},
        {"PipelineExecutionArn": EXECUTION, "ClientRequestToken": ANY},
    )
    code, out, err = run(capsys, "stop", "training", "--execution", "abc123")
    assert code == 0, err
    assert f"stopping {EXECUTION}" in out


def test_stop_an_ended_execution_changes_nothing(stubbed, capsys):
    expect_execution(stubbed["sagemaker"], "Succeeded")
    code, out, _ = run(capsys, "stop", "training", "--execution", "abc123")
    assert code == 0 and "already ended Succeeded" in out


def test_retry_follows_the_steps_and_names_the_failure(stubbed, capsys):
    sagemaker = stubbed["sagemaker"]
    expect_execution(sagemaker, "Failed")
    sagemaker.add_response(
        "retry_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION},
        {"PipelineExecutionArn": EXECUTION, "ClientRequestToken": ANY},
    )
    arn = {"PipelineExecutionArn": EXECUTION}
    sagemaker.add_response("describe_pipeline_execution", {"PipelineExecutionStatus": "Executing"}, arn)
    sagemaker.add_response("list_pipeline_execution_steps", steps_response(("Train", "Executing", "")), arn)
    reason = "AlgorithmError: feature count mismatch"
    sagemaker.add_response(
        "describe_pipeline_execution",
        {
            "PipelineExecutionStatus": "Failed",
            "FailureReason": f"Step failure: One or multiple steps failed. {reason}",
        },
        arn,
    )
    sagemaker.add_response("list_pipeline_execution_steps", steps_response(("Train", "Failed", reason)), arn)
    code, out, err = run(capsys, "retry", "training", "--execution", "abc123", "--wait")
    assert code == ExitCode.FAILED
    assert (
        "Train                        Executing" in out
        and f"Train                        Failed  {reason}" in out
    )
    message, hint = one_line_error(err)
    assert message.startswith("execution abc123 ended Failed:") and reason in message
    assert hint == "`pipelines logs training --execution abc123` shows the failed step's log"


def test_retry_refuses_an_execution_that_did_not_fail(stubbed, capsys):
    expect_execution(stubbed["sagemaker"], "Succeeded")
    code, _, err = run(capsys, "retry", "training", "--execution", "abc123")
    message, hint = one_line_error(err)
    assert code == ExitCode.USAGE and "only a failed execution can be retried" in message and "start" in hint


def test_logs_reads_each_jobs_cloudwatch_stream(stubbed, capsys):
    sagemaker, logs = stubbed["sagemaker"], stubbed["logs"]
    sagemaker.add_response("describe_pipeline", {"PipelineDefinition": TINY}, {"PipelineName": TRAINING})
    sagemaker.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": [{"PipelineExecutionArn": EXECUTION}]},
        {"PipelineName": TRAINING, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1},
    )
    job = f"arn:aws:sagemaker:{SETTINGS.region}:{SETTINGS.account}:processing-job/pipelines-abc123-preprocess-x1"
    sagemaker.add_response(
        "list_pipeline_execution_steps",
        {
            "PipelineExecutionSteps": [
                {
                    "StepName": "Gate",
                    "StepStatus": "Succeeded",
                    "Metadata": {"Condition": {"Outcome": "True"}},
                },
                {
                    "StepName": "Preprocess",
                    "StepStatus": "Succeeded",
                    "Metadata": {"ProcessingJob": {"Arn": job}},
                },
            ]
        },
        {"PipelineExecutionArn": EXECUTION},
    )
    logs.add_response(
        "filter_log_events",
        {"events": [{"message": "split 4177 rows: 2923 train\n", "timestamp": 1}]},
        {
            "logGroupName": "/aws/sagemaker/ProcessingJobs",
            "logStreamNamePrefix": "pipelines-abc123-preprocess-x1",
        },
    )
    code, out, err = run(capsys, "logs", "training")
    assert code == 0, err
    lines = out.splitlines()
    assert (
        lines[0]
        == "== Preprocess: ProcessingJob pipelines-abc123-preprocess-x1 (/aws/sagemaker/ProcessingJobs)"
    )
    assert lines[1] == "split 4177 rows: 2923 train"
    assert lines[2] == "== Gate: Succeeded (no job, so no job log)"


# -- logs --local --------------------------------------------------------------------------------------
def test_logs_of_a_local_run(tmp_path, capsys):
    run_dir = tmp_path / "runs" / "loc42"
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "Preprocess.log").write_text("wrote 3 splits\n")
    record = ExecutionRecord(
        TRAINING, "loc42", f"{SETTINGS.pipeline_arn(TRAINING)}/execution/loc42", run_dir, {}
    )
    record.steps["Preprocess"] = StepRecord(
        "Preprocess", "Processing", StepStatus.SUCCEEDED, log_file="logs/Preprocess.log"
    )
    record.write()
    runs = str(tmp_path / "runs")
    code, out, _ = run(capsys, "logs", "training", "--local", "--runs-dir", runs)
    assert code == 0 and out.splitlines() == ["== Preprocess: Succeeded", "wrote 3 splits"]
    code, _, err = run(capsys, "logs", "training", "--local", "--runs-dir", runs, "--execution", "nope")
    assert code == ExitCode.NOT_FOUND and "no run-local execution nope" in one_line_error(err)[0]
    assert json.loads((run_dir / "record.json").read_text())["execution_id"] == "loc42"
