"""`upsert` cannot silently break a pipeline: it validates, refuses another pipeline's definition
and a stack-managed pipeline, shows the change with --dry-run and asks before removing steps."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pipelines import settings as settings_module
from pipelines.cli.exit_codes import ExitCode
from pipelines.cli.upsert_command import STACK_NAME_TAG
from pipelines.definition.identity import stamped
from pipelines.settings import PIPELINE_ROLE
from tests.pipelines.cli_runner import one_line_error, run

TINY = json.loads((Path(__file__).parent / "fixtures" / "tiny-pipeline.json").read_text())
SETTINGS = settings_module.load("dev")
TRAINING = SETTINGS.training_pipeline_name
ROLE = SETTINGS.role_arn(PIPELINE_ROLE)


@pytest.fixture
def sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name=SETTINGS.region)


def write(path: Path, definition: dict) -> str:
    path.write_text(json.dumps(definition))
    return str(path)


def with_steps(*names: str) -> dict:
    steps = [{"Name": n, "Type": "Fail", "Arguments": {"ErrorMessage": n}} for n in names]
    return {**TINY, "Steps": steps}


def deployed(sagemaker, name: str = TRAINING) -> dict:
    return json.loads(sagemaker.describe_pipeline(PipelineName=name)["PipelineDefinition"])


def test_another_pipelines_definition_is_refused_whatever_its_file_is_called(sagemaker, capsys, tmp_path):
    """`upsert monitoring --definition-file <the training JSON>` said "created"; the synthesized
    definition names its pipeline (Metadata), so a renamed copy is refused too."""
    training_json = write(tmp_path / "renamed.json", stamped(TINY, TRAINING))
    code, _, err = run(capsys, "upsert", "monitoring", "--definition-file", training_json)
    message, hint = one_line_error(err)
    assert code == ExitCode.INVALID
    assert message == (
        f"{training_json} is the definition synthesized for {TRAINING}, not for "
        f"{SETTINGS.monitoring_pipeline_name}; nothing was sent"
    )
    assert f"upsert it as `{TRAINING}`" in hint
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_a_users_own_definition_uploads_under_the_name_given(sagemaker, capsys, tmp_path):
    """No synthesis mark: not one of the project's definitions, whatever the file name says."""
    own = write(tmp_path / f"{TRAINING}.json", TINY)
    code, out, _ = run(capsys, "upsert", "monitoring", "--definition-file", own)
    assert code == 0, out
    assert deployed(sagemaker, SETTINGS.monitoring_pipeline_name)["Steps"] == TINY["Steps"]


def test_a_bogus_step_type_is_refused_before_sending(sagemaker, capsys, tmp_path):
    run(capsys, "upsert", "training", "--definition-file", write(tmp_path / "a.json", with_steps("Gate")))
    bogus = with_steps("Gate")
    bogus["Steps"][0]["Type"] = "Bogus"
    code, _, err = run(capsys, "upsert", "training", "--definition-file", write(tmp_path / "b.json", bogus))
    assert code == ExitCode.INVALID and "nothing was sent" in err
    assert deployed(sagemaker) == with_steps("Gate")


def test_a_definition_sharing_no_step_with_the_deployed_one_needs_force(sagemaker, capsys, tmp_path):
    run(capsys, "upsert", "training", "--definition-file", write(tmp_path / "a.json", with_steps("Gate")))
    other = write(tmp_path / "other.json", with_steps("MonitorDataQuality"))
    code, _, err = run(capsys, "upsert", "training", "--definition-file", other, "--yes")
    message, hint = one_line_error(err)
    assert code == ExitCode.INVALID and "shares no step with the deployed" in message and "--force" in hint
    assert deployed(sagemaker) == with_steps("Gate")
    code, _, _ = run(capsys, "upsert", "training", "--definition-file", other, "--yes", "--force")
    assert code == 0 and deployed(sagemaker) == with_steps("MonitorDataQuality")


def test_dry_run_shows_the_change_and_sends_nothing(sagemaker, capsys, tmp_path):
    first = write(tmp_path / "a.json", with_steps("Gate", "Other"))
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", first, "--dry-run")
    assert code == 0 and f"would create {TRAINING} with 2 steps: Gate, Other" in out
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []

    run(capsys, "upsert", "training", "--definition-file", first)
    second = write(tmp_path / "b.json", with_steps("Gate", "Other", "Third"))
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", second, "--dry-run")
    assert code == 0 and f"would update {TRAINING}" in out and "+ step Third" in out
    assert '+      "Name": "Third",' in out  # the unified diff
    assert deployed(sagemaker) == with_steps("Gate", "Other")


def test_removing_steps_needs_a_confirmation(sagemaker, capsys, tmp_path):
    """A definition with 10 steps fewer was uploaded without a word."""
    run(
        capsys,
        "upsert",
        "training",
        "--definition-file",
        write(tmp_path / "a.json", with_steps("Gate", "Other")),
    )
    fewer = write(tmp_path / "b.json", with_steps("Gate"))
    code, _, err = run(capsys, "upsert", "training", "--definition-file", fewer)
    message, hint = one_line_error(err)
    assert code == ExitCode.DECLINED and "removes 1 steps" in message and "(Other)" in message
    assert "--yes" in hint
    assert deployed(sagemaker) == with_steps("Gate", "Other")
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", fewer, "--yes")
    assert code == 0 and "- step Other" in out and deployed(sagemaker) == with_steps("Gate")


def test_a_stack_managed_pipeline_is_refused_unless_forced(sagemaker, capsys, tmp_path):
    sagemaker.create_pipeline(
        PipelineName=TRAINING,
        PipelineDefinition=json.dumps(with_steps("Gate")),
        RoleArn=ROLE,
        Tags=[{"Key": STACK_NAME_TAG, "Value": "abalone-mlops-dev-pipelines"}],
    )
    changed = write(tmp_path / "b.json", with_steps("Gate", "New"))
    code, _, err = run(capsys, "upsert", "training", "--definition-file", changed)
    message, hint = one_line_error(err)
    assert code == ExitCode.USAGE and "managed by CloudFormation stack abalone-mlops-dev-pipelines" in message
    assert "cdk deploy" in hint and deployed(sagemaker) == with_steps("Gate")
    code, out, _ = run(capsys, "upsert", "training", "--definition-file", changed, "--force")
    assert code == 0 and "shows drift until the next `cdk deploy`" in out
    assert deployed(sagemaker) == with_steps("Gate", "New")
