"""The GitHub Actions roles: OIDC trust narrowed to the repository's environments and pull requests."""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app_builder import add_ci_access
from infra.nag import add_checks
from pipelines import settings as project_settings
from tests.infra.conftest import as_list, statements

SETTINGS = dataclasses.replace(project_settings.load("dev"), github_repository="example-org/abalone-mlops")


@pytest.fixture(scope="module")
def template() -> Template:
    app = cdk.App()
    stack = add_ci_access(app, SETTINGS)
    add_checks(app)  # cdk-nag: an unacknowledged finding fails from_stack
    return Template.from_stack(stack)


def _trust(template: Template, purpose: str) -> dict:
    roles = template.find_resources("AWS::IAM::Role").values()
    (role,) = [r for r in roles if f"-github-{purpose}-" in r["Properties"]["RoleName"]]
    (trust,) = statements(role["Properties"]["AssumeRolePolicyDocument"])
    return trust


def test_deploy_is_trusted_for_the_repositorys_environments_only(template: Template) -> None:
    trust = _trust(template, "deploy")
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [
            "repo:example-org/abalone-mlops:environment:dev",
            "repo:example-org/abalone-mlops:environment:prod",
        ],
    }


def test_diff_is_trusted_for_pull_requests_and_may_only_look_up(template: Template) -> None:
    assert _trust(template, "diff")["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"
    ] == ["repo:example-org/abalone-mlops:pull_request"]
    policies = template.find_resources("AWS::IAM::Policy").values()
    diff = [p for p in policies if any("Diff" in r["Ref"] for r in p["Properties"]["Roles"])]
    granted = [s for p in diff for s in statements(p["Properties"]["PolicyDocument"])]
    assert granted == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-us-east-1",
        }
    ]


def test_the_deploy_role_cannot_change_iam_beyond_passing_the_pipeline_role(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy").values()
    actions = {
        a
        for p in policies
        for s in statements(p["Properties"]["PolicyDocument"])
        for a in as_list(s["Action"])
    }
    assert {a for a in actions if a.startswith("iam:")} == {"iam:PassRole"}


def test_the_stack_needs_the_repository() -> None:
    with pytest.raises(project_settings.SettingsError, match="MLOPS_GITHUB_REPOSITORY"):
        add_ci_access(cdk.App(), project_settings.load("dev"))


def test_each_stage_account_gets_its_own_github_roles_for_its_environment_only() -> None:
    stages = (
        project_settings.Stage("staging", "111111111111", "us-east-1"),
        project_settings.Stage("prod", "222222222222", "eu-west-1"),
    )
    app = cdk.App()
    add_ci_access(app, dataclasses.replace(SETTINGS, stages=stages))
    add_checks(app)
    for stage in stages:
        stack = app.node.find_child(f"CiAccess{stage.name.title()}")
        assert isinstance(stack, cdk.Stack)
        assert (stack.account, stack.region) == (stage.account, stage.region)
        template = Template.from_stack(stack)
        assert _trust(template, "deploy")["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ] == [f"repo:example-org/abalone-mlops:environment:{stage.name}"]
        granted = [
            s
            for p in template.find_resources("AWS::IAM::Policy").values()
            for s in statements(p["Properties"]["PolicyDocument"])
        ]
        assumed = sorted(r for s in granted for r in as_list(s["Resource"]))
        assert {s["Action"] for s in granted} == {"sts:AssumeRole"}
        assert assumed == sorted(
            f"arn:aws:iam::{stage.account}:role/cdk-hnb659fds-{kind}-role-{stage.account}-{stage.region}"
            for kind in ("deploy", "file-publishing", "lookup", "lookup")
        )


def test_without_stages_there_is_no_promote_role(template: Template) -> None:
    roles = [r["Properties"]["RoleName"] for r in template.find_resources("AWS::IAM::Role").values()]
    assert [name for name in roles if "-github-promote-" in name] == []


def test_the_promote_role_is_trusted_for_the_prod_environment_and_may_only_record_and_invoke() -> None:
    stages = (
        project_settings.Stage("staging", "111111111111", "us-east-1"),
        project_settings.Stage("prod", "222222222222", "us-east-1"),
    )
    settings = dataclasses.replace(SETTINGS, stages=stages)
    app = cdk.App()
    template = Template.from_stack(add_ci_access(app, settings))
    add_checks(app)
    assert _trust(template, "promote")["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"
    ] == ["repo:example-org/abalone-mlops:environment:prod"]
    policies = template.find_resources("AWS::IAM::Policy").values()
    promote = [p for p in policies if any("Promote" in r["Ref"] for r in p["Properties"]["Roles"])]
    granted = {
        action: as_list(s["Resource"])
        for p in promote
        for s in statements(p["Properties"]["PolicyDocument"])
        for action in as_list(s["Action"])
    }
    packages = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{settings.model_package_group}/*"
    assert granted == {
        "sagemaker:ListModelPackages": ["*"],
        "sagemaker:DescribeModelPackage": [packages],
        "sagemaker:UpdateModelPackage": [packages],
        "lambda:InvokeFunction": [settings.function_arn("deploy")],
    }
