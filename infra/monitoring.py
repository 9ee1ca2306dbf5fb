"""Monitoring: notifications, alarms, the monitoring schedule, retraining triggers, failure rules,
and the dashboard.

The monitoring pipeline runs on a schedule straight from EventBridge (the typed
:class:`~infra.pipeline_target.SageMakerPipelineTarget`, with the events role that may only start
the project's pipelines). It publishes drift metrics that the alarms watch; the drift alarm's
transition into ALARM goes through the retrain guard to the training pipeline.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import iam
from infra.alarms import ProjectAlarms
from infra.dashboard import dashboard_body
from infra.failure_queue import MAX_EVENT_AGE, RETRY_ATTEMPTS, failure_queue
from infra.model_monitor import ModelMonitorSchedule
from infra.notifications import NotificationTopic
from infra.pipeline_target import SageMakerPipelineTarget
from infra.retraining import RetrainingTriggers
from infra.stage_events import StageEventsReceiver
from pipelines import parameters
from pipelines.settings import BATCH, Settings, Stage

PIPELINE_STATUS_EVENT = "SageMaker Model Building Pipeline Execution Status Change"


def pipeline_failed_pattern(settings: Settings) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[PIPELINE_STATUS_EVENT],
        detail={
            "currentPipelineExecutionStatus": ["Failed"],
            "pipelineArn": [settings.pipeline_arn(name) for name in settings.pipeline_names],
        },
    )


def monitoring_schedule_parameters(settings: Settings) -> dict[str, str]:
    """What the schedule starts the monitoring pipeline with. In serving mode batch there is no
    endpoint to find the served package's baseline through, so the schedule names the current
    baseline the deploy function keeps on the approved package."""
    given = {parameters.ENDPOINT_NAME: settings.endpoint_name}
    if settings.serving.mode == BATCH:
        given[parameters.BASELINE_URI] = settings.current_baseline_uri
    return given


def stage_monitoring_parameters(settings: Settings, stage: Stage) -> dict[str, str]:
    """What the stage's schedule starts the monitoring pipeline with: the stage's endpoint (its
    capture is under that name in this account's capture bucket) and the stage, whose served
    version the job reads from the registry (it cannot describe an endpoint in another account)."""
    return {parameters.ENDPOINT_NAME: settings.stage_endpoint_name(stage), parameters.STAGE: stage.name}


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        deploy_failures: sqs.IQueue,
        key_arn: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.notifications = NotificationTopic(self, "Notifications", settings=settings)
        topic = self.notifications.topic
        self.retraining = RetrainingTriggers(self, "Retraining", settings=settings)
        # The dead-letter queue of the rules whose targets are not functions (pipeline, topic).
        self.rule_failures = failure_queue(self, "RuleFailures", f"{settings.prefix}-rule-failures")
        self.alarms = ProjectAlarms(
            self,
            "Alarms",
            settings=settings,
            topic=topic,
            failure_queues={
                "deploy": deploy_failures,
                "retrain-guard": self.retraining.guard.failures,
                "rules": self.rule_failures,
            },
        )
        self.events_role = iam.project_role(self, settings, "events", "events.amazonaws.com", [])
        self.monitoring_rule = self._scheduled_pipeline(
            "MonitoringSchedule",
            settings.monitoring_schedule_name,
            description="Runs the monitoring pipeline (drift check of captured traffic)",
            schedule_expression=settings.monitoring.schedule_expression,
            pipeline_arn=settings.pipeline_arn(settings.monitoring_pipeline_name),
            parameters=monitoring_schedule_parameters(settings),
        )
        stage = settings.monitored_stage
        if stage is not None:
            # The last stage's endpoint (prod, in its own account) is checked from here, where its
            # capture, the baselines, the image and this pipeline are (docs/multi-account.md).
            self.stage_monitoring_rule = self._scheduled_pipeline(
                f"{stage.name.title()}MonitoringSchedule",
                settings.stage_monitoring_schedule_name(stage),
                description=f"Runs the monitoring pipeline on the {stage.name} endpoint's captured traffic",
                schedule_expression=settings.monitoring.schedule_expression,
                pipeline_arn=settings.pipeline_arn(settings.monitoring_pipeline_name),
                parameters=stage_monitoring_parameters(settings, stage),
            )
        if settings.serving.mode == BATCH:
            # No endpoint: scoring runs on a schedule too, and its capture is what the
            # monitoring pipeline checks (docs/serving.md#batch-scoring).
            self.batch_rule = self._scheduled_pipeline(
                "BatchSchedule",
                settings.batch_schedule_name,
                description="Runs the batch scoring pipeline over the batch input prefix",
                schedule_expression=settings.serving.batch_schedule_expression,
                pipeline_arn=settings.pipeline_arn(settings.batch_pipeline_name),
            )
        if settings.monitoring.model_monitor_schedule_enabled:
            self.model_monitor = ModelMonitorSchedule(
                self, "ModelMonitor", settings=settings, key_arn=key_arn
            )
        failed_rule = events.Rule(
            self,
            "PipelineFailed",
            rule_name=f"{settings.prefix}-pipeline-failed",
            description="Any failed execution of the project's pipelines is notified at once",
            event_pattern=pipeline_failed_pattern(settings),
            targets=[
                targets.SnsTopic(
                    # By ARN: the L2 target would add a `kms:GenerateDataKey*` key grant; the key
                    # policy already names EventBridge, and the topic policy is added below.
                    sns.Topic.from_topic_arn(self, "TopicForRules", settings.sns_topic_arn),
                    message=events.RuleTargetInput.from_text(
                        f"{settings.prefix}: pipeline execution "
                        f"{events.EventField.from_path('$.detail.pipelineExecutionArn')} failed"
                    ),
                    dead_letter_queue=self.rule_failures,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            ],
        )
        # The target names the topic by its settings ARN; depend on the topic itself (not its policy,
        # which names this rule).
        failed_rule.node.add_dependency(topic.node.default_child)
        topic.add_to_resource_policy(
            aws_iam.PolicyStatement(
                sid="RulesPublish",
                principals=[aws_iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": failed_rule.rule_arn}},
            )
        )
        if settings.stages:  # the stages' endpoint alarms and states, forwarded (docs/multi-account.md)
            self.stage_events = StageEventsReceiver(
                self, "StageEvents", settings=settings, topic=topic, dead_letter_queue=self.rule_failures
            )
        # The body is plain JSON from infra/dashboard.py, the widgets the local cloud draws too.
        self.dashboard = cloudwatch.CfnDashboard(
            self,
            "Dashboard",
            dashboard_name=settings.dashboard_name,
            dashboard_body=json.dumps(dashboard_body(settings), sort_keys=True),
        )
        cdk.CfnOutput(self, "NotificationTopicArn", value=topic.topic_arn)
        cdk.CfnOutput(self, "DashboardName", value=settings.dashboard_name)
        cdk.CfnOutput(self, "DriftAlarmName", value=self.alarms.drift.alarm_name)
        cdk.CfnOutput(self, "RetrainGuardFunctionName", value=self.retraining.guard.function.function_name)

    def _scheduled_pipeline(
        self,
        construct_id: str,
        rule_name: str,
        *,
        description: str,
        schedule_expression: str,
        pipeline_arn: str,
        parameters: dict[str, str] | None = None,
    ) -> events.Rule:
        """A rule that starts one of the project's pipelines on a schedule, as the events role,
        with the rules' dead-letter queue."""
        return events.Rule(
            self,
            construct_id,
            rule_name=rule_name,
            description=description,
            schedule=events.Schedule.expression(schedule_expression),
            targets=[
                SageMakerPipelineTarget(
                    pipeline_arn,
                    self.events_role,
                    self.rule_failures,
                    parameters,
                )
            ],
        )
