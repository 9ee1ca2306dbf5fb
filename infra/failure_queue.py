"""Where an event that could not be processed or delivered ends up: an encrypted SQS queue.

Every EventBridge target has one (a rule target's dead-letter queue, and for the functions also the
on-failure destination), with the same retry policy, so no event is dropped without a trace: the
queue depth is alarmed in the monitoring stack, and the queue keeps the event for redrive.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = cdk.Duration.hours(2)  # an alert or a monitoring run older than this is stale
FAILED_EVENT_RETENTION = cdk.Duration.days(14)  # SQS's maximum: time to inspect and redrive


def failure_queue(scope: Construct, construct_id: str, queue_name: str) -> sqs.Queue:
    """SQS-managed encryption (EventBridge can deliver to it without a key grant), TLS only."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=FAILED_EVENT_RETENTION,
    )
    acknowledge(queue, "AwsSolutions-SQS3", "this queue is itself the failed-event queue")
    return queue


def retry_policy() -> events.CfnRule.RetryPolicyProperty:
    """The retry policy of a target that has no typed CDK class (see infra/pipeline_target.py)."""
    return events.CfnRule.RetryPolicyProperty(
        maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=int(MAX_EVENT_AGE.to_seconds())
    )


def allow_rule_to_dead_letter(queue: sqs.IQueue, rule: events.IRule) -> None:
    """Let exactly ``rule`` put undeliverable events in ``queue`` (what the typed targets add)."""
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
        )
    )
