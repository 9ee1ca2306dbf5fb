"""The retrain guard against moto: a burst of alarm events starts exactly one retraining run.

moto finishes a pipeline execution at once ("Succeeded"), so the cooldown is what holds back the
burst; the active-run check is exercised by setting moto's execution status to Executing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

from infra.lambda_environment import environment_for
from infra.lambdas.retrain_guard import GuardError, handle
from localcloud.moto_extensions import sagemaker_clock
from localcloud.stories.simulate import SimulatedClock
from pipelines import parameters
from pipelines import settings as project_settings
from processing_scripts.aws_clients import AwsClients, AwsTarget

SETTINGS = project_settings.load("dev")
ENV = environment_for(SETTINGS, "retrain-guard")
TRAINING = SETTINGS.training_pipeline_name
PARAMETERS = [{"Name": parameters.TRIGGERED_BY, "Value": "drift-alarm"}]
EVENT_TIME = "2026-11-23T16:00:00Z"
# What the guard starts the pipeline with: the rule's parameters plus the event's time as the snapshot.
STARTED_WITH = [*PARAMETERS, {"Name": parameters.DATA_SNAPSHOT, "Value": EVENT_TIME}]


@pytest.fixture
def clients() -> Iterator[AwsClients]:
    with mock_aws():
        clients = AwsClients(AwsTarget(region=SETTINGS.region))
        clients.sagemaker.create_pipeline(
            PipelineName=TRAINING,
            PipelineDefinition='{"Version": "2020-12-01", "Steps": []}',
            RoleArn=SETTINGS.role_arn(project_settings.PIPELINE_ROLE),
        )
        yield clients


def guard_input(event_id: str | None = None) -> dict[str, Any]:
    """What the drift rule's InputTransformer delivers to the guard."""
    alarm_arn = f"arn:aws:cloudwatch:{SETTINGS.region}:{SETTINGS.account}:alarm:{SETTINGS.drift_alarm_name}"
    return {
        "PipelineName": TRAINING,
        "PipelineParameterList": PARAMETERS,
        "event": {
            "id": event_id or str(uuid.uuid4()),
            "source": "aws.cloudwatch",
            "detail-type": "CloudWatch Alarm State Change",
            "time": EVENT_TIME,
            "resources": [alarm_arn],
            "detail": {
                "alarmName": SETTINGS.drift_alarm_name,
                "state": {"value": "ALARM"},
                "previousState": {"value": "OK"},
            },
        },
    }


def executions(clients: AwsClients) -> list[dict[str, Any]]:
    return clients.sagemaker.list_pipeline_executions(PipelineName=TRAINING)["PipelineExecutionSummaries"]


def test_a_burst_of_alarm_events_starts_exactly_one_run(clients: AwsClients) -> None:
    results = [handle(guard_input(), clients.client, ENV) for _ in range(25)]
    started = [r for r in results if r["action"] == "started"]
    assert len(started) == 1
    assert results[0] is started[0]
    assert all("cooldown" in r["reason"] for r in results[1:])
    (execution,) = executions(clients)
    assert execution["PipelineExecutionArn"] == started[0]["pipeline_execution_arn"]
    assert started[0]["parameters"] == STARTED_WITH


def passed_parameters(clients: AwsClients, arn: str) -> list[dict[str, str]]:
    return clients.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
        "PipelineParameters"
    ]


def test_the_run_gets_the_rules_parameters_and_the_event_time_as_data_snapshot(clients: AwsClients) -> None:
    """A new snapshot per trigger: the retraining's steps are cache misses, so it reads the data again."""
    arn = handle(guard_input(), clients.client, ENV)["pipeline_execution_arn"]
    assert passed_parameters(clients, arn) == STARTED_WITH


def test_the_execution_names_the_alarm_that_started_it(clients: AwsClients) -> None:
    """Lineage: "which alarm retrained this model" is answered by the execution itself."""
    event = guard_input("e-1")
    arn = handle(event, clients.client, ENV)["pipeline_execution_arn"]
    described = clients.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionDescription"] == (
        f"retraining triggered by alarm {SETTINGS.drift_alarm_name} (aws.cloudwatch event e-1)"
    )


def test_a_scheduled_event_also_names_a_snapshot(clients: AwsClients) -> None:
    event = guard_input()
    event["event"] = {
        "id": "schedule-event",
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "time": "2026-11-30T00:00:00Z",
        "detail": {},
    }
    arn = handle(event, clients.client, ENV)["pipeline_execution_arn"]
    assert passed_parameters(clients, arn)[-1] == {
        "Name": parameters.DATA_SNAPSHOT,
        "Value": "2026-11-30T00:00:00Z",
    }


def test_a_snapshot_set_by_the_rule_is_kept(clients: AwsClients) -> None:
    rule_parameters = [*PARAMETERS, {"Name": parameters.DATA_SNAPSHOT, "Value": "export-2026-11"}]
    event = guard_input() | {"PipelineParameterList": rule_parameters}
    arn = handle(event, clients.client, ENV)["pipeline_execution_arn"]
    assert passed_parameters(clients, arn) == rule_parameters


def test_a_duplicate_delivery_is_a_no_op(clients: AwsClients) -> None:
    first = handle(guard_input("same-event-id"), clients.client, ENV)
    again = handle(guard_input("same-event-id"), clients.client, ENV)
    assert (first["action"], again["action"]) == ("started", "skipped")
    assert len(executions(clients)) == 1


def at(moment: datetime) -> dict[str, Any]:
    """A new alarm event whose EventBridge ``time`` is ``moment``."""
    event = guard_input()
    event["event"]["time"] = f"{moment:%Y-%m-%dT%H:%M:%SZ}"
    return event


def test_without_cooldown_distinct_events_each_start(clients: AwsClients) -> None:
    env = ENV | {"COOLDOWN_MINUTES": "0"}
    later = datetime.now(UTC) + timedelta(minutes=1)
    actions = [handle(at(later + timedelta(seconds=i)), clients.client, env)["action"] for i in range(2)]
    assert actions == ["started", "started"]
    assert len(executions(clients)) == 2


def test_the_cooldown_is_measured_at_the_events_time(clients: AwsClients) -> None:
    """Not at the Lambda's wall clock: simulate's alarms are hours apart in simulated time, seconds
    apart in wall time (issue 17); and a retried delivery is judged at its alarm's time."""
    cooldown = int(ENV["COOLDOWN_MINUTES"])
    clock = SimulatedClock(datetime(2026, 3, 1, 1, 1, tzinfo=UTC))
    with sagemaker_clock.stamped_by(clock):
        assert handle(at(clock.now), clients.client, ENV)["action"] == "started"
        clock.now += timedelta(minutes=cooldown - 1)
        held = handle(at(clock.now), clients.client, ENV)
        assert held["action"] == "skipped" and f"within the {cooldown}-minute cooldown" in held["reason"]
        clock.now += timedelta(minutes=2)
        assert handle(at(clock.now), clients.client, ENV)["action"] == "started"
    assert max(e["StartTime"] for e in executions(clients)).astimezone(UTC) == clock.now  # the story's clock


def test_an_active_run_blocks_a_start_even_after_the_cooldown(clients: AwsClients) -> None:
    arn = handle(guard_input(), clients.client, ENV)["pipeline_execution_arn"]
    backend = sagemaker_backends[SETTINGS.account][SETTINGS.region]
    backend.pipelines[TRAINING].pipeline_executions[arn].pipeline_execution_status = "Executing"
    result = handle(guard_input(), clients.client, ENV | {"COOLDOWN_MINUTES": "0"})
    assert result["action"] == "skipped"
    assert result["reason"] == f"execution {arn} is Executing"


def test_the_token_is_derived_from_the_state_the_check_saw() -> None:
    """Every trigger deciding from the same newest execution sends the same token, so SageMaker
    completes one start among them, whichever events they were (see test_handler_concurrency)."""
    from datetime import UTC, datetime

    from infra.lambdas.retrain_guard import client_request_token

    older = {"PipelineExecutionArn": "arn:x/1", "StartTime": datetime(2026, 1, 1, tzinfo=UTC)}
    newer = {"PipelineExecutionArn": "arn:x/2", "StartTime": datetime(2026, 2, 1, tzinfo=UTC)}
    none = client_request_token(TRAINING, [])
    after_newer = client_request_token(TRAINING, [older, newer])
    assert after_newer == client_request_token(TRAINING, [newer, older]) != none
    assert none != client_request_token(TRAINING, [older]) != after_newer
    assert 32 <= len(none) <= 128


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("not an object", "must be a JSON object"),
        ({"PipelineParameterList": []}, "PipelineName is missing"),
        ({"PipelineName": TRAINING, "PipelineParameterList": [{"Name": "x"}], "event": {"id": "1"}}, "Name"),
        ({"PipelineName": TRAINING, "PipelineParameterList": []}, "event.event.id is missing"),
        # Found by the robustness campaign: a non-string Name reached StartPipelineExecution.
        (guard_input() | {"PipelineParameterList": [{"Name": ["x"], "Value": "1"}]}, '"Name": "<string>"'),
        (guard_input() | {"PipelineParameterList": [{"Name": "x", "Value": 7}]}, '"Value": "<string>"'),
        (guard_input() | {"PipelineName": "someone-elses-pipeline"}, "not one this guard may start"),
        (
            guard_input() | {"event": {"id": "1", "source": "aws.cloudwatch"}},
            f"event.event.time is missing: it becomes the {parameters.DATA_SNAPSHOT} parameter",
        ),
        # A time that is not EventBridge's would become DataSnapshot, the step cache's key (issue 11, 10).
        (guard_input() | {"event": {"id": "1", "time": 1733058000}}, "1733058000 is not an event time"),
        (guard_input() | {"event": {"id": "1", "time": "yesterday"}}, "'yesterday' is not an event time"),
        (guard_input() | {"event": {"id": "1", "time": "2026-12-01T13:00:00"}}, "is not an event time"),
    ],
)
def test_bad_events_fail_with_a_clear_message(clients: AwsClients, event: Any, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        handle(event, clients.client, ENV)
    assert executions(clients) == []


@pytest.mark.parametrize("missing", ["COOLDOWN_MINUTES", "DATA_SNAPSHOT_PARAMETER"])
def test_misconfiguration_is_named(missing: str) -> None:
    env = {name: value for name, value in ENV.items() if name != missing}
    with pytest.raises(GuardError, match=missing):
        handle(guard_input(), lambda service: None, env)


def test_the_snapshot_parameter_name_comes_from_the_parameters_module() -> None:
    assert ENV["DATA_SNAPSHOT_PARAMETER"] == parameters.DATA_SNAPSHOT
