"""EventBridge rules: the synthesized patterns against realistic events, and what each target gets.

Patterns are evaluated with moto's EventBridge pattern engine (correct for prefix, anything-but and
resources matching), so these tests exercise the JSON that CloudFormation would deploy.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from infra.lambdas.retrain_guard import RetrainRequest
from infra.pipeline_target import SageMakerPipelineTarget
from pipelines import parameters
from tests.infra.conftest import Synthesized


def _rules(synthesized: Synthesized, concern: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(concern, "AWS::Events::Rule").values()
    return {rule["Properties"]["Name"]: rule["Properties"] for rule in found}


def _matches(rule: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event)


def _event(source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> dict:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-23T16:00:00Z",
        "region": "us-east-1",
        "resources": resources or [],
        "detail": detail,
    }


def _alarm_event(alarm_arn: str, name: str, state: str, previous: str) -> dict[str, Any]:
    detail = {
        "alarmName": name,
        "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-11-23T16:00:00.000+0000"},
        "previousState": {"value": previous, "reason": "", "timestamp": "2026-11-23T15:00:00.000+0000"},
        "configuration": {"metrics": []},
    }
    return _event("aws.cloudwatch", "CloudWatch Alarm State Change", detail, [alarm_arn])


def _package_event(group: str, status: str) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/3"
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": 3,
        "ModelPackageArn": arn,
        "ModelApprovalStatus": status,
        "CreationTime": 1763913600000,
    }
    return _event("aws.sagemaker", "SageMaker Model Package State Change", detail, [arn])


def _alarm_arn(synthesized: Synthesized, name: str) -> str:
    settings = synthesized.settings
    return f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:{name}"


@pytest.mark.parametrize(
    ("rule_suffix", "alarm"), [("retrain-on-drift", "drift"), ("retrain-on-quality", "quality")]
)
def test_retrain_rules_fire_only_on_their_alarm_entering_alarm(
    synthesized: Synthesized, rule_suffix: str, alarm: str
) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "monitoring")[f"{settings.prefix}-{rule_suffix}"]
    name = {"drift": settings.drift_alarm_name, "quality": settings.quality_alarm_name}[alarm]
    ours = _alarm_arn(synthesized, name)
    for other_name in (
        settings.feature_drift_alarm_name("length"),
        settings.drift_alarm_name,
        settings.quality_alarm_name,
    ):
        if other_name != name:
            assert not _matches(
                rule, _alarm_event(_alarm_arn(synthesized, other_name), other_name, "ALARM", "OK")
            )
    assert _matches(rule, _alarm_event(ours, name, "ALARM", "OK"))
    assert _matches(rule, _alarm_event(ours, name, "ALARM", "INSUFFICIENT_DATA"))
    assert not _matches(rule, _alarm_event(ours, name, "OK", "ALARM"))
    assert not _matches(rule, _alarm_event(ours, name, "ALARM", "ALARM"))
    foreign = _alarm_event(ours, name, "ALARM", "OK") | {"source": "custom.test"}
    assert not _matches(rule, foreign)


def _transform(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """Apply an InputTransformer as EventBridge does: JSON for a bare placeholder, the raw text of a
    string value inside a quoted string (paths here are "$" or $.a.b)."""
    transformer = target["InputTransformer"]
    text = transformer["InputTemplate"]
    for var, path in transformer["InputPathsMap"].items():
        value: Any = event
        for key in path.removeprefix("$").lstrip(".").split(".") if path != "$" else []:
            value = value[key]
        placeholder = f"<{var}>"
        inside_string = text[: text.index(placeholder)].count('"') % 2 == 1
        text = text.replace(placeholder, json.dumps(value)[1:-1] if inside_string else json.dumps(value))
    return json.loads(text)


@pytest.mark.parametrize(
    ("rule_suffix", "trigger"),
    [
        ("retrain-on-drift", "drift-alarm"),
        ("retrain-on-quality", "quality-alarm"),
        ("retrain-on-schedule", "schedule"),
    ],
)
def test_retraining_rules_target_the_guard_with_its_input_contract(
    synthesized: Synthesized, rule_suffix: str, trigger: str
) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "monitoring")[f"{settings.prefix}-{rule_suffix}"]
    (target,) = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("RetrainingGuardFunction")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("RetrainingGuardFailures")
    event = _alarm_event(
        _alarm_arn(synthesized, settings.drift_alarm_name), settings.drift_alarm_name, "ALARM", "OK"
    )
    request = RetrainRequest.parse(_transform(target, event))
    assert request.pipeline_name == settings.training_pipeline_name
    assert request.parameters == [{"Name": parameters.TRIGGERED_BY, "Value": trigger}]
    assert request.event_id == event["id"]
    assert request.event_time == event["time"]  # the guard's DataSnapshot for the retraining


def test_retraining_schedule_follows_settings(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "monitoring")[f"{settings.prefix}-retrain-on-schedule"]
    assert rule["ScheduleExpression"] == settings.retraining.schedule_expression
    assert rule["State"] == ("ENABLED" if settings.retraining.schedule_enabled else "DISABLED")


def test_monitoring_schedule_starts_the_monitoring_pipeline_directly(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "monitoring")[settings.monitoring_schedule_name]
    assert rule["ScheduleExpression"] == settings.monitoring.schedule_expression
    (target,) = rule["Targets"]
    assert target["Arn"] == settings.pipeline_arn(settings.monitoring_pipeline_name)
    assert target["RoleArn"]["Fn::GetAtt"][0].startswith("EventsRole")
    assert target["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": parameters.ENDPOINT_NAME, "Value": settings.endpoint_name}]
    }


def test_package_approved_rule_matches_only_approved_packages_of_our_group(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "serving")[f"{settings.prefix}-package-approved"]
    group = settings.model_package_group
    assert _matches(rule, _package_event(group, "Approved"))
    assert not _matches(rule, _package_event(group, "Rejected"))
    assert not _matches(rule, _package_event(group, "PendingManualApproval"))
    assert not _matches(rule, _package_event("someone-elses-models", "Approved"))
    (target,) = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DeployFunction")


def test_endpoint_in_service_rule(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "serving")[f"{settings.prefix}-endpoint-in-service"]
    detail = {"EndpointName": settings.endpoint_name, "EndpointStatus": "IN_SERVICE"}
    event = _event("aws.sagemaker", "SageMaker Endpoint State Change", detail)
    assert _matches(rule, event)
    assert not _matches(rule, copy.deepcopy(event) | {"detail": detail | {"EndpointStatus": "UPDATING"}})
    assert not _matches(rule, copy.deepcopy(event) | {"detail": detail | {"EndpointName": "other"}})


def test_pipeline_failed_rule_notifies_failures_of_our_pipelines(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    rule = _rules(synthesized, "monitoring")[f"{settings.prefix}-pipeline-failed"]

    def status_event(pipeline: str, status: str) -> dict[str, Any]:
        arn = settings.pipeline_arn(pipeline)
        detail = {
            "pipelineArn": arn,
            "pipelineExecutionArn": f"{arn}/execution/abc123",
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": "Executing",
        }
        return _event(
            "aws.sagemaker", "SageMaker Model Building Pipeline Execution Status Change", detail, [arn]
        )

    assert _matches(rule, status_event(settings.training_pipeline_name, "Failed"))
    assert _matches(rule, status_event(settings.monitoring_pipeline_name, "Failed"))
    assert not _matches(rule, status_event(settings.training_pipeline_name, "Succeeded"))
    assert not _matches(rule, status_event("someone-elses-pipeline", "Failed"))
    (target,) = rule["Targets"]
    (topic,) = synthesized.resources("monitoring", "AWS::SNS::Topic").values()
    assert target["Arn"] == settings.sns_topic_arn  # a literal ARN naming the topic the stack creates
    assert topic["Properties"]["TopicName"] == settings.sns_topic_name
    message = _transform(target, status_event(settings.training_pipeline_name, "Failed"))
    assert "/execution/abc123 failed" in message


def test_pipeline_target_override_lands_on_its_own_target_index() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
    rule = events.Rule(stack, "Rule", schedule=events.Schedule.expression("rate(1 hour)"))
    queue = sqs.Queue(stack, "Queue")
    arns = [f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p{i}" for i in range(3)]
    for index, arn in enumerate(arns):
        rule.add_target(SageMakerPipelineTarget(arn, role, queue, {"Index": str(index)}))
    (resource,) = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    targets = resource["Properties"]["Targets"]
    assert [t["Arn"] for t in targets] == arns
    for index, target in enumerate(targets):
        assert target["SageMakerPipelineParameters"] == {
            "PipelineParameterList": [{"Name": "Index", "Value": str(index)}]
        }
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    granted = policy["Properties"]["PolicyDocument"]["Statement"]
    # the role may start these pipelines and do nothing else
    assert {s["Action"] for s in granted} == {"sagemaker:StartPipelineExecution"}
    assert sorted(s["Resource"] for s in granted) == arns


def test_pipeline_target_rejects_a_non_rule() -> None:
    target = SageMakerPipelineTarget("arn:aws:sagemaker:us-east-1:123456789012:pipeline/p", None, None)  # type: ignore[arg-type]
    stack = cdk.Stack(cdk.App(), "Probe")
    imported = events.Rule.from_event_rule_arn(
        stack, "Imported", "arn:aws:events:us-east-1:123456789012:rule/r"
    )
    with pytest.raises(ValueError, match=re.escape("needs an events.Rule")):
        target.bind(imported, "Target0")


def test_every_rule_target_retries_and_keeps_what_it_could_not_deliver(synthesized: Synthesized) -> None:
    """An event EventBridge cannot deliver (throttled pipeline, topic key denied, function gone)
    lands in an encrypted queue whose depth is alarmed, instead of vanishing after the retries."""
    queues = {
        logical_id: resource["Properties"]
        for concern in ("serving", "monitoring")
        for logical_id, resource in synthesized.resources(concern, "AWS::SQS::Queue").items()
    }
    alarmed = {
        json.dumps(alarm["Properties"]["Dimensions"][0]["Value"])
        for alarm in synthesized.resources("monitoring", "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    }
    assert len(alarmed) == 3  # the two functions' queues and the rules' queue
    targets = 0
    for concern in ("serving", "monitoring"):
        for logical_id, rule in synthesized.resources(concern, "AWS::Events::Rule").items():
            for target in rule["Properties"]["Targets"]:
                targets += 1
                assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, logical_id
                assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0, logical_id
                queue_arn = target["DeadLetterConfig"]["Arn"]
                queue = queue_arn.get("Fn::GetAtt", [None])[0] or queue_arn["Fn::ImportValue"]
                if isinstance(queue, str) and queue in queues:
                    assert queues[queue]["SqsManagedSseEnabled"] is True
                    assert concern == "serving" or json.dumps({"Fn::GetAtt": [queue, "QueueName"]}) in alarmed
    assert targets == 7  # two rules in serving, five in monitoring


def test_the_topic_key_lets_eventbridge_publish_without_a_source_account_condition(
    synthesized: Synthesized,
) -> None:
    """AWS's documented key policy for an EventBridge target on an encrypted topic has no
    aws:SourceAccount; requiring it could drop the pipeline-failure alerts. CloudWatch keeps it."""
    keys = synthesized.resources("monitoring", "AWS::KMS::Key").values()
    (key,) = [k for k in keys if "notifications" in k["Properties"]["Description"]]
    by_service = {
        s["Principal"]["Service"]
        if isinstance(s["Principal"]["Service"], str)
        else "+".join(s["Principal"]["Service"]): s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s["Principal"]
    }
    assert "Condition" not in by_service["events.amazonaws.com"]
    assert by_service["cloudwatch.amazonaws.com"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": synthesized.settings.account}
    }
