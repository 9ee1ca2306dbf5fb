"""The GitHub Actions roles, as code: OIDC federation, no stored keys (``.github/workflows/ci.yml``).

Deployed once per account by an administrator, before CI can do anything:
``npx cdk deploy CiAccess -c ci-access=true`` (with ``MLOPS_GITHUB_REPOSITORY=owner/name``); the
role ARNs it outputs become the repository variables ``AWS_DEPLOY_ROLE_ARN`` and
``AWS_DIFF_ROLE_ARN``. It is not part of ``cdk deploy --all`` (the roles must never update
themselves), so the app includes it only with that context flag.

* **Deploy role**: trusted only for workflow runs in the repository's GitHub environments ``dev``
  and ``prod`` (the ``sub`` claim ``repo:<owner/name>:environment:<env>``); the prod environment's
  protection rules (Settings > Environments: deployment branches = main) and the workflow's own
  condition keep prod deploys to main. It may assume the CDK bootstrap roles (which do the
  CloudFormation work), push the processing image, upsert the pipelines and seed the raw data.
* **Diff role**: trusted for pull requests of the repository; it may assume the CDK bootstrap
  lookup role (read-only) and nothing else.
* **Promote role** (only with deployment stages): trusted only for the GitHub environment of the
  last stage (``prod``), whose required reviewers are the manual approval of a model version for
  it (``.github/workflows/promote.yml``); it may record that approval in the registry and invoke
  the deploy function (:func:`infra.iam.stage_promoter`), nothing else.

With deployment stages (docs/multi-account.md) each stage account gets its own pair
(:class:`StageCiAccessStack`, deployed into that account the same way): its deploy role is trusted
only for the GitHub environment named after the stage (``staging``, ``prod``: protection rules gate
it) and may assume that account's CDK bootstrap roles, nothing else (the stage stack holds roles
only; the image, pipelines and data stay in the build account); its diff role may only look up.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.iam import Permission, grant, s3_arn, stage_promoter
from pipelines.model_code import model_code_key_pattern
from pipelines.settings import ENVIRONMENTS, PIPELINE_ROLE, Settings, Stage
from processing_scripts import s3_uri

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's documented audience for configure-aws-credentials.
AUDIENCE = "sts.amazonaws.com"
# The CDK bootstrap's default qualifier (cdk bootstrap --qualifier changes it).
BOOTSTRAP_QUALIFIER = "hnb659fds"
CONTEXT_FLAG = "ci-access"


class CiAccessStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        repository = settings.github_repository
        provider = _github_roles(
            self,
            settings,
            [f"repo:{repository}:environment:{env}" for env in ENVIRONMENTS],
            _deploy_permissions(settings),
            _assume_bootstrap(settings, settings.account, settings.region, "lookup"),
        )
        if settings.stages:
            last = settings.stages[-1]
            promote = _role(
                self,
                "Promote",
                provider=provider,
                settings=settings,
                subjects=[f"repo:{repository}:environment:{last.name}"],
                permissions=stage_promoter(settings),
            )
            cdk.CfnOutput(self, "PromoteRoleArn", value=promote.role_arn)


class StageCiAccessStack(cdk.Stack):
    """The GitHub Actions roles of one deployment stage's account."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, stage: Stage, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        _github_roles(
            self,
            settings,
            [f"repo:{settings.github_repository}:environment:{stage.name}"],
            [_assume_bootstrap(settings, stage.account, stage.region, "deploy", "file-publishing", "lookup")],
            _assume_bootstrap(settings, stage.account, stage.region, "lookup"),
        )


def _github_roles(
    scope: cdk.Stack,
    settings: Settings,
    deploy_subjects: list[str],
    deploy_permissions: list[Permission],
    lookup: Permission,
) -> iam.CfnOIDCProvider:
    """The account's GitHub OIDC provider, its deploy role (for ``deploy_subjects``) and its diff role
    (for the repository's pull requests, ``lookup`` only), with their ARNs as outputs; the provider,
    for more roles."""
    provider = iam.CfnOIDCProvider(
        scope, "GitHubOidc", url=f"https://{GITHUB_OIDC_HOST}", client_id_list=[AUDIENCE]
    )
    deploy = _role(
        scope,
        "Deploy",
        provider=provider,
        settings=settings,
        subjects=deploy_subjects,
        permissions=deploy_permissions,
    )
    diff = _role(
        scope,
        "Diff",
        provider=provider,
        settings=settings,
        subjects=[f"repo:{settings.github_repository}:pull_request"],
        permissions=[lookup],
    )
    cdk.CfnOutput(scope, "DeployRoleArn", value=deploy.role_arn)
    cdk.CfnOutput(scope, "DiffRoleArn", value=diff.role_arn)
    return provider


def _role(
    scope: cdk.Stack,
    purpose: str,
    *,
    provider: iam.CfnOIDCProvider,
    settings: Settings,
    subjects: list[str],
    permissions: list[Permission],
) -> iam.Role:
    role = iam.Role(
        scope,
        f"{purpose}Role",
        role_name=f"{settings.project}-github-{purpose.lower()}-{scope.region}",
        description=f"{settings.project}: GitHub Actions {purpose.lower()} (infra/ci_access.py)",
        max_session_duration=cdk.Duration.hours(1),
        assumed_by=iam.FederatedPrincipal(
            provider.attr_arn,
            conditions={
                "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": subjects}
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        ),
    )
    grant(role, permissions)
    return role


def _assume_bootstrap(settings: Settings, account: str, region: str, *kinds: str) -> Permission:
    """Assume the CDK bootstrap roles (``kinds``) of ``account`` in ``region``."""
    return Permission(
        ("sts:AssumeRole",),
        tuple(
            f"arn:{settings.partition}:iam::{account}:role/cdk-{BOOTSTRAP_QUALIFIER}-{kind}-role-{account}-{region}"
            for kind in kinds
        ),
    )


def _deploy_permissions(settings: Settings) -> list[Permission]:
    """For every environment of the account: CDK, the image, the pipelines, the seed data."""
    environments = [
        Settings(env=env, account=settings.account, region=settings.region, project=settings.project)
        for env in ENVIRONMENTS
    ]
    raw_objects = tuple(s3_arn(s, "/".join(s3_uri.split(s.raw_data_uri))) for s in environments)
    return [
        _assume_bootstrap(
            settings,
            settings.account,
            settings.region,
            "deploy",
            "file-publishing",
            "image-publishing",
            "lookup",
        ),
        Permission(
            (
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ),
            tuple(settings.arn("ecr", f"repository/{s.ecr_repository}") for s in environments),
        ),
        Permission(
            ("ecr:GetAuthorizationToken",),
            ("*",),
            wildcard_reason="ecr:GetAuthorizationToken supports no resource-level permissions",
        ),
        Permission(
            (
                "sagemaker:CreatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:AddTags",
            ),
            tuple(s.pipeline_arn(name) for s in environments for name in s.pipeline_names),
        ),
        Permission(
            ("iam:PassRole",),
            tuple(s.role_arn(PIPELINE_ROLE) for s in environments),
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        Permission(("s3:GetObject", "s3:PutObject"), raw_objects),
        Permission(
            ("kms:GenerateDataKey", "kms:Decrypt"),
            (settings.arn("kms", "key/*"),),
            wildcard_reason="the data key's ID is assigned at creation; limited to use through S3",
            conditions={"StringLike": {"kms:ViaService": f"s3.{settings.region}.amazonaws.com"}},
        ),
        *_model_code_permissions(settings, environments),
    ]


def _model_code_permissions(settings: Settings, environments: list[Settings]) -> list[Permission]:
    """seed-data also publishes a script-mode model's code (:mod:`pipelines.model_code`), under a
    key that is its content digest; nothing to publish for the built-in XGBoost."""
    if settings.training.script is None:
        return []
    return [
        Permission(
            ("s3:GetObject", "s3:PutObject"),
            tuple(s3_arn(s, model_code_key_pattern(s)) for s in environments),
            wildcard_reason="the model code archive's name is its content digest, known only at synthesis",
        )
    ]
