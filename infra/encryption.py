"""Customer-managed KMS keys with rotation and a key policy written out action by action.

CDK's default key policy gives the account ``kms:*``; this one lists the administration and usage
actions instead (same effect for IAM delegation, but no wildcard action anywhere in the project).
AWS services that write into encrypted resources on the project's behalf (CloudWatch alarms and
EventBridge publishing to the SNS topic) are named explicitly: CloudWatch limited to this account,
EventBridge without that condition (see :data:`infra.notifications.RULE_PUBLISHERS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from pipelines.settings import Settings

ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo")
SERVICE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def project_key(
    scope: Construct,
    construct_id: str,
    settings: Settings,
    purpose: str,
    services: Sequence[str] = (),
    *,
    services_without_source_account: Sequence[str] = (),
) -> kms.Key:
    """A rotating key aliased ``alias/<prefix>-<purpose>``; ``services`` may encrypt/decrypt with it
    when the request's ``aws:SourceAccount`` is ours, ``services_without_source_account`` always
    (for services whose requests to KMS do not carry it; the resource they write to must then be
    guarded by its own policy)."""
    account = iam.AccountRootPrincipal()
    statements = [
        iam.PolicyStatement(
            sid="AccountAdministersKeyThroughIam",
            principals=[account],
            actions=sorted({*ADMIN_ACTIONS, *USE_ACTIONS}),
            resources=["*"],  # in a key policy "*" means this key
        )
    ]
    if services:
        statements.append(
            iam.PolicyStatement(
                sid="ServicesPublishEncrypted",
                principals=[iam.ServicePrincipal(service) for service in services],
                actions=list(SERVICE_ACTIONS),
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": settings.account}},
            )
        )
    if services_without_source_account:
        statements.append(
            iam.PolicyStatement(
                sid="ServicesPublishEncryptedThroughResourcePolicy",
                principals=[iam.ServicePrincipal(service) for service in services_without_source_account],
                actions=list(SERVICE_ACTIONS),
                resources=["*"],
            )
        )
    return kms.Key(
        scope,
        construct_id,
        alias=settings.key_alias(purpose),
        description=f"{settings.prefix}: {purpose}",
        enable_key_rotation=True,
        policy=iam.PolicyDocument(statements=statements),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
