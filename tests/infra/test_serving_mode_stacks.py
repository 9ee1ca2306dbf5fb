"""The stacks in the serverless, async and batch serving modes: cdk-nag clean (it runs in the synth),
cfn-lint clean, every grant on the resource types AWS authorizes against, and the mode's alarms,
topics and model-role grants."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from pipelines import parameters
from pipelines.settings import ASYNC, BATCH, SERVERLESS
from tests.infra.conftest import CONCERNS, Synthesized, as_list, statements
from tests.infra.test_service_authorization import authorization_problems

pytestmark = pytest.mark.slow  # one extra synth per mode


@pytest.fixture(scope="module", params=[SERVERLESS, ASYNC, BATCH])
def in_mode(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    from infra.app_builder import create_app

    base = synthesized.settings
    settings = dataclasses.replace(base, serving=dataclasses.replace(base.serving, mode=request.param))
    outdir = tmp_path_factory.mktemp(f"cdk.out.{request.param}")
    app, stacks = create_app(outdir=str(outdir), definitions=synthesized.definitions, settings=settings)
    assembly = app.synth()  # cdk-nag: an unacknowledged finding fails here
    templates = {
        concern: assembly.get_stack_by_name(getattr(stacks, concern).stack_name).template
        for concern in CONCERNS
    }
    return Synthesized(settings, stacks, Path(outdir), templates, synthesized.definitions)


def test_templates_are_cfn_lint_clean(in_mode: Synthesized) -> None:
    for concern in CONCERNS:
        template = in_mode.outdir / getattr(in_mode.stacks, concern).template_file
        matches = lint_file(template, config=ManualArgs(regions=[in_mode.settings.region]))
        assert [str(m) for m in matches] == [], concern


def test_every_grant_names_the_resource_types_aws_authorizes_against(in_mode: Synthesized) -> None:
    assert authorization_problems(in_mode) == []


def _alarms(synth: Synthesized) -> dict[str, dict]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    }


def test_endpoint_alarms_are_the_modes(in_mode: Synthesized) -> None:
    alarms = _alarms(in_mode)
    names = in_mode.settings.endpoint_alarm_names
    assert set(names.values()) <= set(alarms)
    if in_mode.settings.serving.mode == ASYNC:
        age = alarms[names["oldest-request-age"]]
        assert age["MetricName"] == "ApproximateAgeOfOldestRequest"
        assert age["Dimensions"] == [{"Name": "EndpointName", "Value": in_mode.settings.endpoint_name}]
        assert alarms[names["invocation-failures"]]["MetricName"] == "InvocationFailures"
    elif in_mode.settings.serving.mode == BATCH:
        assert names == {}
        assert not any(a.get("Namespace") == "AWS/SageMaker" for a in alarms.values())
    else:
        assert alarms[names["latency-p99"]]["MetricName"] == "ModelLatency"


def _model_role_statements(synth: Synthesized) -> list[dict]:
    return [
        statement
        for logical_id, policy in synth.resources("pipelines", "AWS::IAM::Policy").items()
        if "Model" in logical_id
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def test_async_has_its_topics_and_the_model_may_publish_and_read_requests(in_mode: Synthesized) -> None:
    settings = in_mode.settings
    topics = {t["Properties"]["TopicName"] for t in in_mode.resources("serving", "AWS::SNS::Topic").values()}
    granted = {
        (action, resource)
        for s in _model_role_statements(in_mode)
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
        if isinstance(resource, str)
    }
    publish = {("sns:Publish", settings.async_topic_arn(outcome)) for outcome in ("success", "error")}
    if settings.serving.mode == ASYNC:
        assert topics == {settings.async_topic_name("success"), settings.async_topic_name("error")}
        assert publish <= granted
        assert any(a == "s3:GetObject" and "/async-inference/" in r for a, r in granted)
    else:
        assert topics == set()
        assert not publish & granted


def _rules(synth: Synthesized) -> dict[str, dict]:
    return {
        r["Properties"]["Name"]: r["Properties"]
        for r in synth.resources("monitoring", "AWS::Events::Rule").values()
    }


def test_batch_scores_on_a_schedule_and_monitoring_names_the_current_baseline(in_mode: Synthesized) -> None:
    settings = in_mode.settings
    rules = _rules(in_mode)
    monitoring = rules[settings.monitoring_schedule_name]["Targets"][0]["SageMakerPipelineParameters"]
    given = {p["Name"]: p["Value"] for p in monitoring["PipelineParameterList"]}
    if settings.serving.mode != BATCH:
        assert settings.batch_schedule_name not in rules and parameters.BASELINE_URI not in given
        return
    batch = rules[settings.batch_schedule_name]
    assert batch["ScheduleExpression"] == settings.serving.batch_schedule_expression
    assert batch["Targets"][0]["Arn"] == settings.pipeline_arn(settings.batch_pipeline_name)
    assert given[parameters.BASELINE_URI] == settings.current_baseline_uri
