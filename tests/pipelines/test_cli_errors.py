"""Each user-facing mistake from issue 17 gives one line, a hint that fits the mistake, and the
documented exit code (docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipelines import settings as settings_module
from pipelines.cli.context import describe_aws_error
from pipelines.cli.exit_codes import ExitCode
from tests.pipelines.cli_runner import one_line_error, run

TINY = Path(__file__).parent / "fixtures" / "tiny-pipeline.json"
SETTINGS = settings_module.load("dev")


@pytest.fixture
def sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name=SETTINGS.region)


@pytest.mark.parametrize("argv", [("--region", "eu-west-9", "synth"), ("synth", "--region", "eu-west-9")])
def test_an_unknown_region_is_refused_before_synthesis(capsys, argv):
    """It was a 40-line SDK traceback, exit 1."""
    code, _, err = run(capsys, *argv)
    message, hint = one_line_error(err)
    assert code == ExitCode.USAGE
    assert message == "unknown AWS region 'eu-west-9' (from --region)" and "eu-west-1" in hint


def test_an_unknown_region_from_the_environment_names_the_variable(capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "mars-north-1")
    monkeypatch.delenv("AWS_REGION")
    code, _, err = run(capsys, "list")
    assert code == ExitCode.USAGE and "(from AWS_DEFAULT_REGION)" in one_line_error(err)[0]


@pytest.mark.parametrize(
    ("variables", "region"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}, "eu-central-1"),
        ({"MLOPS_REGION": "us-west-2", "AWS_REGION": "eu-central-1"}, "us-west-2"),
    ],
)
def test_upsert_goes_to_the_region_of_the_environment(capsys, monkeypatch, variables, region):
    """`AWS_DEFAULT_REGION=eu-west-1 upsert` created the pipeline in us-east-1."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        code, out, err = run(capsys, "upsert", "training", "--definition-file", str(TINY))
        assert code == 0, err
        assert f"created arn:aws:sagemaker:{region}:" in out
        there = boto3.client("sagemaker", region_name=region).list_pipelines()["PipelineSummaries"]
        assert [p["PipelineName"] for p in there] == [SETTINGS.training_pipeline_name]


def test_region_flag_wins_over_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("MLOPS_REGION", "us-west-2")
    with mock_aws():
        code, out, _ = run(
            capsys, "upsert", "training", "--definition-file", str(TINY), "--region", "eu-west-1"
        )
    assert code == 0 and "created arn:aws:sagemaker:eu-west-1:" in out


def test_status_of_an_execution_that_does_not_exist(sagemaker, capsys):
    """It printed the emulator's HTML error page."""
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    code, _, err = run(capsys, "status", "training", "--execution", "nosuch")
    message, hint = one_line_error(err)
    assert code == ExitCode.NOT_FOUND
    assert message == f"{SETTINGS.training_pipeline_name} has no execution 'nosuch'" and "list" in hint


def test_status_takes_an_execution_id_or_its_arn(sagemaker, capsys):
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    arn = sagemaker.start_pipeline_execution(PipelineName=SETTINGS.training_pipeline_name)[
        "PipelineExecutionArn"
    ]
    for execution in (arn.rsplit("/", 1)[-1], arn):
        code, out, err = run(capsys, "status", "training", "--execution", execution)
        assert code == 0, err
        assert arn in out


def test_no_executions_yet(sagemaker, capsys):
    run(capsys, "upsert", "training", "--definition-file", str(TINY))
    code, _, err = run(capsys, "status", "training")
    message, hint = one_line_error(err)
    assert code == ExitCode.NOT_FOUND and "has no executions yet" in message and "start" in hint


def test_an_endpoint_url_without_keys_asks_for_dummy_keys(capsys, monkeypatch):
    """The hint said to set --endpoint-url, which was set."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run(capsys, "--endpoint-url", "http://127.0.0.1:1", "list")
    message, hint = one_line_error(err)
    assert code == ExitCode.AWS
    assert message == "no AWS credentials for http://127.0.0.1:1"
    assert "AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x" in hint and "--endpoint-url" not in hint


def test_an_html_error_page_never_reaches_the_terminal():
    """moto's server answers an action it lacks with a Flask HTML page (HTTP 500)."""
    page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>"
    err = ClientError(
        {"Error": {"Code": "500", "Message": page}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "DescribePipelineExecution",
    )
    message, hint = describe_aws_error(err, "http://127.0.0.1:5000") or ("", "")
    assert "<" not in message and "\n" not in message
    assert message.startswith("DescribePipelineExecution failed") and "may not implement" in hint


def test_a_missing_definition_file_is_not_found_in_every_command(capsys, tmp_path):
    """A missing file was exit 3 in validate and 2 in run-local."""
    missing = str(tmp_path / "nope.json")
    for argv in (
        ("validate", missing),
        ("upsert", "training", "--definition-file", missing),
        ("diff", "training", "--definition-file", missing),
        ("run-local", missing),
    ):
        code, out, err = run(capsys, *argv)
        assert code == ExitCode.NOT_FOUND, argv
        assert f"cannot read {missing}" in out + err


def test_the_aws_profiles_region_counts_when_no_variable_names_one(capsys, monkeypatch, tmp_path):
    """`cdk deploy` deploys to the profile's region; the CLI must not use us-east-1 meanwhile."""
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with mock_aws():
        code, out, err = run(capsys, "upsert", "training", "--definition-file", str(TINY))
    assert code == 0, err
    assert "created arn:aws:sagemaker:eu-north-1:" in out
