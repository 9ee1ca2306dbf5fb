"""Callback steps: a message on the step's SQS queue, then a wait for someone to answer the token.

What SageMaker does (the "Callback step" page of the Pipelines guide): it generates a token, sends
``{"token", "pipelineExecutionArn", "arguments"}`` to the queue named by ``SqsQueueUrl`` and waits
until SendPipelineExecutionStepSuccess (with ``OutputParameters`` as name/value strings) or
SendPipelineExecutionStepFailure (with a ``FailureReason``) names that token.

Locally the message goes to the emulated queue of the same name (created, and logged, when the run
has none), so a consumer written against SQS can read it from the emulator. The answer comes from
another terminal: ``python -m pipelines callback succeed TOKEN -o name=value`` or ``callback fail
TOKEN --reason ...`` (:mod:`pipelines.cli.callback_commands`). The emulator lives inside the
``run-local`` process, so the two processes meet through files in the runs directory instead: the
waiting step writes ``<token>.callback.json`` (what it waits for) into its work directory, the CLI
writes ``<token>.answer.json`` next to it with an atomic rename, and the step polls for it. A
stopped run (Ctrl-C) removes its pending file, so a late answer is refused with a clear message
rather than written into a run that is gone; like StopPipelineExecution, it also sends the queue a
message with ``"status": "Stopping"`` so a consumer can clean up.

Output values arrive as strings, as in the API, and are typed as the step declares them
(``OutputParameters[].OutputType``) by :func:`typed_outputs`, which the CLI also calls so a bad value
is refused before it is sent.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.sagemaker.executor.steps.base import StepContext, StepError, StepResult, aws_failure
from pipelines.definition.parameter_values import parse_value

PENDING_SUFFIX = ".callback.json"
ANSWER_SUFFIX = ".answer.json"
# SendPipelineExecutionStep{Success,Failure}: "CallbackToken ... Fixed length of 10. Pattern:
# [a-zA-Z0-9]+"; FailureReason "Maximum length of 256" (SageMaker API Reference).
TOKEN_LENGTH = 10
TOKEN_ALPHABET = string.ascii_letters + string.digits
MAX_FAILURE_REASON = 256
MAX_OUTPUT_PARAMETERS = 50
# The executor's own limit: a step definition carries no timeout and a local run left unattended
# should not wait forever. LocalPipelineRunner users pass another one to CallbackRunner.
DEFAULT_TIMEOUT_SECONDS = 24 * 60 * 60
POLL_SECONDS = 0.2


class CallbackError(ValueError):
    """An answer the waiting step cannot accept; the message says which part and why."""


@dataclass(frozen=True)
class Pending:
    """What a waiting step wrote: enough for the CLI to check an answer before sending it."""

    token: str
    path: Path
    execution_arn: str
    step: str
    outputs: dict[str, str]  # the step's OutputParameters: OutputName -> OutputType

    @property
    def answer_path(self) -> Path:
        return self.path.with_name(f"{self.token}{ANSWER_SUFFIX}")


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def check_token(token: str) -> None:
    if len(token) != TOKEN_LENGTH or any(c not in TOKEN_ALPHABET for c in token):
        raise CallbackError(f"callback token {token!r} is not {TOKEN_LENGTH} letters and digits")


def typed_outputs(declared: Mapping[str, str], values: Mapping[str, str]) -> dict[str, Any]:
    """The answer's string values typed as the step declares them (OutputName -> OutputType);
    names the step does not declare are refused."""
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise CallbackError(
            f"output {', '.join(unknown)} is not declared by the step "
            f"(declared: {', '.join(declared) or 'none'})"
        )
    if len(values) > MAX_OUTPUT_PARAMETERS:
        raise CallbackError(f"at most {MAX_OUTPUT_PARAMETERS} output parameters, got {len(values)}")
    return {name: _typed(name, declared[name], text) for name, text in values.items()}


def _typed(name: str, kind: str, text: str) -> Any:
    try:
        return parse_value(kind, text)  # the rule set parameter overrides use: the same strings
    except ValueError as err:
        raise CallbackError(f"output {name}: {err}") from None


def find_pending(runs_dir: Path, token: str) -> Pending:
    """The step waiting for ``token`` under ``runs_dir``, or a :class:`CallbackError` saying why not."""
    check_token(token)
    found = next(iter(runs_dir.rglob(f"{token}{PENDING_SUFFIX}")), None) if runs_dir.is_dir() else None
    if found is None:
        raise CallbackError(
            f"no step under {runs_dir} is waiting for callback token {token} "
            "(the run finished, was stopped, or uses another --runs-dir)"
        )
    try:
        doc = json.loads(found.read_text())
    except (OSError, json.JSONDecodeError) as err:  # the run ended just now, or a damaged file
        raise CallbackError(f"the step waiting for callback token {token} is gone ({err})") from err
    return Pending(token, found, doc["pipelineExecutionArn"], doc["step"], doc["outputs"])


def answer(pending: Pending, *, outputs: Mapping[str, str] | None = None, failure: str | None = None) -> None:
    """Answer a waiting step: success with ``outputs`` (name -> string value), or ``failure``."""
    if failure is not None:
        if len(failure) > MAX_FAILURE_REASON:
            raise CallbackError(
                f"the failure reason is {len(failure)} characters; at most {MAX_FAILURE_REASON}"
            )
        document: dict[str, Any] = {"status": "Failed", "FailureReason": failure}
    else:
        values = dict(outputs or {})
        typed_outputs(pending.outputs, values)  # refuse before the step sees it
        document = {
            "status": "Succeeded",
            "OutputParameters": [{"Name": k, "Value": v} for k, v in values.items()],
        }
    target = pending.answer_path
    if target.exists():
        raise CallbackError(f"callback token {pending.token} was already answered")
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(document))
    os.replace(partial, target)  # atomic: the waiting step never reads half a file


class CallbackRunner:
    """Runs Callback steps, each waiting at most ``timeout_seconds`` for its answer."""

    def __init__(
        self,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        *,
        poll_seconds: float = POLL_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self._sleep = sleep

    def __call__(self, ctx: StepContext) -> StepResult:
        declared = dict(ctx.spec.output_parameters)
        queue_url = self._queue(ctx, str(ctx.spec.body.get("SqsQueueUrl", "")))
        token = new_token()
        pending = ctx.work_dir / f"{token}{PENDING_SUFFIX}"
        pending.write_text(
            json.dumps(
                {
                    "pipelineExecutionArn": ctx.execution.execution_arn,
                    "step": ctx.spec.name,
                    "outputs": declared,
                }
            )
        )
        message = {
            "token": token,
            "pipelineExecutionArn": ctx.execution.execution_arn,
            "arguments": ctx.arguments,
        }
        self._send(ctx, queue_url, message)
        ctx.log.line(f"sent callback token {token} to {queue_url}")
        ctx.log.line(f"declared outputs: {', '.join(f'{n} ({t})' for n, t in declared.items()) or 'none'}")
        # A warning is what the run's terminal shows while the step waits: the user needs the token.
        ctx.warn(
            f"waiting for callback token {token}: answer with `python -m pipelines callback succeed "
            f"{token} [-o NAME=VALUE ...]` or `callback fail {token} --reason TEXT`"
        )
        try:
            reply = self._wait(pending.with_name(f"{token}{ANSWER_SUFFIX}"))
        except KeyboardInterrupt:
            self._send(ctx, queue_url, {**message, "status": "Stopping"}, best_effort=True)
            raise
        finally:
            pending.unlink(missing_ok=True)
        if reply is None:
            raise StepError(f"no answer to callback token {token} within {self.timeout_seconds:g}s")
        if reply["status"] == "Failed":
            ctx.log.line(f"callback failed: {reply['FailureReason']}")
            raise StepError(reply["FailureReason"] or f"callback token {token} was answered with a failure")
        values = {item["Name"]: item["Value"] for item in reply["OutputParameters"]}
        try:
            outputs = typed_outputs(declared, values)
        except CallbackError as err:
            raise StepError(str(err)) from err
        ctx.log.line(f"callback succeeded with {outputs}")
        return StepResult(properties={"OutputParameters": outputs})

    def _wait(self, answer_path: Path) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.timeout_seconds
        while time.monotonic() < deadline:
            if answer_path.is_file():
                reply: dict[str, Any] = json.loads(answer_path.read_text())
                return reply
            self._sleep(self.poll_seconds)
        return None

    @staticmethod
    def _queue(ctx: StepContext, url: str) -> str:
        """The emulator's URL of the queue the step names, created when this run has none."""
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if not name:
            raise StepError(f"SqsQueueUrl {url!r} names no queue")
        sqs = ctx.aws.clients.client("sqs")
        try:
            return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            ctx.log.line(f"queue {name} does not exist in the emulator: created it")
            return str(sqs.create_queue(QueueName=name)["QueueUrl"])
        except Exception as err:
            raise aws_failure(f"finding queue {name}", err) from err

    @staticmethod
    def _send(
        ctx: StepContext, queue_url: str, message: dict[str, Any], *, best_effort: bool = False
    ) -> None:
        try:
            ctx.aws.clients.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
        except Exception as err:
            if not best_effort:
                raise aws_failure(f"sending the callback message to {queue_url}", err) from err
