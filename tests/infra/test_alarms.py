"""Alarms: every metric, dimension, threshold and evaluation setting equals settings; all notify."""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_sns as sns

from infra.alarms import ProjectAlarms
from pipelines import settings as project_settings
from processing_scripts import dataset
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.methods import Direction, Kind
from processing_scripts.split_schema import BINARY_CLASSIFICATION
from tests.infra.conftest import Synthesized

# CloudWatch's operator names, spelled out rather than taken from infra/alarms.py.
OPERATORS = {Direction.ABOVE: "GreaterThanThreshold", Direction.BELOW: "LessThanThreshold"}


@pytest.fixture(scope="module")
def alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    found = synthesized.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    return {alarm["Properties"]["AlarmName"]: alarm["Properties"] for alarm in found}


def _dimensions(props: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def test_every_alarm_notifies_the_topic(synthesized: Synthesized, alarms: dict[str, dict[str, Any]]) -> None:
    (topic_id,) = synthesized.resources("monitoring", "AWS::SNS::Topic")
    assert alarms
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": topic_id}], name


def test_drift_share_alarm_watches_what_the_monitor_job_publishes(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    settings = synthesized.settings
    monitoring, config = settings.monitoring, settings.alarms
    props = alarms[settings.drift_alarm_name]
    assert props["Namespace"] == monitoring.metric_namespace
    assert props["MetricName"] == monitoring.drifted_share_metric
    assert _dimensions(props) == {
        monitoring.endpoint_dimension: settings.endpoint_name,
        monitoring.schedule_dimension: settings.monitoring_schedule_name,
    }
    assert props["Threshold"] == config.drift_share_threshold
    assert props["Period"] == config.drift_period_seconds
    assert props["EvaluationPeriods"] == config.drift_evaluation_periods
    assert props["DatapointsToAlarm"] == config.drift_datapoints_to_alarm
    assert props["TreatMissingData"] == config.drift_missing_data
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_one_drift_alarm_per_feature_at_its_statistics_threshold(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    settings = synthesized.settings
    for feature, kind in dataset.feature_kinds().items():
        props = alarms[settings.feature_drift_alarm_name(feature)]
        statistic, threshold = settings.monitoring.drift.comparison(kind)
        assert props["MetricName"] == settings.drift_metric_name(feature)
        assert props["Namespace"] == settings.monitoring.metric_namespace
        assert props["Threshold"] == threshold
        assert props["ComparisonOperator"] == OPERATORS[statistic.direction]
        assert _dimensions(props)[settings.monitoring.endpoint_dimension] == settings.endpoint_name


def test_a_chi_squared_feature_alarms_when_its_p_value_falls_below_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monitoring job publishes a ChiSquared feature's p-value: its alarm must look below."""
    chi_squared = MonitoringConfig(
        categorical_drift_method="ChiSquared", categorical_comparison_threshold=0.05
    )
    base = project_settings.load("dev")
    settings = dataclasses.replace(base, monitoring=dataclasses.replace(base.monitoring, drift=chi_squared))
    monkeypatch.setattr(
        dataset, "feature_kinds", lambda: {"length": Kind.NUMERICAL, "colour": Kind.CATEGORICAL}
    )
    stack = cdk.Stack(cdk.App(), "AlarmsOnly")
    ProjectAlarms(stack, "Alarms", settings=settings, topic=sns.Topic(stack, "Topic"), failure_queues={})
    found = assertions.Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    by_name = {alarm["Properties"]["AlarmName"]: alarm["Properties"] for alarm in found.values()}

    colour = by_name[settings.feature_drift_alarm_name("colour")]
    assert (colour["ComparisonOperator"], colour["Threshold"]) == ("LessThanThreshold", 0.05)
    length = by_name[settings.feature_drift_alarm_name("length")]  # numbers keep their distance
    assert (length["ComparisonOperator"], length["Threshold"]) == ("GreaterThanThreshold", 0.1)
    share = by_name[settings.drift_alarm_name]  # the retrain alarm is unchanged
    assert share["ComparisonOperator"] == "GreaterThanThreshold"


def test_endpoint_error_rate_is_metric_math_over_invocations(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    settings = synthesized.settings
    props = alarms[settings.endpoint_alarm_names["error-rate"]]
    expression, *inputs = props["Metrics"]
    assert expression["ReturnData"] is True
    assert "/ invocations" in expression["Expression"]
    metrics = {m["Id"]: m["MetricStat"] for m in inputs}
    assert {stat["Metric"]["MetricName"] for stat in metrics.values()} == {
        "Invocations",
        "Invocation5XXErrors",
        "InvocationModelErrors",
    }
    for stat in metrics.values():
        assert stat["Metric"]["Namespace"] == "AWS/SageMaker"
        assert _dimensions(stat["Metric"]) == {
            "EndpointName": settings.endpoint_name,
            "VariantName": settings.serving.variant_name,
        }
        assert stat["Stat"] == "Sum"
        assert stat["Period"] == settings.alarms.endpoint_period_seconds
    assert props["Threshold"] == settings.alarms.error_rate_threshold
    assert props["EvaluationPeriods"] == settings.alarms.endpoint_evaluation_periods
    assert props["DatapointsToAlarm"] == settings.alarms.endpoint_datapoints_to_alarm
    assert props["TreatMissingData"] == settings.alarms.endpoint_missing_data


def test_latency_alarm_is_p99_in_microseconds(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    settings = synthesized.settings
    props = alarms[settings.endpoint_alarm_names["latency-p99"]]
    assert props["MetricName"] == "ModelLatency"
    assert props["ExtendedStatistic"] == "p99"
    assert props["Threshold"] == settings.alarms.latency_p99_threshold_ms * 1000
    assert _dimensions(props) == {
        "EndpointName": settings.endpoint_name,
        "VariantName": settings.serving.variant_name,
    }


def test_pipeline_failure_alarm_per_pipeline(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    settings = synthesized.settings
    for pipeline in settings.pipeline_names:
        props = alarms[settings.pipeline_failure_alarm_name(pipeline)]
        assert props["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"
        assert props["MetricName"] == "ExecutionFailed"
        assert _dimensions(props) == {"PipelineName": pipeline}
        assert props["Threshold"] == settings.alarms.pipeline_failure_threshold
        assert props["Period"] == settings.alarms.pipeline_failure_period_seconds


def test_deploy_function_rolls_back_on_exactly_the_endpoint_alarms(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    (function,) = synthesized.resources("serving", "AWS::Lambda::Function").values()
    rollback = function["Properties"]["Environment"]["Variables"]["ROLLBACK_ALARM_NAMES"].split(",")
    assert set(rollback) == set(synthesized.settings.endpoint_alarm_names.values())
    assert set(rollback) <= set(alarms)


def _degradation(props: dict[str, Any], live: str, reference: str, labels: str) -> Any:
    """The alarm's metric math as the local evaluator runs it, as a function of one period's
    (live, reference, merged labels) values, ``None`` where CloudWatch has no datapoint."""
    from localcloud import cloudwatch_math

    expression, *inputs = props["Metrics"]
    ids = {m["MetricStat"]["Metric"]["MetricName"]: m["Id"] for m in inputs}
    assert set(ids) == {live, reference, labels}
    node = cloudwatch_math.parse(expression["Expression"])

    def value(
        live_value: float | None, reference_value: float | None, label_count: float | None
    ) -> float | None:
        series = {ids[live]: (live_value,), ids[reference]: (reference_value,), ids[labels]: (label_count,)}
        context = cloudwatch_math.Context(series, dict.fromkeys(series, 3600), 1)
        return cloudwatch_math.evaluate(node, context)[0]

    return value


def test_quality_alarm_compares_live_rmse_with_the_served_models_evaluation(
    synthesized: Synthesized, alarms: dict[str, dict[str, Any]]
) -> None:
    """The alarm reads the names the monitoring job publishes, and its math (run by the local
    evaluator's metric math) fires on a relative degradation, never on too few labels."""
    settings = synthesized.settings
    quality, config = settings.model_quality, settings.alarms
    props = alarms[settings.quality_alarm_name]
    for metric in props["Metrics"][1:]:
        stat = metric["MetricStat"]
        assert stat["Metric"]["Namespace"] == quality.metric_namespace
        assert _dimensions(stat["Metric"]) == {quality.endpoint_dimension: settings.endpoint_name}
        assert stat["Period"] == config.quality_period_seconds
    assert props["Threshold"] == config.quality_rmse_worse_fraction
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    degradation = _degradation(
        props, "rmse", f"{quality.evaluation_metric_prefix}rmse", quality.merged_labels_metric
    )
    assert degradation(3.0, 2.0, 100) == pytest.approx(0.5)  # 50 % worse than its evaluation: ALARM
    assert degradation(2.1, 2.0, 100) == pytest.approx(0.05)  # within the threshold
    assert degradation(3.0, 2.0, config.quality_min_labels - 1) is None  # too few labels: no verdict
    assert degradation(3.0, None, 100) is None  # no registered evaluation: no verdict


def test_a_classifiers_quality_alarm_fires_on_an_auc_drop_in_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "PROBLEM_TYPE", BINARY_CLASSIFICATION)
    settings = project_settings.load("dev")
    stack = cdk.Stack(cdk.App(), "AlarmsOnly")
    ProjectAlarms(stack, "Alarms", settings=settings, topic=sns.Topic(stack, "Topic"), failure_queues={})
    found = assertions.Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    [props] = [
        a["Properties"] for a in found.values() if a["Properties"]["AlarmName"] == settings.quality_alarm_name
    ]
    quality = settings.model_quality
    assert props["Threshold"] == settings.alarms.quality_auc_drop
    degradation = _degradation(
        props, "auc", f"{quality.evaluation_metric_prefix}auc", quality.merged_labels_metric
    )
    assert degradation(0.80, 0.90, 100) == pytest.approx(0.10)  # 10 points below: ALARM at 0.05
    assert degradation(0.92, 0.90, 100) == pytest.approx(-0.02)  # better than evaluated
    assert degradation(0.50, 0.90, 5) is None
