"""The project's one-page view: what the endpoint serves, what drifts, how good the model is, what
the pipelines did and what started retraining.

The widgets are defined once, here, as plain data: :func:`dashboard_body` turns them into the
CloudWatch dashboard body the monitoring stack deploys (``AWS::CloudWatch::Dashboard``), and the
local cloud draws the very same widgets from the emulator's metrics after ``make demo``
(``localcloud/stories/dashboard.py``). No CDK import, so the local renderer loads none.

Metric names: the endpoint's from SageMaker (``AWS/SageMaker``: Invocations, Invocation5XXErrors,
InvocationModelErrors, ModelLatency in microseconds, dimensions EndpointName and VariantName), the
pipelines' from SageMaker Pipelines (``AWS/Sagemaker/ModelBuildingPipeline``: ExecutionStarted,
ExecutionSucceeded, ExecutionFailed, dimension PipelineName), the rules' from EventBridge
(``AWS/Events``: TriggeredRules, dimension RuleName), both listed in
https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html; drift and model
quality from the project's settings (what the monitoring job publishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.settings import Settings
from processing_scripts import dataset

ENDPOINT_NAMESPACE = "AWS/SageMaker"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"  # sic: AWS spells it this way
EVENTS_NAMESPACE = "AWS/Events"
MICROSECONDS_PER_MS = 1000  # ModelLatency is reported in microseconds

_WIDTH, _HEIGHT, _COLUMNS = 12, 6, 2  # CloudWatch's grid is 24 units wide


@dataclass(frozen=True)
class Metric:
    """One line of a widget: a metric with its dimensions, a statistic and a label."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    label: str

    def body(self) -> list[Any]:
        """CloudWatch's metric array: namespace, name, dimension name/value pairs, options."""
        flat = [item for pair in self.dimensions for item in pair]
        return [self.namespace, self.name, *flat, {"stat": self.stat, "label": self.label}]


@dataclass(frozen=True)
class Widget:
    """A metric widget: ``timeSeries`` draws each metric over time, ``bar`` each one's latest value
    (the local page sorts the bars, the most drifted feature on top)."""

    title: str
    metrics: tuple[Metric, ...]
    period: int  # seconds
    view: str = "timeSeries"
    unit_label: str = ""
    threshold: float | None = None  # drawn as a horizontal annotation (an alarm's threshold)


def widgets(settings: Settings) -> list[Widget]:
    """Every widget, in reading order."""
    monitoring, alarms = settings.monitoring, settings.alarms
    endpoint = (("EndpointName", settings.endpoint_name), ("VariantName", settings.serving.variant_name))
    drift = (
        (monitoring.endpoint_dimension, settings.endpoint_name),
        (monitoring.schedule_dimension, settings.monitoring_schedule_name),
    )
    endpoint_period, drift_period = alarms.endpoint_period_seconds, alarms.drift_period_seconds

    def invocation(name: str, label: str) -> Metric:
        return Metric(ENDPOINT_NAMESPACE, name, endpoint, "Sum", label)

    def pipeline(name: str, metric: str) -> Metric:
        return Metric(PIPELINE_NAMESPACE, metric, (("PipelineName", name),), "Sum", f"{name} {metric}")

    quality = settings.model_quality
    quality_names = quality.metrics[dataset.PROBLEM_TYPE]
    return [
        Widget(
            "Endpoint invocations and errors",
            (
                invocation("Invocations", "invocations"),
                invocation("Invocation5XXErrors", "5XX errors"),
                invocation("InvocationModelErrors", "model errors"),
            ),
            endpoint_period,
            unit_label="count",
        ),
        Widget(
            "Endpoint model latency p99 (microseconds)",
            (Metric(ENDPOINT_NAMESPACE, "ModelLatency", endpoint, "p99", "p99 latency"),),
            endpoint_period,
            unit_label="\u00b5s",
            threshold=alarms.latency_p99_threshold_ms * MICROSECONDS_PER_MS,
        ),
        Widget(
            "Drifted feature share (retrain alarm threshold)",
            (
                Metric(
                    monitoring.metric_namespace, monitoring.drifted_share_metric, drift, "Maximum", "share"
                ),
            ),
            drift_period,
            unit_label="share",
            threshold=alarms.drift_share_threshold,
        ),
        Widget(
            "Drift by feature (latest window)",
            tuple(
                Metric(
                    monitoring.metric_namespace,
                    settings.drift_metric_name(feature),
                    drift,
                    "Maximum",
                    feature,
                )
                for feature in dataset.feature_kinds()
            ),
            drift_period,
            view="bar",
            unit_label="distance",
        ),
        Widget(
            f"Model quality from ground truth ({dataset.PROBLEM_TYPE})",
            tuple(
                Metric(
                    quality.metric_namespace,
                    name,
                    ((quality.endpoint_dimension, settings.endpoint_name),),
                    "Average",
                    name,
                )
                for name in quality_names
            ),
            drift_period,
        ),
        Widget(
            "Pipeline executions",
            tuple(
                pipeline(name, metric)
                for name in settings.pipeline_names
                for metric in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
            ),
            alarms.pipeline_failure_period_seconds,
            unit_label="count",
        ),
        Widget(
            "Retraining triggers (rules that started the training pipeline)",
            tuple(
                Metric(EVENTS_NAMESPACE, "TriggeredRules", (("RuleName", rule),), "Sum", f"{trigger}: {rule}")
                for trigger, rule in settings.retrain_rule_names.items()
            ),
            alarms.pipeline_failure_period_seconds,
            unit_label="count",
        ),
    ]


def dashboard_body(settings: Settings) -> dict[str, Any]:
    """The CloudWatch dashboard body (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html)."""
    body = []
    for index, widget in enumerate(widgets(settings)):
        row, column = divmod(index, _COLUMNS)
        properties: dict[str, Any] = {
            "title": widget.title,
            "region": settings.region,
            "view": widget.view,
            "stat": widget.metrics[0].stat,
            "period": widget.period,
            "metrics": [metric.body() for metric in widget.metrics],
        }
        if widget.view == "timeSeries":
            properties["stacked"] = False
            if widget.unit_label:
                properties["yAxis"] = {"left": {"label": widget.unit_label, "showUnits": False}}
        if widget.threshold is not None:
            properties["annotations"] = {
                "horizontal": [{"label": "alarm threshold", "value": widget.threshold}]
            }
        body.append(
            {
                "type": "metric",
                "x": column * _WIDTH,
                "y": row * _HEIGHT,
                "width": _WIDTH,
                "height": _HEIGHT,
                "properties": properties,
            }
        )
    return {"widgets": body}
