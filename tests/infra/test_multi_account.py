"""The multi-account topology synthesized: a stage stack per deployment account, and the build
account's resource policies naming exactly those accounts, each narrowed to one stage role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app_builder import ProjectStacks
from pipelines import settings as project_settings
from pipelines.settings import Settings, Stage
from tests.infra.conftest import statements

pytestmark = pytest.mark.slow  # one more synth of the whole app (~15 s)

STAGING = Stage("staging", "111111111111", "us-east-1")
PROD = Stage("prod", "222222222222", "us-east-1")


@dataclasses.dataclass(frozen=True)
class MultiAccount:
    settings: Settings
    stacks: ProjectStacks
    outdir: Path

    def template_path(self, stack: Any) -> Path:
        """Where a stack's template is: a stage's stacks are in its nested assembly."""
        return Path(cdk.Stage.of(stack).outdir) / stack.template_file

    def template(self, stack: Any) -> dict[str, Any]:
        return json.loads(self.template_path(stack).read_text())

    def resources(self, stack: Any, resource_type: str) -> list[dict[str, Any]]:
        found = self.template(stack)["Resources"].values()
        return [r["Properties"] for r in found if r["Type"] == resource_type]


@pytest.fixture(scope="module")
def multi_account(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    from infra.app_builder import create_app

    settings = dataclasses.replace(project_settings.load("dev"), stages=(STAGING, PROD))
    outdir = tmp_path_factory.mktemp("cdk.out.stages")
    app, stacks = create_app("dev", outdir=str(outdir), settings=settings)
    app.synth()
    return MultiAccount(settings, stacks, outdir)


def _principal_accounts(statement: dict[str, Any]) -> str:
    joined = statement["Principal"]["AWS"]["Fn::Join"][1][-1]
    return str(joined).removeprefix(":iam::").removesuffix(":root")


def test_one_stage_stack_per_stage_in_its_own_account(multi_account: MultiAccount) -> None:
    stages = multi_account.stacks.stages
    assert [(s.node.path, s.stack_name, s.account, s.region) for s in stages] == [
        ("Staging/Roles", "abalone-mlops-dev-staging", STAGING.account, STAGING.region),
        ("Prod/Roles", "abalone-mlops-dev-prod", PROD.account, PROD.region),
    ]
    roles = sorted(r["RoleName"] for r in multi_account.resources(stages[1], "AWS::IAM::Role"))
    assert roles == ["abalone-mlops-dev-prod-deploy-us-east-1", "abalone-mlops-dev-prod-model-us-east-1"]


def test_the_stage_deploy_role_trusts_only_the_build_accounts_deploy_function(
    multi_account: MultiAccount,
) -> None:
    settings = multi_account.settings
    roles = multi_account.resources(multi_account.stacks.stages[1], "AWS::IAM::Role")
    deploy = next(r for r in roles if r["RoleName"].endswith("-deploy-us-east-1"))
    (trust,) = statements(deploy["AssumeRolePolicyDocument"])
    assert _principal_accounts(trust) == settings.account
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": settings.role_arn("deploy-function")}}


@pytest.mark.parametrize(
    ("stack", "resource_type", "document", "sid"),
    [
        (
            "pipelines",
            "AWS::SageMaker::ModelPackageGroup",
            "ModelPackageGroupPolicy",
            "DescribesModelPackages",
        ),
        ("storage", "AWS::S3::BucketPolicy", "PolicyDocument", "ReadsModelArtifacts"),
        ("storage", "AWS::KMS::Key", "KeyPolicy", "DecryptsModelArtifacts"),
    ],
)
def test_each_shared_resource_names_each_stage_account_narrowed_to_one_role(
    multi_account: MultiAccount, stack: str, resource_type: str, document: str, sid: str
) -> None:
    settings = multi_account.settings
    found = [
        statement
        for properties in multi_account.resources(getattr(multi_account.stacks, stack), resource_type)
        for statement in statements(properties.get(document, {}))
        if statement.get("Sid", "").endswith(sid)
    ]
    role = "deploy" if sid == "DescribesModelPackages" else "model"
    assert [(s["Sid"], _principal_accounts(s), s["Condition"]["ArnEquals"]) for s in found] == [
        (
            f"{stage.name.title()}Account{sid}",
            stage.account,
            {"aws:PrincipalArn": settings.stage_role_arn(stage, role)},
        )
        for stage in (STAGING, PROD)
    ]


def test_the_build_deploy_function_may_assume_each_stage_deploy_role(multi_account: MultiAccount) -> None:
    settings = multi_account.settings
    assumed = [
        statement["Resource"]
        for policy in multi_account.resources(multi_account.stacks.serving, "AWS::IAM::Policy")
        for statement in statements(policy["PolicyDocument"])
        if statement["Action"] == "sts:AssumeRole"
    ]
    assert assumed == [[settings.stage_role_arn(stage, "deploy") for stage in (STAGING, PROD)]]


def test_an_approved_version_is_also_sent_to_the_first_stage(multi_account: MultiAccount) -> None:
    rule = next(
        r
        for r in multi_account.resources(multi_account.stacks.serving, "AWS::Events::Rule")
        if r["Name"] == f"{multi_account.settings.prefix}-package-approved"
    )
    transformers = [t["InputTransformer"] for t in rule["Targets"] if "InputTransformer" in t]
    assert [t["InputPathsMap"] for t in transformers] == [
        {"detail-ModelPackageArn": "$.detail.ModelPackageArn"}
    ]
    assert json.loads(transformers[0]["InputTemplate"].replace("<detail-ModelPackageArn>", '"ARN"')) == {
        "model_package_arn": "ARN",
        "stage": "staging",
    }
    assert len(rule["Targets"]) == 2  # the build endpoint's deployment, unchanged, and staging's


@pytest.mark.parametrize("concern", ["storage", "pipelines", "serving", "staging", "prod"])
def test_the_multi_account_templates_are_cfn_lint_clean(multi_account: MultiAccount, concern: str) -> None:
    stacks = multi_account.stacks
    stack = getattr(stacks, concern, None) or next(s for s in stacks.stages if s.stack_name.endswith(concern))
    matches = lint_file(multi_account.template_path(stack), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []
