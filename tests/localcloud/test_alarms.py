"""Alarm evaluation: CloudWatch's documented M-of-N and missing-data behaviour, read from templates."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud.cloudformation import TemplateError, TemplateSet
from localcloud.cloudwatch import (
    AlarmDefinition,
    AlarmEvaluator,
    AlarmState,
    MetricQuery,
    MissingData,
    decide,
    evaluation_range,
    load_alarms,
)
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
NS = "Test/Quality"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _alarm(n: int, m: int, treat: str, comparison: str = "LessThanThreshold", threshold: float = 2.0):
    query = MetricQuery(id="m1", return_data=True, namespace=NS, metric_name="x", stat="Average", period=60)
    return AlarmDefinition(
        name="a",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
        source="test",
        description="",
        comparison=comparison,
        threshold=threshold,
        evaluation_periods=n,
        datapoints_to_alarm=m,
        treat_missing_data=MissingData(treat),
        period=60,
        queries=(query,),
    )


def _series(text: str) -> list[float | None]:
    """The docs' notation with LessThanThreshold 2: X breaching (1.0), 0 not breaching (3.0), - missing."""
    return [{"X": 1.0, "0": 3.0, "-": None}[c] for c in text.split()]


# CloudWatch docs, "Configuring how CloudWatch alarms treat missing data": the two example tables.
# Columns: data points (oldest first) -> expected state for missing, ignore, breaching, notBreaching.
# "keep" means the state does not change.
THREE_OF_THREE = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", "keep", "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - X - -", "ALARM", "keep", "ALARM", "OK"),
]
TWO_OF_THREE = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - X -", "ALARM", "keep", "ALARM", "OK"),
]
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


def _cases(table, m):
    for row in table:
        for treat, expected in zip(TREATMENTS, row[1:], strict=True):
            yield pytest.param(row[0], m, treat, expected, id=f"{m}of3-{row[0]}-{treat}")


@pytest.mark.parametrize(
    ("data", "m", "treat", "expected"), [*_cases(THREE_OF_THREE, 3), *_cases(TWO_OF_THREE, 2)]
)
@pytest.mark.parametrize("current", [AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA])
def test_documented_missing_data_tables(data, m, treat, expected, current):
    assert evaluation_range(3) == 5  # the docs' tables show five periods for three evaluation periods
    decision = decide(_alarm(3, m, treat), _series(data), current)
    assert decision.state is (current if expected == "keep" else AlarmState(expected))


@pytest.mark.parametrize(
    ("comparison", "below", "equal", "above"),
    [
        ("GreaterThanThreshold", "OK", "OK", "ALARM"),
        ("GreaterThanOrEqualToThreshold", "OK", "ALARM", "ALARM"),
        ("LessThanThreshold", "ALARM", "OK", "OK"),
        ("LessThanOrEqualToThreshold", "ALARM", "ALARM", "OK"),
    ],
)
def test_each_comparison_operator_at_and_around_the_threshold(comparison, below, equal, above):
    alarm = _alarm(1, 1, "missing", comparison, threshold=0.2)
    for value, expected in ((0.1, below), (0.2, equal), (0.3, above)):
        assert decide(alarm, [None, None, value], AlarmState.OK).state is AlarmState(expected)


def test_the_most_recent_real_datapoints_decide_when_enough_exist():
    alarm = _alarm(2, 2, "breaching", "GreaterThanThreshold", threshold=0.5)
    # Four periods (range 4 for N=2): the older breaching pair is outside the two most recent points.
    assert decide(alarm, [0.9, 0.9, 0.1, None], AlarmState.OK).state is AlarmState.OK
    assert decide(alarm, [0.1, 0.9, None, 0.9], AlarmState.OK).state is AlarmState.ALARM


# -- templates -------------------------------------------------------------------------------------
def _template(alarms: dict[str, dict]) -> dict:
    return {
        "Parameters": {"Env": {"Type": "String", "Default": SETTINGS.env}},
        "Resources": {lid: {"Type": "AWS::CloudWatch::Alarm", "Properties": p} for lid, p in alarms.items()},
    }


def _write(tmp_path: Path, template: dict) -> TemplateSet:
    (tmp_path / "Monitoring.template.json").write_text(json.dumps(template))
    return TemplateSet.load(SETTINGS, tmp_path)


DRIFT_ALARM = {
    "AlarmName": {"Fn::Join": ["-", [SETTINGS.prefix, "data-drift"]]},
    "AlarmDescription": "drift",
    "Namespace": NS,
    "MetricName": "share",
    "Dimensions": [{"Name": "Endpoint", "Value": {"Fn::Sub": "${AWS::AccountId}-ep"}}],
    "Statistic": "Maximum",
    "Period": 3600,
    "Threshold": 0.2,
    "ComparisonOperator": "GreaterThanThreshold",
    "EvaluationPeriods": 1,
    "DatapointsToAlarm": 1,
    "TreatMissingData": "notBreaching",
}
ERROR_RATE = {
    "AlarmName": "errors",
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 0.05,
    "EvaluationPeriods": 1,
    "Metrics": [
        {
            "Id": "rate",
            # What infra/alarms.py synthesizes (no FILL: a metric without a datapoint counts as 0).
            "Expression": "IF(invocations > 0, (errors + modelerrors) / invocations, 0)",
            "ReturnData": True,
            "Label": "rate",
        },
        *[
            {
                "Id": qid,
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NS,
                        "MetricName": name,
                        "Dimensions": [{"Name": "E", "Value": "e"}],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
            }
            for qid, name in (
                ("errors", "Invocation5XXErrors"),
                ("modelerrors", "InvocationModelErrors"),
                ("invocations", "Invocations"),
            )
        ],
    ],
}


def test_load_alarms_resolves_intrinsics_and_metric_math(tmp_path):
    p99 = {**DRIFT_ALARM, "AlarmName": "p99", "ExtendedStatistic": "p99"}
    del p99["Statistic"]
    alarms = {
        a.name: a
        for a in load_alarms(_write(tmp_path, _template({"D": DRIFT_ALARM, "E": ERROR_RATE, "P": p99})))
    }
    drift = alarms[SETTINGS.drift_alarm_name]
    assert (
        drift.arn
        == f"arn:aws:cloudwatch:{SETTINGS.region}:{SETTINGS.account}:alarm:{SETTINGS.drift_alarm_name}"
    )
    assert drift.queries[0].dimensions == (("Endpoint", f"{SETTINGS.account}-ep"),)
    assert (drift.datapoints_to_alarm, drift.treat_missing_data) == (1, MissingData.NOT_BREACHING)
    assert alarms["errors"].period == 300 and alarms["errors"].result_query.id == "rate"
    assert alarms["errors"].treat_missing_data is MissingData.MISSING  # CloudWatch's default
    assert alarms["p99"].queries[0].stat == "p99"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "anomaly-detection"),
        ({"TreatMissingData": "sometimes"}, "TreatMissingData"),
        ({"Threshold": None}, "Threshold"),
        ({"AlarmName": {"Fn::GetAZs": ""}}, "Fn::GetAZs"),
    ],
)
def test_bad_alarm_definitions_name_the_resource_and_field(tmp_path, change, message):
    props = {k: v for k, v in {**DRIFT_ALARM, **change}.items() if v is not None}
    with pytest.raises(TemplateError, match=message) as err:
        load_alarms(_write(tmp_path, _template({"DriftAlarm": props})))
    assert "DriftAlarm" in str(err.value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("ANOMALY_DETECTION_BAND(invocations)", "ANOMALY_DETECTION_BAND"),
        ("AVG(invocations)", "AVG of a single series"),
        ("RUNNING_SUM(invocations)", "RUNNING_SUM"),
        ("SUM(METRICS())", "METRICS"),
        ("invocations + unknown", "unknown ids"),
    ],
)
def test_unsupported_metric_math_fails_at_load_naming_the_function(tmp_path, expression, message):
    bad = {
        **ERROR_RATE,
        "Metrics": [{**ERROR_RATE["Metrics"][0], "Expression": expression}, *ERROR_RATE["Metrics"][1:]],
    }
    with pytest.raises(TemplateError, match=r"E \(AWS::CloudWatch::Alarm\)\.Metrics") as err:
        load_alarms(_write(tmp_path, _template({"E": bad})))
    assert message in str(err.value)


@pytest.mark.parametrize("field", ["EvaluationWindow", "ThresholdMetricId"])
def test_unsupported_alarm_fields_are_refused(tmp_path, field):
    with pytest.raises(TemplateError, match=f"D .*{field}.*not evaluated locally"):
        load_alarms(_write(tmp_path, _template({"D": {**DRIFT_ALARM, field: "x"}})))


# -- evaluation against CloudWatch data (moto) ------------------------------------------------------
@pytest.fixture
def cloudwatch():
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=SETTINGS.region)


def _put(cloudwatch, name, value, at, dims):
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": name,
                "Value": value,
                "Timestamp": at,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            }
        ],
    )


def test_transitions_only_and_the_event_shape(tmp_path, cloudwatch):
    alarms = load_alarms(_write(tmp_path, _template({"D": DRIFT_ALARM})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    dims = alarms[0].queries[0].dimensions

    first = evaluator.evaluate(T0 + timedelta(minutes=1))[0]  # no data, notBreaching -> OK
    assert (first.previous, first.state, first.changed) == (AlarmState.INSUFFICIENT_DATA, AlarmState.OK, True)
    assert evaluator.evaluate(T0 + timedelta(minutes=2))[0].event is None  # still OK: no event

    _put(cloudwatch, "share", 0.1, T0 + timedelta(minutes=30), dims)
    assert not evaluator.evaluate(T0 + timedelta(minutes=31))[0].changed  # below threshold
    _put(cloudwatch, "share", 0.6, T0 + timedelta(minutes=40), dims)  # Maximum of the hour: 0.6
    alarm = evaluator.evaluate(T0 + timedelta(minutes=41, seconds=30))[0]
    assert alarm.state is AlarmState.ALARM
    event = alarm.event
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", "CloudWatch Alarm State Change")
    assert event["resources"] == [alarms[0].arn] and event["time"] == "2026-11-23T12:41:00Z"
    detail = event["detail"]
    assert detail["alarmName"] == SETTINGS.drift_alarm_name
    assert (detail["state"]["value"], detail["previousState"]["value"]) == ("ALARM", "OK")
    assert detail["state"]["timestamp"] == "2026-11-23T12:41:00.000+0000"
    assert "1 out of the last 1 datapoints [0.6" in detail["state"]["reason"]
    reason_data = json.loads(detail["state"]["reasonData"])
    assert reason_data["recentDatapoints"] == [0.6] and reason_data["threshold"] == 0.2
    metric = detail["configuration"]["metrics"][0]["metricStat"]
    assert metric == {
        "metric": {"namespace": NS, "name": "share", "dimensions": {"Endpoint": f"{SETTINGS.account}-ep"}},
        "period": 3600,
        "stat": "Maximum",
    }
    assert evaluator.evaluate(T0 + timedelta(minutes=50))[0].event is None  # ALARM stays ALARM
    # With no newer datapoint the most recent real one in the 3-period range still decides...
    assert evaluator.evaluate(T0 + timedelta(hours=3, minutes=40))[0].state is AlarmState.ALARM
    # ...until it leaves the range; then the range is empty and notBreaching means OK.
    back = evaluator.evaluate(T0 + timedelta(hours=3, minutes=41))[0]
    assert (back.previous, back.state) == (AlarmState.ALARM, AlarmState.OK)


def test_metric_math_alarm_over_moto_metrics(tmp_path, cloudwatch):
    alarms = load_alarms(_write(tmp_path, _template({"E": ERROR_RATE})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    dims = (("E", "e"),)
    # No invocations metric at all: every period is missing (treatment: missing) -> no data.
    assert evaluator.evaluate(T0 + timedelta(minutes=5))[0].state is AlarmState.INSUFFICIENT_DATA
    for name, value in (("Invocations", 100), ("InvocationModelErrors", 0)):  # no 5XX metric: FILL -> 0
        _put(cloudwatch, name, value, T0 + timedelta(minutes=1), dims)
    assert evaluator.evaluate(T0 + timedelta(minutes=5))[0].state is AlarmState.OK
    for name, value in (("Invocations", 100), ("InvocationModelErrors", 4), ("Invocation5XXErrors", 6)):
        _put(cloudwatch, name, value, T0 + timedelta(minutes=6), dims)
    alarm = evaluator.evaluate(T0 + timedelta(minutes=10))[0]
    assert alarm.state is AlarmState.ALARM and alarm.values[-1] == pytest.approx(0.1)
    expression = alarm.event["detail"]["configuration"]["metrics"][0]["expression"]
    assert expression.startswith("IF(invocations > 0")


# "Avoiding premature transitions to alarm state" (alarms-and-missing-data.html), N = M = 3.
@pytest.mark.parametrize(
    ("data", "m", "expected"),
    [
        ("- - - - X", 3, None),  # "does not go immediately into ALARM"
        ("- - - X -", 3, None),
        ("- - - X X", 3, None),
        ("- - X - -", 3, "ALARM"),  # the oldest breaching point is M old, the rest missing
        ("- - X X -", 3, "ALARM"),
        ("- - - X -", 2, "ALARM"),  # "applies to M out of N alarms as well"
        ("- - - - X", 2, None),
    ],
)
@pytest.mark.parametrize("current", [AlarmState.OK, AlarmState.INSUFFICIENT_DATA])
def test_premature_alarm_rule(data, m, expected, current):
    decision = decide(_alarm(3, m, "missing"), _series(data), current)
    assert decision.state is (AlarmState(expected) if expected else current)


def test_dynamodb_alarms_always_ignore_missing_data(tmp_path):
    """API_PutMetricAlarm: "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore
    missing data even if you choose a different option for TreatMissingData"."""
    alarm = {**DRIFT_ALARM, "Namespace": "AWS/DynamoDB", "TreatMissingData": "breaching"}
    (loaded,) = load_alarms(_write(tmp_path, _template({"D": alarm})))
    assert loaded.treat_missing_data is MissingData.IGNORE


def test_metrics_of_another_namespace_with_the_same_name_and_dimensions_are_not_seen(tmp_path, cloudwatch):
    alarms = load_alarms(_write(tmp_path, _template({"D": DRIFT_ALARM})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    dims = alarms[0].queries[0].dimensions
    cloudwatch.put_metric_data(
        Namespace="Other/Namespace",
        MetricData=[
            {
                "MetricName": "share",
                "Value": 0.9,
                "Timestamp": T0 + timedelta(minutes=10),
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            }
        ],
    )
    assert evaluator.evaluate(T0 + timedelta(minutes=11))[0].values[-1] is None


P99_ALARM = {
    "AlarmName": "latency",
    "Namespace": NS,
    "MetricName": "ModelLatency",
    "Dimensions": [{"Name": "E", "Value": "e"}],
    "ExtendedStatistic": "p99",
    "Period": 60,
    "Threshold": 500,
    "ComparisonOperator": "GreaterThanThreshold",
    "EvaluationPeriods": 1,
}


def _put_values(cloudwatch, values, at):
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Values": values,
                "Timestamp": at,
                "Dimensions": [{"Name": "E", "Value": "e"}],
            }
        ],
    )


@pytest.mark.parametrize(
    ("low_sample", "expected"), [("evaluate", AlarmState.ALARM), ("ignore", AlarmState.OK)]
)
def test_p99_from_raw_values_and_the_low_sample_count_rule(tmp_path, cloudwatch, low_sample, expected):
    """p99 of 100 values 1..99 and 1000 is the 99th smallest (99) -> OK; with a 1000 among the top
    2 it is 1000 -> ALARM, except that p99 needs 10/(1-0.99) = 1000 samples: with ``ignore`` and only
    100 samples the state is kept (percentiles-with-low-samples.html)."""
    alarm = {**P99_ALARM, "EvaluateLowSampleCountPercentile": low_sample}
    alarms = load_alarms(_write(tmp_path, _template({"P": alarm})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    evaluator.states["latency"].value = AlarmState.OK
    _put_values(cloudwatch, [*range(1, 100), 1000], T0 + timedelta(seconds=10))
    first = evaluator.evaluate(T0 + timedelta(minutes=1))[0]
    assert (first.values[-1], first.state) == (99.0, AlarmState.OK)
    _put_values(cloudwatch, [*range(1, 99), 1000, 1000], T0 + timedelta(minutes=1, seconds=10))
    second = evaluator.evaluate(T0 + timedelta(minutes=2))[0]
    assert (second.values[-1], second.state) == (1000.0, expected)


def test_a_percentile_of_a_statistic_set_does_not_exist(tmp_path, cloudwatch):
    """Statistics-definitions.html: percentiles need raw values (or sets with SampleCount 1 / Min = Max)."""
    alarms = load_alarms(_write(tmp_path, _template({"P": P99_ALARM})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "StatisticValues": {"SampleCount": 2, "Sum": 1001, "Minimum": 1, "Maximum": 1000},
                "Timestamp": T0 + timedelta(seconds=10),
                "Dimensions": [{"Name": "E", "Value": "e"}],
            }
        ],
    )
    assert evaluator.evaluate(T0 + timedelta(minutes=1))[0].values[-1] is None


def test_state_change_event_fields_as_in_aws_sample(tmp_path, cloudwatch):
    """cloudwatch-and-eventbridge.html's sample: a single-metric alarm's metric id is a generated
    UUID; reasonData.startDate is the start of the oldest evaluated datapoint."""
    alarm = {**DRIFT_ALARM, "Period": 300, "EvaluationPeriods": 2, "DatapointsToAlarm": 2}
    alarms = load_alarms(_write(tmp_path, _template({"D": alarm})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    dims = alarms[0].queries[0].dimensions
    _put(cloudwatch, "share", 0.6, T0 + timedelta(minutes=1), dims)
    _put(cloudwatch, "share", 0.7, T0 + timedelta(minutes=6), dims)
    event = evaluator.evaluate(T0 + timedelta(minutes=10))[0].event
    metric = event["detail"]["configuration"]["metrics"][0]
    assert str(uuid.UUID(metric["id"])) == metric["id"] and metric["returnData"] is True
    reason_data = json.loads(event["detail"]["state"]["reasonData"])
    assert reason_data["startDate"] == "2026-11-23T12:00:00.000+0000"
    assert reason_data["queryDate"] == "2026-11-23T12:10:00.000+0000"
    assert reason_data["recentDatapoints"] == [0.6, 0.7]


def test_an_expression_may_use_another_expressions_id(tmp_path, cloudwatch):
    metrics = [
        {"Id": "rate", "Expression": "errors / total", "ReturnData": False},
        {"Id": "percent", "Expression": "rate * 100", "ReturnData": True},
        *[
            {
                "Id": qid,
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NS,
                        "MetricName": name,
                        "Dimensions": [{"Name": "E", "Value": "e"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for qid, name in (("errors", "Errors"), ("total", "Invocations"))
        ],
    ]
    alarm = {**ERROR_RATE, "Threshold": 5, "Metrics": metrics}
    alarms = load_alarms(_write(tmp_path, _template({"E": alarm})))
    evaluator = AlarmEvaluator(alarms, cloudwatch, SETTINGS.account, SETTINGS.region, created_at=T0)
    _put(cloudwatch, "Errors", 10, T0 + timedelta(seconds=5), (("E", "e"),))
    _put(cloudwatch, "Invocations", 100, T0 + timedelta(seconds=5), (("E", "e"),))
    evaluation = evaluator.evaluate(T0 + timedelta(minutes=1))[0]
    assert (evaluation.values[-1], evaluation.state) == (10.0, AlarmState.ALARM)
    cycle = [{**metrics[0], "Expression": "percent / 100"}, *metrics[1:]]
    with pytest.raises(TemplateError, match="cycle"):
        load_alarms(_write(tmp_path, _template({"E": {**alarm, "Metrics": cycle}})))


def test_the_endpoint_publishes_raw_latencies_so_its_p99_alarm_is_evaluated(cloudwatch):
    """The local endpoint sends ModelLatency as raw values (Values/Counts, at most 150 distinct values
    per datum), which is what a percentile needs; 200 distinct latencies go out as two datums."""
    from localcloud.moto_extensions import cloudwatch_metrics
    from localcloud.sagemaker.endpoint import METRIC_NAMESPACE, InvocationMetrics

    cloudwatch_metrics.install()
    metrics = InvocationMetrics(cloudwatch, "ep")
    for latency in [*range(1, 200), 5000]:
        metrics.record(T0 + timedelta(seconds=5), "v", 200, False, float(latency))
    metrics.flush()
    dimensions = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "v"}]
    query = {"Namespace": METRIC_NAMESPACE, "MetricName": "ModelLatency", "Dimensions": dimensions}
    results = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": stat.lower(), "MetricStat": {"Metric": query, "Period": 60, "Stat": stat}}
            for stat in ("p99", "SampleCount", "Maximum")
        ],
        StartTime=T0,
        EndTime=T0 + timedelta(minutes=1),
    )["MetricDataResults"]
    assert {r["Id"]: r["Values"] for r in results} == {
        "p99": [198.0],
        "samplecount": [200.0],
        "maximum": [5000.0],
    }
