"""Event routing: real-shaped events through rules from a template fixture, to in-process targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from localcloud.awslambda import LambdaRegistry
from localcloud.cloudformation import TemplateError, TemplateSet
from localcloud.cloudwatch import (
    AlarmDefinition,
    AlarmEvaluator,
    AlarmState,
    MetricQuery,
    MissingData,
    StateRecord,
    alarm_state_change_event,
    load_alarms,
)
from localcloud.event_patterns import matches
from localcloud.eventbridge import EventRouter, PipelineStart, RawText, RuleTarget, load_rules, target_input
from pipelines import parameters as params
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
TRAINING = SETTINGS.training_pipeline_name
ALARM_ARN = f"arn:aws:cloudwatch:{SETTINGS.region}:{SETTINGS.account}:alarm:{SETTINGS.drift_alarm_name}"

RETRAIN_INPUT = (
    '{"PipelineName": "' + TRAINING + '", "PipelineParameterList": [{"Name": "TriggeredBy", "Value": '
    '"alarm:<alarm>"}], "event": <aws.events.event.json>}'
)
TEMPLATE = {
    "Resources": {
        "DriftAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": SETTINGS.drift_alarm_name},
        },
        "GuardFn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": SETTINGS.function_name("retrain-guard")},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": SETTINGS.sns_topic_name}},
        "RetrainOnDrift": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "resources": [{"Fn::GetAtt": ["DriftAlarm", "Arn"]}],
                    "detail": {
                        "state": {"value": ["ALARM"]},
                        "previousState": {"value": [{"anything-but": "ALARM"}]},
                    },
                },
                "Targets": [
                    {
                        "Id": "Guard",
                        "Arn": {"Fn::GetAtt": ["GuardFn", "Arn"]},
                        "InputTransformer": {
                            "InputPathsMap": {"alarm": "$.detail.alarmName"},
                            "InputTemplate": RETRAIN_INPUT,
                        },
                    },
                    {"Id": "Notify", "Arn": {"Ref": "Topic"}},
                ],
            },
        },
        "WeeklyRetrain": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(7 days)",
                "State": "DISABLED",
                "Targets": [{"Id": "P", "Arn": SETTINGS.pipeline_arn(TRAINING)}],
            },
        },
        "MonitorOnSchedule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {"source": ["test.schedule"]},
                "Targets": [
                    {
                        "Id": "Monitoring",
                        "Arn": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:aws:sagemaker:",
                                    {"Ref": "AWS::Region"},
                                    ":",
                                    {"Ref": "AWS::AccountId"},
                                    f":pipeline/{SETTINGS.monitoring_pipeline_name.lower()}",
                                ],
                            ]
                        },
                        "SageMakerPipelineParameters": {
                            "PipelineParameterList": [{"Name": "WindowHours", "Value": "1"}]
                        },
                    }
                ],
            },
        },
    }
}


@pytest.fixture
def templates(tmp_path):
    (tmp_path / "Mlops.template.json").write_text(json.dumps(TEMPLATE))
    return TemplateSet.load(SETTINGS, tmp_path)


@pytest.fixture
def aws():
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
        sagemaker.create_pipeline(
            PipelineName=TRAINING,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=SETTINGS.role_arn(settings_module.PIPELINE_ROLE),
        )
        yield lambda service: boto3.client(service, region_name=SETTINGS.region)


def _router(templates, client, started):
    return EventRouter(
        rules=load_rules(templates),
        settings=SETTINGS,
        client=client,
        start_pipeline=started.append,
        lambdas=LambdaRegistry.for_project(SETTINGS),
    )


def _alarm_event(state: str, previous: str) -> dict:
    query = MetricQuery(
        id="m1", return_data=True, namespace="NS", metric_name="share", stat="Maximum", period=3600
    )
    alarm = AlarmDefinition(
        name=SETTINGS.drift_alarm_name,
        arn=ALARM_ARN,
        source="fixture",
        description="",
        comparison="GreaterThanThreshold",
        threshold=0.2,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=MissingData.NOT_BREACHING,
        period=3600,
        queries=(query,),
    )
    now = datetime.now(UTC)
    return alarm_state_change_event(
        alarm,
        StateRecord(AlarmState(state), "Threshold Crossed", "", now),
        StateRecord(AlarmState(previous), "before", "", now),
        SETTINGS.account,
        SETTINGS.region,
    )


def test_rules_are_read_with_resolved_arns(templates):
    rules = {r.source.split(": ")[1]: r for r in load_rules(templates)}
    assert rules["RetrainOnDrift"].pattern["resources"] == [ALARM_ARN]
    assert rules["RetrainOnDrift"].targets[0].arn == SETTINGS.function_arn("retrain-guard")
    assert (
        rules["RetrainOnDrift"]
        .targets[1]
        .arn.endswith(f":sns:{SETTINGS.region}:{SETTINGS.account}:{SETTINGS.sns_topic_name}")
    )
    assert rules["MonitorOnSchedule"].targets[0].arn == SETTINGS.pipeline_arn(
        SETTINGS.monitoring_pipeline_name
    )
    assert not rules["WeeklyRetrain"].enabled and rules["WeeklyRetrain"].pattern is None


def test_drift_alarm_reaches_the_guard_which_starts_training_once(templates, aws):
    started: list[PipelineStart] = []
    router = _router(templates, aws, started)
    event = _alarm_event("ALARM", "OK")
    deliveries = router.route(event)
    assert [d.kind for d in deliveries] == ["lambda", "sns"]
    guard = deliveries[0]
    assert guard.payload["event"] == event  # <aws.events.event.json> is the whole event
    assert guard.payload["PipelineParameterList"] == [
        {"Name": "TriggeredBy", "Value": f"alarm:{SETTINGS.drift_alarm_name}"}
    ]
    assert guard.result["action"] == "started"
    assert started == [guard.pipeline_start]
    # The guard adds the alarm event's time as the data snapshot, so the retraining reads the data again.
    assert started[0].parameters == {
        "TriggeredBy": f"alarm:{SETTINGS.drift_alarm_name}",
        "DataSnapshot": event["time"],
    }
    assert started[0].execution_arn == guard.result["pipeline_execution_arn"]
    # The same alarm again within the cooldown: the guard holds, nothing more starts.
    again = router.route(_alarm_event("ALARM", "INSUFFICIENT_DATA"))
    assert again[0].result["action"] == "skipped" and "cooldown" in again[0].result["reason"]
    assert len(started) == 1


@pytest.mark.parametrize(
    ("state", "previous"), [("OK", "ALARM"), ("ALARM", "ALARM"), ("INSUFFICIENT_DATA", "OK")]
)
def test_other_transitions_match_no_rule(templates, aws, state, previous):
    started: list[PipelineStart] = []
    assert _router(templates, aws, started).route(_alarm_event(state, previous)) == []
    assert started == []


def test_another_alarm_does_not_match(templates, aws):
    event = _alarm_event("ALARM", "OK")
    event["resources"] = [ALARM_ARN + "-other"]
    assert _router(templates, aws, []).route(event) == []


def test_pipeline_target_starts_the_pipeline_with_its_parameters(templates, aws):
    started: list[PipelineStart] = []
    deliveries = _router(templates, aws, started).route({"source": "test.schedule", "detail": {}})
    assert [d.kind for d in deliveries] == ["pipeline"]
    assert started == [
        PipelineStart(
            SETTINGS.monitoring_pipeline_name, {"WindowHours": "1"}, "MonitorOnSchedule -> Monitoring"
        )
    ]


def test_sns_target_publishes_to_the_emulator_topic(templates, aws):
    sqs, sns = aws("sqs"), aws("sns")
    topic = sns.create_topic(Name=SETTINGS.sns_topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    _router(templates, aws, []).route(_alarm_event("ALARM", "OK"))
    body = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert body["detail"]["alarmName"] == SETTINGS.drift_alarm_name


def test_numeric_filter_inside_an_array_of_objects_matches_within_one_element():
    """eb-event-patterns-arrays.html: a filter on a field of an array of objects matches when an
    element does, and two fields must match within the same element (event-ruler's README)."""
    event = _alarm_event("ALARM", "OK")
    period = {"metricStat": {"period": [{"numeric": [">=", 3600]}]}}
    assert matches({"detail": {"configuration": {"metrics": period}}}, event)
    same_element = {"metricStat": {"period": [3600]}, "returnData": [True]}
    assert matches({"detail": {"configuration": {"metrics": same_element}}}, event)
    event["detail"]["configuration"]["metrics"] = [
        {"id": "a", "metricStat": {"period": 3600}, "returnData": False},
        {"id": "b", "expression": "a * 2", "returnData": True},
    ]
    assert not matches({"detail": {"configuration": {"metrics": same_element}}}, event)


def test_a_rule_with_an_unknown_operator_is_rejected_when_read(tmp_path):
    bad = {
        "Resources": {
            "R": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventPattern": {"source": [{"prefx": "aws."}]}},
            }
        }
    }
    (tmp_path / "Bad.template.json").write_text(json.dumps(bad))
    with pytest.raises(
        TemplateError, match=r"R \(AWS::Events::Rule\)\.EventPattern: source: unknown operator 'prefx'"
    ):
        load_rules(TemplateSet.load(SETTINGS, tmp_path))


def test_dynamic_pipeline_parameters_are_read_from_the_event(tmp_path, aws):
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"source": ["test.dynamic"]},
            "Targets": [
                {
                    "Id": "Training",
                    "Arn": SETTINGS.pipeline_arn(TRAINING),
                    "SageMakerPipelineParameters": {
                        "PipelineParameterList": [
                            {"Name": "TriggeredBy", "Value": "$.detail.alarmName"},
                            {"Name": "Static", "Value": "x"},
                        ]
                    },
                },
                {
                    "Id": "Missing",
                    "Arn": SETTINGS.pipeline_arn(TRAINING),
                    "SageMakerPipelineParameters": {
                        "PipelineParameterList": [{"Name": "P", "Value": "$.detail.nope"}]
                    },
                },
            ],
        },
    }
    (tmp_path / "Dyn.template.json").write_text(json.dumps({"Resources": {"Dyn": rule}}))
    started: list[PipelineStart] = []
    router = _router(TemplateSet.load(SETTINGS, tmp_path), aws, started)
    deliveries = router.route({"source": "test.dynamic", "detail": {"alarmName": "a1"}})
    assert started[0].parameters == {"TriggeredBy": "a1", "Static": "x"}
    # A failing target is recorded on its delivery, not raised out of the router.
    assert deliveries[1].kind == "failed" and "$.detail.nope is not in the event" in deliveries[1].error


def test_a_failing_target_goes_to_its_dead_letter_queue(tmp_path, aws):
    queue_arn = f"arn:aws:sqs:{SETTINGS.region}:{SETTINGS.account}:dlq"
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"source": ["test.dlq"]},
            "Targets": [
                {"Id": "T", "Arn": SETTINGS.pipeline_arn(TRAINING), "DeadLetterConfig": {"Arn": queue_arn}}
            ],
        },
    }
    (tmp_path / "Dlq.template.json").write_text(json.dumps({"Resources": {"Dlq": rule}}))

    def fail(start):
        raise RuntimeError("target unavailable")

    router = EventRouter(
        load_rules(TemplateSet.load(SETTINGS, tmp_path)),
        SETTINGS,
        aws,
        fail,
        LambdaRegistry.for_project(SETTINGS),
    )
    (delivery,) = router.route({"source": "test.dlq", "detail": {}})
    assert delivery.error == "RuntimeError: target unavailable" and delivery.failure_destination == queue_arn
    queue = aws("sqs").get_queue_url(QueueName="dlq")["QueueUrl"]
    assert (
        json.loads(aws("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])["source"] == "test.dlq"
    )


def test_aws_events_event_omits_detail_and_event_json_is_whole(templates, aws):
    rule = load_rules(templates)[0]
    event = _alarm_event("ALARM", "OK")
    transformer = {"InputTemplate": '{"e": <aws.events.event>, "j": <aws.events.event.json>}'}
    target = RuleTarget(id="X", arn="arn", spec={"InputTransformer": transformer})
    payload = target_input(rule, target, event)
    assert "detail" not in payload["e"] and payload["e"]["id"] == event["id"]
    assert payload["j"] == event


# -- the real synthesized templates --------------------------------------------------------------
@pytest.fixture(scope="module")
def real_templates(deployed_artifacts):
    """The CDK app's templates, as app.py writes them (the run's shared synthesis)."""
    return TemplateSet.load(SETTINGS, deployed_artifacts.cdk_out)


@pytest.mark.slow
def test_drift_metric_as_the_monitor_publishes_it_starts_retraining_through_the_real_rules(
    real_templates, aws
):
    """Publish the share metric under settings' names, evaluate the templates' alarms, route the event."""
    monitoring = SETTINGS.monitoring
    at = datetime.now(UTC).replace(second=0, microsecond=0)
    aws("cloudwatch").put_metric_data(
        Namespace=monitoring.metric_namespace,
        MetricData=[
            {
                "MetricName": monitoring.drifted_share_metric,
                "Dimensions": [
                    {"Name": monitoring.endpoint_dimension, "Value": SETTINGS.endpoint_name},
                    {"Name": monitoring.schedule_dimension, "Value": SETTINGS.monitoring_schedule_name},
                ],
                "Timestamp": at - timedelta(minutes=5),
                "Value": SETTINGS.alarms.drift_share_threshold + 0.1,
            }
        ],
    )
    evaluator = AlarmEvaluator(
        load_alarms(real_templates), aws("cloudwatch"), SETTINGS.account, SETTINGS.region
    )
    fired = [e for e in evaluator.evaluate(at) if e.state is AlarmState.ALARM]
    assert [e.alarm.name for e in fired] == [SETTINGS.drift_alarm_name]
    started: list[PipelineStart] = []
    deliveries = _router(real_templates, aws, started).route(fired[0].event)
    guard = [d for d in deliveries if d.kind == "lambda"]
    assert len(guard) == 1 and guard[0].result["action"] == "started"
    assert [s.pipeline_name for s in started] == [TRAINING]
    assert started[0].parameters[params.TRIGGERED_BY] not in ("", params.MANUAL_TRIGGER)


# eb-transform-target-input.html, "Input transform examples": the page's EC2 event, paths and templates.
EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
EC2_PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "gone": "$.detail.nope",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('"instance <instance> is in <state>"', "instance i-0123456789 is in RUNNING"),
        ('{"instance" : <instance>, "state": <state>}', {"instance": "i-0123456789", "state": "RUNNING"}),
        (
            '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}',
            {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"},
        ),
        ('"<aws.events.rule-name> triggered"', "RetrainOnDrift triggered"),
        # "String with escaped quotes".
        ('"instance \\"<instance>\\" is in <state>"', 'instance "i-0123456789" is in RUNNING'),
        # A path absent from the event creates no variable: nothing appears in its place.
        ('"[<gone>]"', "[]"),
    ],
)
def test_input_transformer_examples(templates, template, expected):
    rule = next(r for r in load_rules(templates) if r.name == "RetrainOnDrift")
    spec = {"InputTransformer": {"InputPathsMap": EC2_PATHS, "InputTemplate": template}}
    assert target_input(rule, RuleTarget("X", "arn", spec), EC2_EVENT) == expected


def test_values_are_not_escaped(templates):
    """ "EventBridge doesn't escape values extracted by Input Path": a quote in a value breaks the JSON."""
    rule = next(r for r in load_rules(templates) if r.name == "RetrainOnDrift")
    spec = {"InputTransformer": {"InputPathsMap": EC2_PATHS, "InputTemplate": '{"s": "<state>"}'}}
    event = {**EC2_EVENT, "detail": {"state": 'RUN"NING'}}
    assert target_input(rule, RuleTarget("X", "arn", spec), event) == RawText('{"s": "RUN"NING"}')


def test_a_string_template_reaches_sns_with_its_quotes(tmp_path, aws):
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name="t")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    transformer = {"InputPathsMap": {"state": "$.detail.state"}, "InputTemplate": '"state is <state>"'}
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"source": ["aws.ec2"]},
            "Targets": [{"Id": "T", "Arn": topic, "InputTransformer": transformer}],
        },
    }
    (tmp_path / "Sns.template.json").write_text(json.dumps({"Resources": {"S": rule}}))
    _router(TemplateSet.load(SETTINGS, tmp_path), aws, []).route(EC2_EVENT)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == '"state is RUNNING"'


@pytest.mark.slow
def test_sagemaker_events_go_through_the_real_rules(real_templates, aws):
    """A failed execution notifies through the pipeline-failed rule; an approved package of our group
    reaches the deploy function through the package-approved rule (automating-sagemaker-with-eventbridge.html)."""
    from pathlib import Path

    from localcloud.sagemaker.events import model_package_state_change, pipeline_execution_status_change
    from localcloud.sagemaker.executor.records import ExecutionRecord, ExecutionStatus

    now = datetime.now(UTC)
    execution_arn = f"{SETTINGS.pipeline_arn(TRAINING)}/execution/abc123"
    failed = ExecutionRecord(
        TRAINING, "abc123", execution_arn, Path("."), {}, ExecutionStatus.FAILED, now, now
    )
    router = _router(real_templates, aws, [])
    event = pipeline_execution_status_change(failed, SETTINGS.pipeline_arn(TRAINING))
    assert event["detail"]["currentPipelineExecutionStatus"] == "Failed"
    (notify,) = router.route(event)
    assert (notify.rule.name, notify.kind) == (f"{SETTINGS.prefix}-pipeline-failed", "sns")
    assert notify.payload == f"{SETTINGS.prefix}: pipeline execution {execution_arn} failed"
    succeeded = ExecutionRecord(
        TRAINING, "abc124", execution_arn, Path("."), {}, ExecutionStatus.SUCCEEDED, now, now
    )
    assert router.route(pipeline_execution_status_change(succeeded, SETTINGS.pipeline_arn(TRAINING))) == []

    package_arn = f"arn:aws:sagemaker:{SETTINGS.region}:{SETTINGS.account}:model-package/{SETTINGS.model_package_group}/1"
    package = {
        "ModelPackageGroupName": SETTINGS.model_package_group,
        "ModelPackageVersion": 1,
        "ModelPackageArn": package_arn,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
        "CreationTime": now,
    }
    (deploy,) = router.route(model_package_state_change(package, now))
    assert (deploy.rule.name, deploy.kind, deploy.note) == (
        f"{SETTINGS.prefix}-package-approved",
        "lambda",
        "deploy",
    )
    assert deploy.payload["detail"]["CreationTime"] == int(now.timestamp() * 1000)
    assert (
        router.route(
            model_package_state_change({**package, "ModelApprovalStatus": "PendingManualApproval"}, now)
        )
        == []
    )


def test_a_failing_function_is_retried_then_its_invocation_record_goes_to_the_on_failure_destination(aws):
    """invocation-async.html: two retries by default; then invocation-async-retain-records.html's record."""
    from localcloud.eventbridge import AsyncInvokeConfig, Rule

    queue_arn = f"arn:aws:sqs:{SETTINGS.region}:{SETTINGS.account}:guard-failures"
    guard_arn = SETTINGS.function_arn("retrain-guard")
    target = RuleTarget("Guard", guard_arn, {"Id": "Guard", "Arn": guard_arn, "Input": '{"no": "pipeline"}'})
    rule = Rule("r", "arn:aws:events:::rule/r", "fixture: R", {"source": ["test"]}, None, True, (target,))
    router = EventRouter(
        [rule],
        SETTINGS,
        aws,
        [].append,
        LambdaRegistry.for_project(SETTINGS),
        invoke_configs={guard_arn: AsyncInvokeConfig(retries=2, on_failure=queue_arn)},
    )
    (delivery,) = router.route({"source": "test"})
    assert delivery.error and (delivery.attempts, delivery.failure_destination) == (3, queue_arn)
    queue = aws("sqs").get_queue_url(QueueName="guard-failures")["QueueUrl"]
    record = json.loads(aws("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"no": "pipeline"}
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_invoke_configs_are_read_from_the_templates(tmp_path):
    from localcloud.eventbridge import AsyncInvokeConfig, load_invoke_configs

    template = {
        "Resources": {
            "GuardFn": TEMPLATE["Resources"]["GuardFn"],
            "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "guard-failures"}},
            "Config": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "GuardFn"},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": 1,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
                },
            },
        }
    }
    (tmp_path / "Fn.template.json").write_text(json.dumps(template))
    configs = load_invoke_configs(TemplateSet.load(SETTINGS, tmp_path))
    queue_arn = f"arn:aws:sqs:{SETTINGS.region}:{SETTINGS.account}:guard-failures"
    assert configs == {SETTINGS.function_arn("retrain-guard"): AsyncInvokeConfig(1, queue_arn)}


@pytest.mark.slow
def test_the_monitoring_schedule_fires_through_its_rule_and_a_disabled_schedule_does_not(real_templates, aws):
    """Scheduled rules deliver AWS's "Scheduled Event" (events-ref-events.html) to their targets:
    the hourly monitoring rule starts the monitoring pipeline; the dev retraining schedule is
    DISABLED, so nothing fires the retrain guard on a schedule."""
    started: list = []
    router = _router(real_templates, aws, started)
    at = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    monitoring = SETTINGS.monitoring_pipeline_name
    (delivery,) = router.fire_schedules(SETTINGS.pipeline_arn(monitoring), at)
    assert (delivery.kind, delivery.rule.schedule) == ("pipeline", SETTINGS.monitoring.schedule_expression)
    assert [s.pipeline_name for s in started] == [monitoring]
    event = delivery.payload
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert (event["resources"], event["time"]) == ([delivery.rule.arn], "2026-12-01T13:00:00Z")
    guard = SETTINGS.function_arn("retrain-guard")
    assert router.fire_schedules(guard, at) == []


def test_endpoint_state_change_has_the_shape_of_aws_sample_and_reaches_a_users_rule(tmp_path, aws):
    """automating-sagemaker-with-eventbridge.html, "SageMaker endpoint state change": the status in
    upper snake case, times in epoch milliseconds, the desired weight and count of each variant."""
    from localcloud.sagemaker.events import endpoint_state_change

    created = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    arn = f"arn:aws:sagemaker:{SETTINGS.region}:{SETTINGS.account}:endpoint/{SETTINGS.endpoint_name}"
    described = {
        "EndpointName": SETTINGS.endpoint_name,
        "EndpointArn": arn,
        "EndpointConfigName": "config-2",
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "CurrentWeight": 1.0, "CurrentInstanceCount": 1}
        ],
        "EndpointStatus": "InService",
        "CreationTime": created,
        "LastModifiedTime": created + timedelta(seconds=2),
    }
    event = endpoint_state_change(described, {"project": "p"}, created)
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.sagemaker",
        "SageMaker Endpoint State Change",
        [arn],
    )
    assert event["detail"] == {
        "EndpointName": SETTINGS.endpoint_name,
        "EndpointArn": arn,
        "EndpointConfigName": "config-2",
        "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        "EndpointStatus": "IN_SERVICE",
        "CreationTime": created.timestamp() * 1000,
        "LastModifiedTime": (created.timestamp() + 2) * 1000,
        "Tags": {"project": "p"},
    }
    topic = aws("sns").create_topic(Name="endpoint-ready")["TopicArn"]
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {"EndpointStatus": ["IN_SERVICE"]},
    }
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": pattern, "Targets": [{"Id": "T", "Arn": topic}]},
    }
    (tmp_path / "Ready.template.json").write_text(json.dumps({"Resources": {"R": rule}}))
    (delivery,) = _router(TemplateSet.load(SETTINGS, tmp_path), aws, []).route(event)
    assert delivery.kind == "sns"
