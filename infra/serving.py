"""Serving: the deploy function and the events that call it.

The training pipeline's Deploy step invokes the function directly (by its ARN from settings). The
rules here make everything else deploy the same way: a model package approved in the registry (a
manual approval in prod; with deployment stages it also deploys to the first stage's account), and
the endpoint reaching InService, when the function attaches auto scaling. Patterns filter on our group and endpoint; the handler re-checks both.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import iam
from infra.functions import ProjectFunction
from infra.lambdas.deploy import APPROVED, ENDPOINT_EVENT, PACKAGE_EVENT, STAGE_FIELD
from pipelines.settings import ASYNC, ASYNC_OUTCOMES, Settings

DEPLOY_TIMEOUT = cdk.Duration.minutes(2)


def package_approved_pattern(settings: Settings) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[PACKAGE_EVENT],
        detail={"ModelPackageGroupName": [settings.model_package_group], "ModelApprovalStatus": [APPROVED]},
    )


def endpoint_in_service_pattern(settings: Settings) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[ENDPOINT_EVENT],
        detail={"EndpointName": [settings.endpoint_name], "EndpointStatus": ["IN_SERVICE"]},
    )


class ServingStack(cdk.Stack):
    """The deploy function (shared with the pipeline's Deploy step) and its two rules; in the async
    serving mode also the endpoint's success and error topics."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, key_arn: str, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.deploy = ProjectFunction(
            self,
            "Deploy",
            settings=settings,
            purpose="deploy",
            permissions=iam.deploy_function(settings, key_arn),
            timeout=DEPLOY_TIMEOUT,
            reserved_concurrency=1,  # one deployment at a time; the handler is race-safe regardless
        )
        events.Rule(
            self,
            "PackageApproved",
            rule_name=f"{settings.prefix}-package-approved",
            description="An approved model package in our group deploys to the endpoint",
            event_pattern=package_approved_pattern(settings),
            targets=[self.deploy.target(), *self._first_stage_target(settings)],
        )
        events.Rule(
            self,
            "EndpointInService",
            rule_name=f"{settings.prefix}-endpoint-in-service",
            description="Attach auto scaling once the endpoint is InService",
            event_pattern=endpoint_in_service_pattern(settings),
            targets=[self.deploy.target()],
        )
        self.async_topics = async_topics(self, settings, key_arn) if settings.serving.mode == ASYNC else {}
        cdk.CfnOutput(self, "DeployFunctionName", value=self.deploy.function.function_name)

    def _first_stage_target(self, settings: Settings) -> list[targets.LambdaFunction]:
        """With deployment stages, an approved version also deploys to the first stage (staging):
        the same function, sent ``{"model_package_arn", "stage"}`` (docs/multi-account.md). Later
        stages wait for their recorded approval and are deployed by ``pipelines promote``."""
        if not settings.stages:
            return []
        event = events.RuleTargetInput.from_object(
            {
                "model_package_arn": events.EventField.from_path("$.detail.ModelPackageArn"),
                STAGE_FIELD: settings.stages[0].name,
            }
        )
        return [self.deploy.target(event)]


def async_topics(scope: Construct, settings: Settings, key_arn: str) -> dict[str, sns.Topic]:
    """The topics an async endpoint notifies each answered (``success``) or failed (``error``)
    request on; subscribe the application that waits for the answers. Encrypted with the project
    key, which the model role (the publisher) may already use."""
    key = kms.Key.from_key_arn(scope, "AsyncTopicKey", key_arn)
    return {
        outcome: sns.Topic(
            scope,
            f"Async{outcome.title()}",
            topic_name=settings.async_topic_name(outcome),
            display_name=f"{settings.project} ({settings.env}) async inference {outcome}",
            master_key=key,
            enforce_ssl=True,
        )
        for outcome in ASYNC_OUTCOMES
    }
