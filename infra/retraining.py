"""Retraining triggers: the drift alarm, the model-quality alarm and the periodic schedule, all
through the storm guard (one cooldown for all: a window that trips both alarms retrains once).

Neither rule targets the training pipeline directly: EventBridge cannot see whether a run is active
and may deliver twice. They invoke the retrain-guard function with an Input of ``PipelineName``,
``PipelineParameterList`` and the triggering ``event`` (see infra/lambdas/retrain_guard.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from infra import iam
from infra.functions import ProjectFunction
from pipelines import parameters
from pipelines.settings import Settings

GUARD_TIMEOUT = cdk.Duration.seconds(30)
ALARM_EVENT = "CloudWatch Alarm State Change"
# TriggeredBy values: recorded on the execution and the model package it registers.
DRIFT_TRIGGER = "drift-alarm"
QUALITY_TRIGGER = "quality-alarm"  # concept drift: the features look the same, the labels do not
SCHEDULE_TRIGGER = "schedule"


def alarm_entered_pattern(*alarm_arns: str) -> events.EventPattern:
    """Any of these alarms entering ALARM: transitions only, a re-evaluation that stays in ALARM
    does not fire again."""
    return events.EventPattern(
        source=["aws.cloudwatch"],
        detail_type=[ALARM_EVENT],
        resources=list(alarm_arns),
        detail={"state": {"value": ["ALARM"]}, "previousState": {"value": [{"anything-but": "ALARM"}]}},
    )


def guard_input(pipeline_name: str, pipeline_parameters: Mapping[str, str]) -> events.RuleTargetInput:
    """The guard's Input: which pipeline, with which parameters, and the whole triggering event."""
    return events.RuleTargetInput.from_object(
        {
            "PipelineName": pipeline_name,
            "PipelineParameterList": [
                {"Name": name, "Value": value} for name, value in sorted(pipeline_parameters.items())
            ],
            "event": events.EventField.from_path("$"),
        }
    )


class RetrainingTriggers(Construct):
    """The guard function, the drift-alarm rule and the (optionally enabled) retraining schedule."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.guard = ProjectFunction(
            self,
            "Guard",
            settings=settings,
            purpose="retrain-guard",
            permissions=iam.retrain_guard(settings),
            timeout=GUARD_TIMEOUT,
            reserved_concurrency=1,  # serializes check-then-start
        )
        training = settings.training_pipeline_name
        # With stages, the monitored stage's (prod's) alarms too: its endpoint is monitored from this
        # account, where its retraining runs (one guard, so one cooldown for all of them).
        stage = settings.monitored_stage
        self.drift_rule = self._on_alarms(
            "OnDrift",
            settings.retrain_rule_names["drift"],
            (
                settings.drift_alarm_name,
                *(() if stage is None else (settings.stage_drift_alarm_name(stage),)),
            ),
            guard_input(training, {parameters.TRIGGERED_BY: DRIFT_TRIGGER}),
        )
        # Likewise the quality alarms, on the labels uploaded for each (TriggeredBy quality-alarm).
        self.quality_rule = self._on_alarms(
            "OnQuality",
            settings.retrain_rule_names["quality"],
            (
                settings.quality_alarm_name,
                *(() if stage is None else (settings.stage_quality_alarm_name(stage),)),
            ),
            guard_input(training, {parameters.TRIGGERED_BY: QUALITY_TRIGGER}),
        )
        self.schedule_rule = events.Rule(
            self,
            "OnSchedule",
            rule_name=settings.retrain_rule_names["schedule"],
            description="Periodic retraining, through the same guard",
            schedule=events.Schedule.expression(settings.retraining.schedule_expression),
            enabled=settings.retraining.schedule_enabled,
            targets=[self.guard.target(guard_input(training, {parameters.TRIGGERED_BY: SCHEDULE_TRIGGER}))],
        )

    def _on_alarms(
        self, construct_id: str, rule_name: str, alarms: tuple[str, ...], target_input: events.RuleTargetInput
    ) -> events.Rule:
        """A rule asking the guard to retrain when any of ``alarms`` enters ALARM."""
        return events.Rule(
            self,
            construct_id,
            rule_name=rule_name,
            description=f"{' or '.join(alarms)} entering ALARM asks the guard to retrain",
            event_pattern=alarm_entered_pattern(*(iam.alarm_arn(self._settings, name) for name in alarms)),
            targets=[self.guard.target(target_input)],
        )
