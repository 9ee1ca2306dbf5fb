"""Remove one grant the loop needs from the synthesized templates: the run fails where AWS would,
with AccessDenied naming the principal, the action and the resource.

Each test edits a copy of the test run's ``cdk.out`` (what ``--cdk-out`` runs on), so the
evaluator is exercised on exactly the policies the CDK app writes, minus one action.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localcloud import LocalCloud
from localcloud.cloud import assembled
from localcloud.iam import CALLS_FILE
from pipelines import settings as settings_module
from pipelines.settings import JOB_ROLE

SETTINGS = settings_module.load("dev")


def without_grant(cdk_out: Path, to: Path, role_name: str, action: str, resource_part: str = "") -> Path:
    """A copy of ``cdk_out`` in which no policy of role ``role_name`` grants ``action`` on a resource
    containing ``resource_part``; fails if no statement granted it (the test would prove nothing)."""
    shutil.copytree(cdk_out, to)
    removed = 0
    for path in to.glob("*.template.json"):
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        roles = {
            lid
            for lid, r in resources.items()
            if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == role_name
        }
        for resource in resources.values():
            attached = {
                ref.get("Ref")
                for ref in resource.get("Properties", {}).get("Roles", [])
                if isinstance(ref, dict)
            }
            if resource["Type"] != "AWS::IAM::Policy" or not attached & roles:
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                targets = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                if action in actions and any(resource_part in json.dumps(t) for t in targets):
                    statement["Action"] = [a for a in actions if a != action] or [
                        "sagemaker:DescribeEndpoint"
                    ]
                    removed += 1
        path.write_text(json.dumps(template))
    assert removed, f"no statement of {role_name} grants {action} on *{resource_part}*"
    return to


def _run_training(cdk_out: Path, runs: Path):
    synthesized = assembled(SETTINGS, cdk_out)
    with LocalCloud(
        SETTINGS, synthesized.definitions, cdk_out=cdk_out, runs_dir=runs, use_cache=False
    ) as cloud:
        return cloud.run(SETTINGS.training_pipeline_name)


def _denied(runs: Path) -> list[dict]:
    return [row for row in json.loads((runs / CALLS_FILE).read_text())["calls"] if not row["allowed"]]


@pytest.mark.slow
def test_without_create_endpoint_on_its_config_the_deploy_step_is_denied(
    deployed_artifacts, tmp_path
) -> None:
    """The grant infra/iam.py was missing before the local cloud checked IAM."""
    cdk_out = without_grant(
        deployed_artifacts.cdk_out,
        tmp_path / "cdk.out",
        SETTINGS.role_name("deploy-function"),
        "sagemaker:CreateEndpoint",
        "endpoint-config/",
    )
    record = _run_training(cdk_out, tmp_path / "runs")
    assert not record.succeeded
    assert [name for name, step in record.steps.items() if step.status == "Failed"] == ["Deploy"]
    reason = record.steps["Deploy"].failure_reason or ""
    assert "assumed-role/abalone-mlops-dev-deploy-function-us-east-1/abalone-mlops-dev-deploy" in reason
    assert "not authorized to perform: sagemaker:CreateEndpoint on resource: arn:aws:sagemaker:" in reason
    assert ":endpoint-config/abalone-mlops-dev-endpoint-v1-" in reason
    assert {(row["principal"], row["action"]) for row in _denied(tmp_path / "runs")} == {
        (SETTINGS.role_arn("deploy-function"), "sagemaker:CreateEndpoint")
    }


@pytest.mark.slow
def test_without_writing_the_artifacts_bucket_the_first_job_fails_on_its_output(
    deployed_artifacts, tmp_path
) -> None:
    cdk_out = without_grant(
        deployed_artifacts.cdk_out,
        tmp_path / "cdk.out",
        SETTINGS.role_name(JOB_ROLE),
        "s3:PutObject",
        SETTINGS.bucket_name("artifacts"),
    )
    record = _run_training(cdk_out, tmp_path / "runs")
    first = next(iter(record.steps.values()))
    assert first.status == "Failed"
    assert "AccessDenied" in (first.failure_reason or "")
    assert "s3:PutObject on resource: arn:aws:s3:::" + SETTINGS.bucket_name("artifacts") in (
        first.failure_reason or ""
    )


@pytest.mark.slow
def test_without_the_key_the_job_cannot_read_the_encrypted_bucket(deployed_artifacts, tmp_path) -> None:
    """S3 decrypts an SSE-KMS object as the caller: the job role needs kms:Decrypt on the bucket key."""
    cdk_out = without_grant(
        deployed_artifacts.cdk_out,
        tmp_path / "cdk.out",
        SETTINGS.role_name(JOB_ROLE),
        "kms:Decrypt",
    )
    record = _run_training(cdk_out, tmp_path / "runs")
    first = next(iter(record.steps.values()))
    assert first.status == "Failed"
    # S3 answers a denied HEAD with a bare 403; the record still names the grant that is missing
    assert "HeadObject failed: 403" in (first.failure_reason or "")
    assert f"(IAM denied: {SETTINGS.role_arn(JOB_ROLE)} may not kms:Decrypt on arn:aws:kms:" in (
        first.failure_reason or ""
    )


def test_without_start_pipeline_execution_the_scheduled_rule_is_denied(deployed_artifacts, tmp_path) -> None:
    cdk_out = without_grant(
        deployed_artifacts.cdk_out,
        tmp_path / "cdk.out",
        SETTINGS.role_name("events"),
        "sagemaker:StartPipelineExecution",
    )
    synthesized = assembled(SETTINGS, cdk_out)
    started: list[object] = []
    with LocalCloud(SETTINGS, synthesized.definitions, cdk_out=cdk_out, runs_dir=tmp_path / "runs") as cloud:
        router = cloud.event_router(start_pipeline=started.append)
        monitoring = SETTINGS.pipeline_arn(SETTINGS.monitoring_pipeline_name)
        (delivery,) = router.fire_schedules(monitoring, datetime(2026, 12, 1, tzinfo=UTC))
    assert started == []
    assert delivery.kind == "failed"
    assert f"assumed-role/{SETTINGS.role_name('events')}/" in (delivery.error or "")
    assert f"sagemaker:StartPipelineExecution on resource: {monitoring}" in (delivery.error or "")
