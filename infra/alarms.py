"""CloudWatch alarms: data drift, endpoint health, pipeline failures, failed Lambda events.

Every name, threshold, period, evaluation count and missing-data policy comes from settings, and the
drift metrics use the namespace, names and dimensions the monitoring job publishes with (also from
settings). A per-feature drift alarm compares the way the feature's drift statistic does (the
registry in :mod:`processing_scripts.drift.methods`): above the threshold for a distance, below it
for a p-value. All alarms notify the topic; the drift-share alarm and the model-quality alarm also start
retraining (through the rules in :mod:`infra.retraining`), and the endpoint alarms double as the blue/green rollback
alarms of the deploy function.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.dashboard import ENDPOINT_NAMESPACE, MICROSECONDS_PER_MS, PIPELINE_NAMESPACE
from pipelines.settings import ASYNC, BATCH, Settings
from processing_scripts import dataset
from processing_scripts.drift.methods import Direction, Kind
from processing_scripts.split_schema import REGRESSION

GREATER = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
# The operator that alarms on the side of the threshold a drift statistic drifts on.
DRIFT_OPERATORS = {
    Direction.ABOVE: GREATER,
    Direction.BELOW: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
}


@dataclass(frozen=True)
class Evaluation:
    """How an alarm judges its datapoints: M of N periods, and what a missing datapoint counts as."""

    periods: int
    datapoints: int
    missing: str  # CloudWatch's TreatMissingData: breaching | notBreaching | ignore | missing


EVERY_PERIOD = Evaluation(1, 1, "notBreaching")  # one datapoint decides; no data is no problem


class ProjectAlarms(Construct):
    """All alarms, each notifying ``topic``; ``failure_queues`` maps what fails (a function purpose,
    ``rules``) -> the queue its failed events land in."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        topic: sns.ITopic,
        failure_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._action = actions.SnsAction(topic)
        # Every alarm here, made as :func:`alarm` makes it, in this construct, notifying the topic.
        self._alarm = functools.partial(alarm, self, action=self._action)
        alarms = settings.alarms
        drift = Evaluation(
            alarms.drift_evaluation_periods, alarms.drift_datapoints_to_alarm, alarms.drift_missing_data
        )
        self.drift = self._drift_share_alarm(
            "DataDrift",
            settings.drift_alarm_name,
            "Share of features drifted from the baseline; ALARM starts retraining (via the guard)",
            endpoint=settings.endpoint_name,
            schedule=settings.monitoring_schedule_name,
            evaluation=drift,
        )
        # The monitored stage's endpoint (prod, in its own account) is checked from this account
        # by its own schedule: the same alarm on the metrics that run publishes.
        stage = settings.monitored_stage
        self.stage_drift = (
            None
            if stage is None
            else self._drift_share_alarm(
                f"{stage.name.title()}DataDrift",
                settings.stage_drift_alarm_name(stage),
                f"Share of features drifted from the baseline on the {stage.name} endpoint (account "
                f"{stage.account}); ALARM starts retraining in this account (via the guard)",
                endpoint=settings.stage_endpoint_name(stage),
                schedule=settings.stage_monitoring_schedule_name(stage),
                evaluation=drift,
            )
        )
        self.quality = self._quality_alarm(
            "ModelQuality", settings.quality_alarm_name, endpoint=settings.endpoint_name, where=""
        )
        # Prod's labels are uploaded for the prod endpoint (`labels upload --stage prod`) and its
        # monitoring run judges them against the version prod serves: the same alarm on those metrics.
        self.stage_quality = (
            None
            if stage is None
            else self._quality_alarm(
                f"{stage.name.title()}ModelQuality",
                settings.stage_quality_alarm_name(stage),
                endpoint=settings.stage_endpoint_name(stage),
                where=f" of the {stage.name} endpoint (account {stage.account})",
            )
        )
        self.feature_drift = {
            feature: self._feature_drift_alarm(index, feature, kind, drift)
            for index, (feature, kind) in enumerate(dataset.feature_kinds().items())
        }
        endpoint = endpoint_evaluation(settings)
        self.endpoint = (
            {}  # serving mode batch: no endpoint (a failed scoring run is a pipeline failure)
            if settings.serving.mode == BATCH
            else self._async_endpoint_alarms(endpoint)
            if settings.serving.mode == ASYNC
            else self._endpoint_alarms(endpoint)
        )
        self.pipeline_failures = {
            name: self._alarm(
                f"PipelineFailed{index}",
                settings.pipeline_failure_alarm_name(name),
                f"Executions of {name} failed",
                cloudwatch.Metric(
                    namespace=PIPELINE_NAMESPACE,
                    metric_name="ExecutionFailed",
                    dimensions_map={"PipelineName": name},
                    statistic="Sum",
                    period=cdk.Duration.seconds(alarms.pipeline_failure_period_seconds),
                ),
                threshold=alarms.pipeline_failure_threshold,
                comparison=AT_LEAST,
                evaluation=EVERY_PERIOD,
            )
            for index, name in enumerate(settings.pipeline_names)
        }
        self.failed_events = {
            purpose: self._alarm(
                f"FailedEvents{purpose.title().replace('-', '')}",
                f"{settings.prefix}-{purpose}-failed-events",
                f"Events the {purpose} could not process or deliver (inspect and redrive the queue)",
                queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=cdk.Duration.minutes(5)
                ),
                threshold=0,
                comparison=GREATER,
                evaluation=EVERY_PERIOD,
            )
            for purpose, queue in failure_queues.items()
        }

    def _drift_share_alarm(
        self,
        construct_id: str,
        name: str,
        description: str,
        *,
        endpoint: str,
        schedule: str,
        evaluation: Evaluation,
    ) -> cloudwatch.Alarm:
        """The retraining alarm on the share of drifted features of ``endpoint``'s checks."""
        alarms = self._settings.alarms
        metric = self._drift_metric(
            self._settings.monitoring.drifted_share_metric,
            alarms.drift_period_seconds,
            endpoint=endpoint,
            schedule=schedule,
        )
        return self._alarm(
            construct_id,
            name,
            description,
            metric,
            threshold=alarms.drift_share_threshold,
            comparison=GREATER,
            evaluation=evaluation,
        )

    def _quality_alarm(self, construct_id: str, name: str, *, endpoint: str, where: str) -> cloudwatch.Alarm:
        """Model quality of ``endpoint`` worse than its served model's own evaluation: ALARM starts
        retraining (``where`` names the endpoint in the description; empty: the build endpoint's).

        A CloudWatch alarm's threshold is static, but "worse" is relative to whichever model served
        the window. Rather than have the deploy function rewrite the threshold with PutMetricAlarm
        (the template and the account would disagree, a rollback would leave the new model's
        threshold behind, and the function would need a write grant on alarms), the monitoring job
        publishes the served package's evaluation value beside the live one, and the alarm compares
        the two with metric math against a static relative threshold: RMSE worse by a fraction, or
        AUC lower by points. Too few merged labels drop the datapoint (IF without an else), so a
        handful of labels never decides; missing data is not breaching, like the drift alarm.
        """
        settings, alarms = self._settings, self._settings.alarms
        period = alarms.quality_period_seconds
        if settings.problem_type == REGRESSION:
            metric, threshold, degradation, words = (
                "rmse",
                alarms.quality_rmse_worse_fraction,
                "live / reference - 1",
                "RMSE worse than evaluation by",
            )
        else:
            metric, threshold, degradation, words = (
                "auc",
                alarms.quality_auc_drop,
                "reference - live",
                "AUC below evaluation by",
            )
        quality = settings.model_quality
        expression = cloudwatch.MathExpression(
            expression=f"IF(labels >= {alarms.quality_min_labels} AND reference > 0, {degradation})",
            using_metrics={
                "live": self._quality_metric(metric, period, endpoint),
                "reference": self._quality_metric(
                    f"{quality.evaluation_metric_prefix}{metric}", period, endpoint
                ),
                "labels": self._quality_metric(quality.merged_labels_metric, period, endpoint),
            },
            label=f"{metric} degradation",
            period=cdk.Duration.seconds(period),
        )
        return self._alarm(
            construct_id,
            name,
            f"{words} more than {threshold:g} on merged ground truth{where}; ALARM starts retraining "
            "(via the guard)",
            expression,
            threshold=threshold,
            comparison=GREATER,
            evaluation=EVERY_PERIOD,
        )

    def _quality_metric(self, metric_name: str, period: int, endpoint: str) -> cloudwatch.Metric:
        """A model-quality metric as the monitoring job publishes it for ``endpoint``."""
        quality = self._settings.model_quality
        return cloudwatch.Metric(
            namespace=quality.metric_namespace,
            metric_name=metric_name,
            dimensions_map={quality.endpoint_dimension: endpoint},
            statistic="Maximum",
            period=cdk.Duration.seconds(period),
        )

    def _endpoint_alarms(self, endpoint: Evaluation) -> dict[str, cloudwatch.Alarm]:
        """Real-time and serverless endpoints: error rate and p99 model latency."""
        return endpoint_health_alarms(
            self,
            self._settings,
            endpoint_name=self._settings.endpoint_name,
            names=self._settings.endpoint_alarm_names,
            evaluation=endpoint,
            consequence="rolls back deployments",
            action=self._action,
        )

    def _async_endpoint_alarms(self, endpoint: Evaluation) -> dict[str, cloudwatch.Alarm]:
        """An async endpoint publishes no ``Invocations``, so no error rate; its health is its failed
        invocations and the age of the oldest queued request (metric names and dimensions:
        https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html)."""
        names = self._settings.endpoint_alarm_names
        period = self._settings.alarms.endpoint_period_seconds
        queue = self._settings.serving.async_inference
        return {
            "invocation-failures": self._alarm(
                "EndpointInvocationFailures",
                names["invocation-failures"],
                "Async invocations that failed for any reason; rolls back deployments",
                endpoint_metric(
                    self._settings, self._settings.endpoint_name, "InvocationFailures", "Sum", period
                ),
                threshold=queue.invocation_failures_threshold,
                comparison=GREATER,
                evaluation=endpoint,
            ),
            "oldest-request-age": self._alarm(
                "EndpointOldestRequestAge",
                names["oldest-request-age"],
                "Age (seconds) of the oldest queued async request; rolls back deployments",
                cloudwatch.Metric(
                    namespace=ENDPOINT_NAMESPACE,
                    metric_name="ApproximateAgeOfOldestRequest",
                    dimensions_map={"EndpointName": self._settings.endpoint_name},  # no variant dimension
                    statistic="Maximum",
                    period=cdk.Duration.seconds(period),
                ),
                threshold=queue.oldest_request_age_threshold_seconds,
                comparison=GREATER,
                evaluation=endpoint,
            ),
        }

    def _feature_drift_alarm(
        self, index: int, feature: str, kind: Kind, drift: Evaluation
    ) -> cloudwatch.Alarm:
        """The feature's metric is the value its statistic compared (see processing_scripts.drift.metrics),
        so the alarm takes that statistic's threshold and direction: a p-value alarms below it."""
        settings = self._settings
        statistic, threshold = settings.monitoring.drift.comparison(kind)
        return self._alarm(
            f"FeatureDrift{index}",
            settings.feature_drift_alarm_name(feature),
            f"{statistic.measure} of {feature!r} from the baseline (notify only)",
            self._drift_metric(settings.drift_metric_name(feature), settings.alarms.drift_period_seconds),
            threshold=threshold,
            comparison=DRIFT_OPERATORS[statistic.direction],
            evaluation=drift,
        )

    def _drift_metric(
        self, metric_name: str, period: int, *, endpoint: str | None = None, schedule: str | None = None
    ) -> cloudwatch.Metric:
        """A drift metric with the dimensions the monitoring job publishes it with: the build
        endpoint's and schedule's by default."""
        monitoring = self._settings.monitoring
        return cloudwatch.Metric(
            namespace=monitoring.metric_namespace,
            metric_name=metric_name,
            dimensions_map={
                monitoring.endpoint_dimension: endpoint or self._settings.endpoint_name,
                monitoring.schedule_dimension: schedule or self._settings.monitoring_schedule_name,
            },
            statistic="Maximum",
            period=cdk.Duration.seconds(period),
        )


def alarm(
    scope: Construct,
    construct_id: str,
    name: str,
    description: str,
    metric: cloudwatch.IMetric,
    *,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator,
    evaluation: Evaluation,
    action: cloudwatch.IAlarmAction | None,
) -> cloudwatch.Alarm:
    """One alarm as every alarm of the project is made; ``action`` None: it notifies nothing itself
    (a stage's alarms: the state change event its account's rule forwards is the notification)."""
    made = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation.periods,
        datapoints_to_alarm=evaluation.datapoints,
        treat_missing_data=cloudwatch.TreatMissingData(_missing_data_member(evaluation.missing)),
    )
    if action is not None:
        made.add_alarm_action(action)
    return made


def endpoint_evaluation(settings: Settings) -> Evaluation:
    """How an endpoint health alarm judges its datapoints (settings ``alarms.endpoint_*``)."""
    alarms = settings.alarms
    return Evaluation(
        alarms.endpoint_evaluation_periods, alarms.endpoint_datapoints_to_alarm, alarms.endpoint_missing_data
    )


def endpoint_health_alarms(
    scope: Construct,
    settings: Settings,
    *,
    endpoint_name: str,
    names: Mapping[str, str],
    evaluation: Evaluation,
    consequence: str,
    action: cloudwatch.IAlarmAction | None,
) -> dict[str, cloudwatch.Alarm]:
    """A real-time (or serverless) endpoint's error rate and p99 model latency alarms, by purpose:
    the build endpoint's and each stage endpoint's, the same definitions; ``consequence`` ends the
    description (what ALARM does for this endpoint)."""
    alarms = settings.alarms
    period = alarms.endpoint_period_seconds
    return {
        "error-rate": alarm(
            scope,
            "EndpointErrorRate",
            names["error-rate"],
            f"Share of invocations failing with 5XX or a model error; {consequence}",
            _error_rate(settings, endpoint_name, period),
            threshold=alarms.error_rate_threshold,
            comparison=GREATER,
            evaluation=evaluation,
            action=action,
        ),
        "latency-p99": alarm(
            scope,
            "EndpointLatencyP99",
            names["latency-p99"],
            f"p99 model latency (microseconds); {consequence}",
            endpoint_metric(settings, endpoint_name, "ModelLatency", "p99", period),
            threshold=alarms.latency_p99_threshold_ms * MICROSECONDS_PER_MS,
            comparison=GREATER,
            evaluation=evaluation,
            action=action,
        ),
    }


def endpoint_metric(
    settings: Settings, endpoint_name: str, metric_name: str, statistic: str, period: int
) -> cloudwatch.Metric:
    """An ``AWS/SageMaker`` invocation metric of the endpoint's (production) variant."""
    return cloudwatch.Metric(
        namespace=ENDPOINT_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"EndpointName": endpoint_name, "VariantName": settings.serving.variant_name},
        statistic=statistic,
        period=cdk.Duration.seconds(period),
    )


def _error_rate(settings: Settings, endpoint_name: str, period: int) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression="IF(invocations > 0, (errors5xx + modelerrors) / invocations, 0)",
        using_metrics={
            "invocations": endpoint_metric(settings, endpoint_name, "Invocations", "Sum", period),
            "errors5xx": endpoint_metric(settings, endpoint_name, "Invocation5XXErrors", "Sum", period),
            "modelerrors": endpoint_metric(settings, endpoint_name, "InvocationModelErrors", "Sum", period),
        },
        label="error rate",
        period=cdk.Duration.seconds(period),
    )


def _missing_data_member(value: str) -> str:
    """Settings use CloudWatch's spelling (``notBreaching``); the CDK enum its member names."""
    members = {member.name.replace("_", "").lower(): member.value for member in cloudwatch.TreatMissingData}
    try:
        return members[value.lower()]
    except KeyError:
        raise ValueError(
            f"missing-data policy {value!r} is not one of breaching|notBreaching|ignore|missing"
        ) from None
