"""What a stage's endpoint says about itself, carried from the stage account to the build account.

SageMaker publishes an endpoint's ``AWS/SageMaker`` invocation metrics and its "SageMaker Endpoint
State Change" events in the account that hosts the endpoint, so a stage endpoint's health is only
visible in its stage's account. Each stage therefore has its endpoint's health alarms (the build
endpoint's definitions, :func:`infra.alarms.endpoint_health_alarms`) and a rule on its default bus
that forwards those alarms' transitions (into ALARM, and from ALARM back to OK) and the endpoint's
state changes (:data:`~pipelines.settings.STAGE_FORWARDED_ENDPOINT_STATUSES`) to the build
account's default bus, where the team's notification topic is:

* stage account (:class:`StageEventsForwarder`): the alarms (no actions: the forwarded state change
  IS the notification, and an SNS action could only reach a topic in the stage's own account), the
  rule, and the role the rule sends as, allowed only ``events:PutEvents`` on the build bus. A rule
  whose target is a bus in another account needs that role: "the sending event bus must have IAM
  roles attached to them when sending events to another account" ("Sending and receiving events
  between AWS accounts", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html;
  "We recommend always using IAM roles when the target of a rule is an event bus",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html).
* build account (:class:`StageEventsReceiver`): the default bus's policy, one statement per stage
  account, and a rule matching the forwarded events (``account`` = a stage's) -> the topic.

The bus policy names the stage *account* and narrows it by ``events:source`` and
``events:detail-type`` (the condition keys EventBridge documents for a bus policy,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html),
not by ``aws:PrincipalArn``: EventBridge documents no principal-ARN condition for what a rule in
another account sends (``PutPermission`` conditions support only ``aws:PrincipalOrgID``,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Condition.html), so the role is
narrowed on the stage's side instead: only its forwarding role may put events on the build bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as cdk_iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import alarms, iam
from infra.cross_account import sid
from infra.failure_queue import allow_rule_to_dead_letter, retry_policy
from pipelines.settings import STAGE_FORWARDED_ENDPOINT_STATUSES, Settings, Stage

ALARM_SOURCE, ALARM_STATE_CHANGE = "aws.cloudwatch", "CloudWatch Alarm State Change"
SAGEMAKER_SOURCE, ENDPOINT_STATE_CHANGE = "aws.sagemaker", "SageMaker Endpoint State Change"
EVENTS = "events.amazonaws.com"
FORWARD_TARGET_ID = "BuildAccountBus"
NOTIFY_TARGET_ID = "NotificationTopic"


def stage_events_pattern(settings: Settings, stages: Sequence[Stage]) -> dict[str, Any]:
    """The events of ``stages``' endpoints worth the build account's attention: one of their health
    alarms going into ALARM or from ALARM back to OK (not the first INSUFFICIENT_DATA -> OK of a new
    alarm), or their endpoint's state change into a forwarded status. The same pattern forwards
    (one stage) and receives (every stage), so what is sent is exactly what is notified."""
    alarm_names = [name for stage in stages for name in settings.stage_endpoint_alarm_names(stage).values()]
    alarm = {"source": [ALARM_SOURCE], "detail-type": [ALARM_STATE_CHANGE]}
    return {
        "account": sorted({stage.account for stage in stages}),
        "$or": [
            {**alarm, "detail": {"alarmName": alarm_names, "state": {"value": ["ALARM"]}}},
            {
                **alarm,
                "detail": {
                    "alarmName": alarm_names,
                    "state": {"value": ["OK"]},
                    "previousState": {"value": ["ALARM"]},
                },
            },
            {
                "source": [SAGEMAKER_SOURCE],
                "detail-type": [ENDPOINT_STATE_CHANGE],
                "detail": {
                    "EndpointName": [settings.stage_endpoint_name(stage) for stage in stages],
                    "EndpointStatus": list(STAGE_FORWARDED_ENDPOINT_STATUSES),
                },
            },
        ],
    }


class StageEventsForwarder(Construct):
    """In a stage's account: its endpoint's health alarms and the rule forwarding them (and the
    endpoint's state changes) to the build account's default bus, as a role that may do only that.
    A stage in the build account gets the alarms only: their events are on the build bus already."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, stage: Stage) -> None:
        super().__init__(scope, construct_id)
        self.alarms = alarms.endpoint_health_alarms(
            self,
            settings,
            endpoint_name=settings.stage_endpoint_name(stage),
            names=settings.stage_endpoint_alarm_names(stage),
            evaluation=alarms.endpoint_evaluation(settings),
            consequence=f"forwarded to the build account {settings.account} (no action in this account)",
            action=None,
        )
        self.role: cdk_iam.Role | None = None
        self.rule: events.CfnRule | None = None
        if stage.account == settings.account:
            return
        self.role = cdk_iam.Role(
            self,
            "ForwardRole",
            role_name=settings.stage_role_name(stage, "events"),
            assumed_by=cdk_iam.ServicePrincipal(EVENTS),
            description=f"{settings.prefix} {stage.name}: puts the endpoint's events on the build account's bus",
        )
        iam.grant(self.role, iam.stage_events_role(settings))
        # L1: the pattern needs $or (an L2 EventPattern has no such field).
        self.rule = events.CfnRule(
            self,
            "ForwardRule",
            name=settings.stage_forward_rule_name(stage),
            description=f"The {stage.name} endpoint's alarms and state changes -> the build account's bus",
            event_pattern=stage_events_pattern(settings, [stage]),
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id=FORWARD_TARGET_ID, arn=settings.event_bus_arn, role_arn=self.role.role_arn
                )
            ],
        )
        self.rule.node.add_dependency(*iam.role_policies(self.role))


class StageEventsReceiver(Construct):
    """In the build account: the default bus accepts each cross-account stage's endpoint events,
    and a rule sends every stage's (forwarded, or emitted here by a stage in this account) to the
    notification topic. Built only with stages configured."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.policies = [
            events.CfnEventBusPolicy(
                self,
                f"{stage.name.title()}Sends",
                event_bus_name="default",
                statement_id=sid(stage, "SendsEndpointEvents"),
                statement={
                    "Sid": sid(stage, "SendsEndpointEvents"),
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{settings.partition}:iam::{stage.account}:root"},
                    "Action": "events:PutEvents",
                    "Resource": settings.event_bus_arn,
                    "Condition": {
                        "StringEquals": {
                            "events:source": [ALARM_SOURCE, SAGEMAKER_SOURCE],
                            "events:detail-type": [ALARM_STATE_CHANGE, ENDPOINT_STATE_CHANGE],
                        }
                    },
                },
            )
            for stage in settings.cross_account_stages
        ]
        message = f'"{settings.prefix}: <type> in stage account <account> for <resource>: <state><status>"'
        self.rule = events.CfnRule(
            self,
            "NotifyRule",
            name=settings.stage_events_rule_name,
            description="The stages' endpoint alarms and state changes -> the notification topic",
            event_pattern=stage_events_pattern(settings, settings.stages),
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id=NOTIFY_TARGET_ID,
                    arn=settings.sns_topic_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_paths_map={
                            "type": "$.detail-type",
                            "account": "$.account",
                            "resource": "$.resources[0]",
                            "state": "$.detail.state.value",
                            "status": "$.detail.EndpointStatus",
                        },
                        input_template=message,
                    ),
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                        arn=dead_letter_queue.queue_arn
                    ),
                    retry_policy=retry_policy(),
                )
            ],
        )
        allow_rule_to_dead_letter(
            dead_letter_queue, events.Rule.from_event_rule_arn(self, "NotifyRuleArn", self.rule.attr_arn)
        )
        topic.add_to_resource_policy(
            cdk_iam.PolicyStatement(
                sid="StageEventsPublish",
                principals=[cdk_iam.ServicePrincipal(EVENTS)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.attr_arn}},
            )
        )
