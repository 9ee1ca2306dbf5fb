"""What the build account shares with the deployment stages' accounts, and nothing more.

A principal in another account is allowed only when BOTH the resource's policy (in the build
account) and the principal's identity policy (in its own account) allow the call ("Cross-account
policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
The resource policies here are the build account's half: each names a stage *account* (a role ARN
as ``Principal`` is refused while that role does not exist yet, and the stage stacks deploy after
the build account's) and narrows it with ``aws:PrincipalArn`` to the one stage role that needs it.
The identity half is :mod:`infra.stage`.

* the registry: the stage's deploy role reads the approved package (``DescribeModelPackage``);
* the artifacts bucket and its key: the stage's model role reads ``model.tar.gz`` (S3 decrypts it
  with the bucket's key as the caller, so the key policy must name the reader too);
* the capture bucket and the key: the stage endpoint (as its model role) writes its data capture
  under its own endpoint's prefix, so a stage's traffic is monitored in the build account.

Nothing is shared when every stage is in the build account (the default single-account setup).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from pipelines.settings import Settings, Stage
from processing_scripts import s3_uri


def _stage_grant(
    settings: Settings,
    stage: Stage,
    *,
    what: str,
    action: str,
    resource: str,
    role: str,
    conditions: dict[str, dict[str, str]] | None = None,
) -> iam.PolicyStatement:
    """One statement of this module's rule: the stage's *account* as principal, narrowed by
    ``aws:PrincipalArn`` to its one ``role`` (``deploy`` or ``model``) that needs ``action``."""
    return iam.PolicyStatement(
        sid=sid(stage, what),
        principals=[iam.AccountPrincipal(stage.account)],
        actions=[action],
        resources=[resource],
        conditions={
            "ArnEquals": {"aws:PrincipalArn": settings.stage_role_arn(stage, role)},
            **(conditions or {}),
        },
    )


def sid(stage: Stage, what: str) -> str:
    """A statement id naming the stage and what it grants (an AccessDenied test removes one by it)."""
    return f"{stage.name.title()}Account{what}"


def artifact_statements(settings: Settings) -> list[iam.PolicyStatement]:
    """The artifacts bucket's statements: each stage's model role reads the pipelines' outputs."""
    outputs = "/".join(s3_uri.split(settings.pipeline_artifacts_uri))
    resource = settings.arn("s3", f"{outputs}/*", regional=False, account=False)
    return [
        _stage_grant(
            settings,
            stage,
            what="ReadsModelArtifacts",
            action="s3:GetObject",
            resource=resource,
            role="model",
        )
        for stage in settings.cross_account_stages
    ]


def capture_objects(settings: Settings, stage: Stage) -> str:
    """The S3 ARN of a stage endpoint's capture: ``<capture uri>/<endpoint>/...``, as SageMaker
    writes it (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html)."""
    prefix = "/".join(s3_uri.split(settings.capture_uri))
    return settings.arn(
        "s3", f"{prefix}/{settings.stage_endpoint_name(stage)}/*", regional=False, account=False
    )


def capture_statements(settings: Settings) -> list[iam.PolicyStatement]:
    """The capture bucket's statements: each stage's endpoint writes its own endpoint's capture."""
    return [
        _stage_grant(
            settings,
            stage,
            what="WritesCapture",
            action="s3:PutObject",
            resource=capture_objects(settings, stage),
            role="model",
        )
        for stage in settings.cross_account_stages
    ]


def key_statements(settings: Settings) -> list[iam.PolicyStatement]:
    """The data key's statements: each stage's model role decrypts the artifact and encrypts its
    capture, through S3 only."""
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{settings.region}.amazonaws.com"}}
    return [
        # In a key policy "*" means this key.
        _stage_grant(settings, stage, what=what, action=action, resource="*", role="model", conditions=via_s3)
        for stage in settings.cross_account_stages
        for what, action in (
            ("DecryptsModelArtifacts", "kms:Decrypt"),
            ("EncryptsCapture", "kms:GenerateDataKey"),
        )
    ]


def registry_policy(settings: Settings) -> dict[str, object] | None:
    """The model package group's resource policy (``ModelPackageGroupPolicy``): each stage's deploy
    role describes the group's versions; None (no policy) without cross-account stages."""
    packages = settings.arn("sagemaker", f"model-package/{settings.model_package_group}/*")
    statements = [
        _stage_grant(
            settings,
            stage,
            what="DescribesModelPackages",
            action="sagemaker:DescribeModelPackage",
            resource=packages,
            role="deploy",
        )
        for stage in settings.cross_account_stages
    ]
    if not statements:
        return None
    document: dict[str, object] = iam.PolicyDocument(statements=statements).to_json()
    return document
