"""The storm guard between "something says retrain" and the training pipeline.

EventBridge cannot ask whether a pipeline is already running, and it delivers at least once; a flapping
drift alarm plus the weekly schedule could otherwise start a pile of identical, expensive retraining
runs. So every retraining trigger targets this function instead of the pipeline. It starts the
pipeline only when

1. no execution of it is Executing or Stopping, and
2. none started within the cooldown (``COOLDOWN_MINUTES``),

Check-then-start is made race-safe by construction, not by timing: the ClientRequestToken is derived
from what the check saw (the pipeline and its newest execution, or none). Every trigger that decided
"start" from the same state (duplicate deliveries, or distinct alarm events handled at once) sends the
same token, and SageMaker completes a token's start no more than once, so they all get one execution;
a trigger that looks after that start sees it and skips. The function's reserved concurrency of 1
serializes invocations on top of that, but correctness no longer depends on it (a local run, a retry
or a changed template may run two at once).

It also adds the data-snapshot parameter (its name comes from ``DATA_SNAPSHOT_PARAMETER``) set to
the triggering event's ``time``, unless the rule's Input already sets it. SageMaker's step cache keys
on a step's arguments, not on the data behind an S3 URI; a retraining that passed the same
parameters as the last run would reuse every cached step and re-register the old model. A new
snapshot per trigger makes the pipeline read the data again.

The rule target's Input is ``{"PipelineName": ..., "PipelineParameterList": [{"Name", "Value"}],
"event": <the EventBridge event>}``. Runs in the Lambda runtime (stdlib + boto3 only).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

ACTIVE_STATUSES = ("Executing", "Stopping")
RECENT_EXECUTIONS = 20  # newest first: enough to see any active run and the last start


class GuardError(ValueError):
    """The event or the configuration is unusable; the message names the field."""


@dataclass(frozen=True)
class GuardConfig:
    cooldown_minutes: int
    allowed_pipelines: tuple[str, ...]
    data_snapshot_parameter: str  # the pipeline parameter that names the data version

    def to_env(self) -> dict[str, str]:
        return {
            "COOLDOWN_MINUTES": str(self.cooldown_minutes),
            "ALLOWED_PIPELINES": ",".join(self.allowed_pipelines),
            "DATA_SNAPSHOT_PARAMETER": self.data_snapshot_parameter,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GuardConfig:
        try:
            cooldown = int(env["COOLDOWN_MINUTES"])
            allowed = tuple(name for name in env["ALLOWED_PIPELINES"].split(",") if name)
            snapshot_parameter = env["DATA_SNAPSHOT_PARAMETER"]
        except KeyError as err:
            raise GuardError(f"retrain guard misconfigured: environment lacks {err.args[0]}") from None
        except ValueError:
            raise GuardError(f"COOLDOWN_MINUTES={env['COOLDOWN_MINUTES']!r} is not an integer") from None
        if not snapshot_parameter:
            raise GuardError("retrain guard misconfigured: DATA_SNAPSHOT_PARAMETER is empty")
        return cls(
            cooldown_minutes=cooldown, allowed_pipelines=allowed, data_snapshot_parameter=snapshot_parameter
        )


@dataclass(frozen=True)
class RetrainRequest:
    pipeline_name: str
    parameters: list[dict[str, str]]
    event_id: str
    source: str
    event_time: str | None
    # The alarm whose state change this is (CloudWatch's event carries it as detail.alarmName), so
    # the execution says which alarm retrained the model (`pipelines lineage` shows it).
    alarm_name: str | None = None

    @classmethod
    def parse(cls, event: Any) -> RetrainRequest:
        if not isinstance(event, dict):
            raise GuardError(f"event must be a JSON object, got {type(event).__name__}")
        name = event.get("PipelineName")
        if not isinstance(name, str) or not name:
            raise GuardError("event.PipelineName is missing: the rule target's Input must name the pipeline")
        parameters = event.get("PipelineParameterList", [])
        # StartPipelineExecution takes strings only (API reference, Parameter: Name and Value are
        # String); anything else would fail inside the call instead of here, with one line.
        if not isinstance(parameters, list) or not all(
            isinstance(p, dict)
            and set(p) == {"Name", "Value"}
            and all(isinstance(v, str) for v in p.values())
            for p in parameters
        ):
            raise GuardError(
                'event.PipelineParameterList must be a list of {"Name": "<string>", "Value": "<string>"}'
            )
        trigger = event.get("event")
        if not isinstance(trigger, dict) or not trigger.get("id"):
            raise GuardError("event.event.id is missing: the Input must carry the triggering event")
        time = trigger.get("time")
        if time is not None and not _is_event_time(time):
            raise GuardError(
                f"event.event.time {time!r} is not an event time (EventBridge writes e.g. 2026-12-01T13:00:00Z)"
            )
        detail = trigger.get("detail")
        alarm = detail.get("alarmName") if isinstance(detail, dict) else None
        return cls(
            name,
            parameters,
            str(trigger["id"]),
            str(trigger.get("source", "unknown")),
            time or None,
            alarm if isinstance(alarm, str) and alarm else None,
        )

    @property
    def description(self) -> str:
        """The execution's description: what started it, findable later from the execution alone."""
        cause = (
            f"alarm {self.alarm_name} ({self.source} event {self.event_id})"
            if self.alarm_name
            else (f"{self.source} event {self.event_id}")
        )
        return f"retraining triggered by {cause}"

    def with_data_snapshot(self, parameter: str) -> list[dict[str, str]]:
        """The rule's parameters plus ``parameter`` = the event's time, unless the rule set it already.

        Scheduled events carry a time too, so every trigger names a new snapshot.
        """
        if any(p["Name"] == parameter for p in self.parameters):
            return self.parameters
        if self.event_time is None:
            raise GuardError(
                f"event.event.time is missing: it becomes the {parameter} parameter "
                f"(or set {parameter} in the rule target's PipelineParameterList)"
            )
        return [*self.parameters, {"Name": parameter, "Value": self.event_time}]


def handle(event: dict[str, Any], client: Callable[[str], Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Start the pipeline or say why not: ``{"action", "reason", "pipeline_execution_arn", "parameters"}``."""
    config = GuardConfig.from_env(env)
    request = RetrainRequest.parse(event)
    if request.pipeline_name not in config.allowed_pipelines:
        raise GuardError(
            f"pipeline {request.pipeline_name!r} is not one this guard may start ({', '.join(config.allowed_pipelines)})"
        )
    parameters = request.with_data_snapshot(config.data_snapshot_parameter)
    sagemaker = client("sagemaker")
    result: dict[str, Any] = {"pipeline_execution_arn": None, "parameters": parameters}
    # The cooldown is measured at the event's time, not the Lambda's: a delivery EventBridge retried
    # later is judged against the starts around its alarm, and simulate's events carry its clock.
    now = datetime.fromisoformat(request.event_time) if request.event_time else datetime.now(UTC)
    summaries = _recent_executions(sagemaker, request.pipeline_name)
    reason = _reason_to_skip(summaries, config.cooldown_minutes, now)
    if reason:
        return {**result, "action": "skipped", "reason": reason}
    try:
        started = sagemaker.start_pipeline_execution(
            PipelineName=request.pipeline_name,
            PipelineParameters=parameters,
            PipelineExecutionDescription=request.description,
            ClientRequestToken=client_request_token(request.pipeline_name, summaries),
        )
    except sagemaker.exceptions.ConflictException:
        # The token's start completed already, with another trigger's parameters: that run is the one.
        return {**result, "action": "skipped", "reason": "a concurrent trigger started the run"}
    arn = started["PipelineExecutionArn"]
    return {
        **result,
        "action": "started",
        "reason": f"no run active or within the cooldown; started {arn}",
        "pipeline_execution_arn": arn,
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda runtime's entry point: real boto3 clients (cached across warm starts), os.environ."""
    return handle(event, _client, os.environ)


_client = functools.cache(boto3.client)


def client_request_token(pipeline_name: str, summaries: list[dict[str, Any]]) -> str:
    """The same for every trigger that saw the same newest execution (or none): one start among
    them completes (SageMaker's token length is 32-128 characters; a SHA-256 hex is 64)."""
    newest = max(summaries, key=lambda s: s["StartTime"])["PipelineExecutionArn"] if summaries else "none"
    return hashlib.sha256(f"{pipeline_name}:after:{newest}".encode()).hexdigest()


def _recent_executions(sagemaker: Any, pipeline_name: str) -> list[dict[str, Any]]:
    return sagemaker.list_pipeline_executions(
        PipelineName=pipeline_name,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=RECENT_EXECUTIONS,
    )["PipelineExecutionSummaries"]


def _reason_to_skip(summaries: list[dict[str, Any]], cooldown_minutes: int, now: datetime) -> str | None:
    active = [s for s in summaries if s.get("PipelineExecutionStatus") in ACTIVE_STATUSES]
    if active:
        return f"execution {active[0]['PipelineExecutionArn']} is {active[0]['PipelineExecutionStatus']}"
    if not summaries:
        return None
    # Sorted here too: the newest start decides, whatever order the API returned.
    last = max(summaries, key=lambda s: s["StartTime"])
    cooldown_ends = last["StartTime"] + timedelta(minutes=cooldown_minutes)
    if now < cooldown_ends:
        return (
            f"execution {last['PipelineExecutionArn']} started at {last['StartTime']:%Y-%m-%dT%H:%M:%SZ}, "
            f"within the {cooldown_minutes}-minute cooldown (ends {cooldown_ends:%Y-%m-%dT%H:%M:%SZ})"
        )
    return None


def _is_event_time(value: object) -> bool:
    """An ISO 8601 time with a zone, as EventBridge's ``time`` field is: it becomes the
    DataSnapshot parameter, which the step cache keys on, so a number or free text must not pass."""
    if not isinstance(value, str) or not value:
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None
