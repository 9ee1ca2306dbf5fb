"""The pipeline lifecycle commands as a user calls them, against moto in-process and as a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from pipelines import settings as settings_module
from pipelines.cli.exit_codes import ExitCode
from tests.pipelines.cli_runner import one_line_error, run

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "fixtures" / "tiny-pipeline.json"
SETTINGS = settings_module.load("dev")


@pytest.fixture
def sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name=SETTINGS.region)


def test_upsert_creates_then_is_idempotent_then_reports_changes(sagemaker, capsys, tmp_path):
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", str(TINY))
    assert code == 0 and "created" in out
    described = sagemaker.describe_pipeline(PipelineName=SETTINGS.training_pipeline_name)
    assert json.loads(described["PipelineDefinition"]) == json.loads(TINY.read_text())
    assert described["RoleArn"] == SETTINGS.role_arn(settings_module.PIPELINE_ROLE)

    code, out, _ = run(capsys, "upsert", "training", "--definition-file", str(TINY))
    assert code == 0 and "unchanged" in out

    changed = json.loads(TINY.read_text())
    changed["Parameters"][1]["DefaultValue"] = 2.0
    changed["Steps"].append({"Name": "Extra", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}})
    changed_file = tmp_path / "changed.json"
    changed_file.write_text(json.dumps(changed))
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", str(changed_file))
    assert code == 0 and "updated" in out
    assert "+ step Extra" in out and "~ parameter QualityThreshold" in out
    deployed = json.loads(
        sagemaker.describe_pipeline(PipelineName=SETTINGS.training_pipeline_name)["PipelineDefinition"]
    )
    assert deployed == changed


def test_diff_exits_1_and_shows_the_change(sagemaker, capsys, tmp_path):
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    code, out, _ = run(capsys, "diff", "training", "--definition-file", str(TINY))
    assert code == 0 and "no differences" in out
    changed = json.loads(TINY.read_text())
    changed["Parameters"][0]["DefaultValue"] = "s3://bucket/raw/other.csv"
    changed_file = tmp_path / "changed.json"
    changed_file.write_text(json.dumps(changed))
    code, out, _ = run(capsys, "diff", "training", "--definition-file", str(changed_file))
    assert code == 1
    assert "~ parameter InputDataUrl" in out
    assert '+      "DefaultValue": "s3://bucket/raw/other.csv"' in out


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("Nope=1", "unknown parameter 'Nope'"),
        ("QualityThreshold=high", "parameter QualityThreshold: Float expects a finite decimal number"),
        ("MaxTuningJobs=2.5", "parameter MaxTuningJobs: Integer expects a whole number"),
        ("QualityThreshold", "is not K=V"),
    ],
)
def test_start_rejects_bad_parameters_before_calling_aws(sagemaker, capsys, param, message):
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    code, _, err = run(capsys, "start", "training", "--param", param)
    assert code == 2
    assert message in err and "hint:" in err and "Traceback" not in err
    executions = sagemaker.list_pipeline_executions(PipelineName=SETTINGS.training_pipeline_name)
    assert executions["PipelineExecutionSummaries"] == []


def test_start_passes_typed_parameters_and_keeps_the_deployed_git_commit(sagemaker, capsys):
    """The run executes the deployed definition: its GitCommit is the one baked in at deploy time,
    not whatever is checked out where `start` runs."""
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    code, out, _ = run(capsys, "start", "training", "-p", "QualityThreshold=2.5", "-p", "MaxTuningJobs=4")
    assert code == 0 and "started" in out
    arn = next(line.split()[-1] for line in out.splitlines() if line.startswith("started"))
    params = {
        p["Name"]: p["Value"]
        for p in sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
            "PipelineParameters"
        ]
    }
    assert params["QualityThreshold"] == "2.5" and params["MaxTuningJobs"] == "4"
    assert "GitCommit" not in params


def test_commands_on_a_pipeline_that_is_not_deployed_fail_clearly(sagemaker, capsys):
    """The same situation, the same line and exit code in every command (it was 2 in diff, 4 in status)."""
    for argv in (
        ("start", "monitoring"),
        ("diff", "monitoring", "--definition-file", str(TINY)),
        ("status", "monitoring"),
    ):
        code, _, err = run(capsys, *argv)
        message, hint = one_line_error(err)
        assert code == ExitCode.NOT_FOUND
        assert message == f"pipeline {SETTINGS.monitoring_pipeline_name} is not deployed"
        assert "cdk deploy" in hint and "upsert" in hint


def test_unknown_pipeline_and_unreadable_definition(sagemaker, capsys, tmp_path):
    code, _, err = run(capsys, "upsert", "scoring", "--definition-file", str(TINY))
    assert code == 2 and "unknown pipeline 'scoring'" in err and "training" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"Version": "2020-12-01",')
    code, _, err = run(capsys, "upsert", "training", "--definition-file", str(broken))
    assert code == 3 and f"{broken}:1:" in err and "not valid JSON" in err


def test_missing_credentials_is_one_line_not_a_traceback(capsys, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run(capsys, "list")
    assert code == 4
    assert "no AWS credentials found" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def cli(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI exactly as a user runs it, in its own process, against a moto server."""
    env = {**os.environ, "MLOPS_AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_upsert_start_status_against_a_moto_server(moto_server):
    created = cli(moto_server, "upsert", "training", "--definition-file", str(TINY))
    assert created.returncode == 0, created.stderr
    assert f"created arn:aws:sagemaker:us-east-1:{SETTINGS.account}:pipeline/" in created.stdout

    started = cli(moto_server, "start", "training", "--param", "QualityThreshold=2.0")
    assert started.returncode == 0, started.stderr
    execution_arn = started.stdout.split()[1]
    assert "/execution/" in execution_arn

    status = cli(moto_server, "status", "training")
    assert status.returncode == 0, status.stderr
    assert execution_arn in status.stdout and "Succeeded" in status.stdout

    listed = cli(moto_server, "list", "training")
    assert listed.returncode == 0 and execution_arn.rsplit("/", 1)[-1] in listed.stdout


def test_upsert_refuses_an_invalid_definition_and_sends_nothing(sagemaker, capsys, tmp_path):
    """`upsert` of `{}` said "created" (issue 11, defect 9): it validates first, exit 3."""
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    code, _, err = run(capsys, "upsert", "training", "--definition-file", str(empty))
    assert code == 3 and "nothing was sent" in err
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []
