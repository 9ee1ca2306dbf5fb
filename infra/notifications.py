"""The notification topic every alarm and failure rule publishes to (KMS-encrypted, TLS only)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.encryption import project_key
from infra.iam import alarm_arn
from pipelines.settings import Settings

# CloudWatch alarms publish to the encrypted topic on our behalf; the key policy also requires
# aws:SourceAccount = ours for them.
ALARM_PUBLISHERS = ("cloudwatch.amazonaws.com",)
# EventBridge rules too, but with the key policy AWS documents for an EventBridge target on an
# encrypted topic: no aws:SourceAccount condition ("Amazon SNS permissions", EventBridge User Guide,
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
# SNS calls KMS on EventBridge's behalf, and a condition on a key the request may not carry would
# deny it, silently dropping the pipeline-failure alerts. Who may publish is decided by the topic
# policy instead (aws:SourceArn = our rule), so the key is usable only through our topic.
RULE_PUBLISHERS = ("events.amazonaws.com",)


class NotificationTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.key = project_key(
            self,
            "Key",
            settings,
            "notifications",
            services=ALARM_PUBLISHERS,
            services_without_source_account=RULE_PUBLISHERS,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=settings.sns_topic_name,
            display_name=f"{settings.project} ({settings.env}) alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one, so name the alarm publisher explicitly.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarm_arn(settings, f"{settings.prefix}-*")},
                    "StringEquals": {"aws:SourceAccount": settings.account},
                },
            )
        )
        if settings.notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.notification_email))
