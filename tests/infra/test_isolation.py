"""settings.isolation on: the key, the VPC and network isolation reach the templates and the grants."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.lambda_environment import environment_for
from infra.lambdas.deploy import DeployConfig
from pipelines.settings import IsolationConfig
from tests.infra.conftest import CONCERNS, Synthesized, as_list, statements
from tests.infra.test_service_authorization import authorization_problems

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ISOLATED = IsolationConfig(
    kms_key_arn=KEY,
    subnet_ids=("subnet-0a1b2c3d",),
    security_group_ids=("sg-0a1b2c3d",),
    network_isolation=True,
    inter_container_encryption=True,
)


@pytest.fixture(scope="module")
def isolated(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """One extra synth with isolation and the Model Monitor schedule on (cdk-nag runs in it)."""
    from infra.app_builder import create_app
    from pipelines.synth import render_pipelines

    base = synthesized.settings
    settings = dataclasses.replace(
        base,
        isolation=ISOLATED,
        monitoring=dataclasses.replace(base.monitoring, model_monitor_schedule_enabled=True),
    )
    outdir = tmp_path_factory.mktemp("cdk.out.isolated")
    definitions = render_pipelines(settings)
    app, stacks = create_app(outdir=str(outdir), definitions=definitions, settings=settings)
    assembly = app.synth()
    templates = {
        concern: assembly.get_stack_by_name(getattr(stacks, concern).stack_name).template
        for concern in CONCERNS
    }
    return Synthesized(settings, stacks, Path(outdir), templates, definitions)


def _granted(synth: Synthesized, concern: str, role: str) -> list[dict]:
    return [
        statement
        for logical_id, policy in synth.resources(concern, "AWS::IAM::Policy").items()
        if logical_id.startswith(role)
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def _actions_on(found: list[dict], resource: str) -> set[str]:
    return {a for s in found if resource in as_list(s["Resource"]) for a in as_list(s["Action"])}


def test_the_deploy_function_creates_the_endpoint_inside_the_boundaries(isolated: Synthesized) -> None:
    (function,) = [
        f
        for f in isolated.resources("serving", "AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == isolated.settings.function_name("deploy")
    ]
    config = DeployConfig.from_env(function["Properties"]["Environment"]["Variables"])
    assert function["Properties"]["Environment"]["Variables"] == environment_for(isolated.settings, "deploy")
    assert (config.kms_key_arn, config.subnet_ids, config.security_group_ids, config.network_isolation) == (
        KEY,
        ("subnet-0a1b2c3d",),
        ("sg-0a1b2c3d",),
        True,
    )


def test_callers_may_grant_the_key_to_sagemaker_and_runners_may_use_it_and_the_vpc(
    isolated: Synthesized,
) -> None:
    for concern, role in (("pipelines", "PipelineRole"), ("serving", "DeployDeployFunctionRole")):
        found = _granted(isolated, concern, role)
        (grant,) = [s for s in found if s["Action"] == "kms:CreateGrant"]
        assert grant["Resource"] == KEY and grant["Condition"] == {
            "Bool": {"kms:GrantIsForAWSResource": "true"}
        }
    for role in ("JobRole", "ModelRole"):
        found = _granted(isolated, "pipelines", role)
        assert {"kms:Decrypt", "kms:GenerateDataKey"} <= _actions_on(found, KEY)
        assert "ec2:CreateNetworkInterface" in {a for s in found for a in as_list(s["Action"])}


def test_the_model_monitor_job_runs_in_the_vpc(isolated: Synthesized) -> None:
    (job,) = isolated.resources("monitoring", "AWS::SageMaker::DataQualityJobDefinition").values()
    assert job["Properties"]["NetworkConfig"]["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0a1b2c3d"],
        "Subnets": ["subnet-0a1b2c3d"],
    }


def test_every_added_grant_names_the_resource_types_aws_authorizes_against(isolated: Synthesized) -> None:
    assert authorization_problems(isolated) == []
