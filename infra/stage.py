"""A deployment stage's account: the roles that deploy and serve a model built in another account.

One stack per stage (``staging``, ``prod``), deployed into that stage's account and region. The
build account's deploy function assumes the stage's deploy role (trust: the build account, only
that function's role); the stage's model role is the endpoint's execution role. Their identity
policies are one half of each cross-account grant; the build account's resource policies
(:mod:`infra.cross_account`) are the other.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as cdk_iam
from constructs import Construct

from infra import iam
from infra.stage_events import StageEventsForwarder
from pipelines.settings import Settings, Stage


class StageStack(cdk.Stack):
    """The stage's deploy role and model role, and its endpoint's alarms forwarded to the build account."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, stage: Stage, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        deployer = cdk_iam.AccountPrincipal(settings.account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": settings.role_arn("deploy-function")}}
        )
        self.deploy_role = self._role(
            settings, stage, "deploy", deployer, iam.stage_deploy_role(settings, stage)
        )
        self.model_role = self._role(
            settings,
            stage,
            "model",
            cdk_iam.ServicePrincipal(iam.SAGEMAKER),
            iam.stage_model_role(settings, stage),
        )
        self.endpoint_events = StageEventsForwarder(self, "EndpointEvents", settings=settings, stage=stage)

    def _role(
        self,
        settings: Settings,
        stage: Stage,
        purpose: str,
        trusted: cdk_iam.IPrincipal,
        permissions: list[iam.Permission],
    ) -> cdk_iam.Role:
        role = cdk_iam.Role(
            self,
            f"{purpose.title()}Role",
            role_name=settings.stage_role_name(stage, purpose),
            assumed_by=trusted,
            description=f"{settings.prefix} {stage.name}: {purpose} (least privilege, see infra/iam.py)",
        )
        iam.grant(role, permissions)
        cdk.CfnOutput(self, f"{purpose.title()}RoleArn", value=role.role_arn)
        return role
