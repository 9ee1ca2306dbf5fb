"""What every step runner receives and returns, and how failures are classified for retries.

A runner gets the step's arguments already resolved (every ``Get``/``Std:Join`` replaced by its
value) and returns the step's properties: the values later steps read with
``Steps.<name>.<property path>``, shaped like the Describe* response SageMaker would give.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from localcloud.account import LocalAws
from localcloud.iam import SAGEMAKER, SAGEMAKER_SESSION, AccessControl, AccessDeniedError, Principal
from pipelines.definition import Step
from pipelines.settings import Settings
from processing_scripts.aws_clients import AwsClients

# SageMaker's retryable exception types (RetryPolicies[].ExceptionType).
SERVICE_FAULT = "Step.SERVICE_FAULT"
THROTTLING = "Step.THROTTLING"
JOB_INTERNAL_ERROR = "SageMaker.JOB_INTERNAL_ERROR"
_THROTTLING_CODES = {"Throttling", "ThrottlingException", "SlowDown", "TooManyRequestsException"}


class StepError(Exception):
    """A step failed. ``exception_type`` says whether a RetryPolicy may retry it (None: never)."""

    def __init__(self, reason: str, exception_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exception_type = exception_type


@dataclass(frozen=True)
class ExecutionInfo:
    pipeline_name: str
    execution_id: str
    execution_arn: str


class StepLog:
    """The step's log file; several threads (instances, tuning jobs) may write lines at once."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str, source: str | None = None) -> None:
        with self._lock:
            self._stream.write(f"[{source}] {text}\n" if source else f"{text}\n")
            self._stream.flush()


class LabelledLog(StepLog):
    """A view of a step log whose lines name their source (tuning runs several jobs at once)."""

    def __init__(self, log: StepLog, label: str) -> None:
        self._log = log
        self._label = label

    def line(self, text: str, source: str | None = None) -> None:
        self._log.line(text, source or self._label)


@dataclass
class StepContext:
    settings: Settings
    aws: LocalAws
    spec: Step
    arguments: Any
    execution: ExecutionInfo
    job_name: str
    work_dir: Path
    log: StepLog
    warn: Callable[[str], None]
    # Resolves an expression outside Arguments (a check step's SkipCheck, Supplied* fields).
    resolve: Callable[[Any], Any]
    access: AccessControl
    # False for a definition this project did not write (see preflight.is_project_definition):
    # warnings about this project's own images and versions ("stale definition") are noise there.
    project_definition: bool = True
    pipeline_role: str | None = None  # the role the pipeline was created with; SageMaker acts as it

    def authorize(
        self, action: str, params: Mapping[str, Any], context: Mapping[str, str] | None = None
    ) -> None:
        """A call SageMaker makes with the pipeline's role (creating a job, invoking a Lambda step)."""
        if self.pipeline_role is None:
            return
        principal = Principal(role_arn=self.pipeline_role, session=SAGEMAKER_SESSION)
        try:
            self.access.authorize(principal, action, params, context=context, on_behalf="sagemaker")
        except AccessDeniedError as err:
            raise StepError(str(err)) from err

    def start_job(self, action: str, request: Mapping[str, Any]) -> AwsClients:
        """SageMaker's checks when the pipeline creates a job: the Create action, then passing the
        job's role to SageMaker (``iam:PassRole``, https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-pass-role).
        Returns the clients SageMaker then uses for the job: its role's (staging data in and out)."""
        self.authorize(action, request)
        role = request.get("RoleArn")
        if self.access.enforcing and not role:
            raise StepError(
                f"{action.split(':')[1]}: Arguments.RoleArn is missing (the role the job runs as)"
            )
        if role:
            self.authorize("iam:PassRole", {"RoleArn": role}, {"iam:PassedToService": SAGEMAKER})
        return self.access.clients_for(role, SAGEMAKER_SESSION)

    @property
    def pipeline_clients(self) -> AwsClients:
        """Clients that call as the pipeline's role (registering a model package, creating a model)."""
        return self.access.clients_for(self.pipeline_role, SAGEMAKER_SESSION)

    def job_environment(self, request: Mapping[str, Any]) -> dict[str, str]:
        """The emulator and the job role's credentials, for the job's processes."""
        return self.access.environment_for(request.get("RoleArn"), SAGEMAKER_SESSION)


@dataclass
class StepResult:
    properties: dict[str, Any]
    # S3 prefixes the step wrote: what a cache hit has to put back into a fresh emulator.
    written_uris: list[str] = field(default_factory=list)


StepRunner = Callable[[StepContext], StepResult]


@dataclass(frozen=True)
class Blocker:
    """Something a step asks for that the local cloud cannot do, found before anything runs.

    ``feature`` says what (e.g. "a Transform with DataProcessing.JoinSource"), ``option`` the
    command-line option that gets past it (None: ``--stub STEP=outputs.json``, which always does).
    """

    feature: str
    option: str | None = None


BlockerCheck = Callable[[Step, Settings], Iterable[Blocker]]
ProblemCheck = Callable[[Mapping[str, Any], Settings], list[str]]
_BLOCKERS_ATTRIBUTE = "blockers"
_Runner = TypeVar("_Runner", bound=StepRunner)


def declares_blockers(check: BlockerCheck) -> Callable[[_Runner], _Runner]:
    """Attach to a runner what it cannot do for a given step, so the pre-flight reports it once,
    before anything runs, instead of the step failing mid-run::

        def _blockers(step: Step, settings: Settings) -> Iterator[Blocker]:
            if step.arguments.get("DataProcessing"):
                yield Blocker("a Transform with DataProcessing")

        @declares_blockers(_blockers)
        def run_transform(ctx: StepContext) -> StepResult: ...

    ``step.arguments`` are as written (expressions not yet resolved). A runner object may define a
    ``blockers(step, settings)`` method instead (see ``LambdaRunner``).
    """

    def attach(runner: _Runner) -> _Runner:
        setattr(runner, _BLOCKERS_ATTRIBUTE, check)
        return runner

    return attach


def from_problems(problems: ProblemCheck) -> BlockerCheck:
    """A runner's plain check (one line per problem, for the step's ``Arguments`` as written) as a
    blocker check; each line is fixed only by ``--stub``, so no other option is named."""

    def check(step: Step, settings: Settings) -> list[Blocker]:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        return [Blocker(problem) for problem in problems(arguments, settings)]

    return check


def from_step_problems(problems: Callable[[Mapping[str, Any]], list[str]]) -> BlockerCheck:
    """:func:`from_problems` for a check that reads the whole step (a check step's ``CheckType``
    and ``SkipCheck`` live beside its Arguments, not in them)."""

    def check(step: Step, _settings: Settings) -> list[Blocker]:
        return [Blocker(problem) for problem in problems(step.body)]

    return check


def blockers_of(runner: StepRunner) -> BlockerCheck | None:
    """The runner's declared check (:func:`declares_blockers` or a ``blockers`` method), if any."""
    check = getattr(runner, _BLOCKERS_ATTRIBUTE, None)
    return check if callable(check) else None


def aws_failure(action: str, err: Exception) -> StepError:
    """Classify an AWS call failure like SageMaker: throttling and service faults may be retried."""
    from botocore import exceptions as bx

    if isinstance(err, bx.ClientError):
        error = err.response.get("Error", {})
        code = error.get("Code", "Error")
        kind = THROTTLING if code in _THROTTLING_CODES else None
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if kind is None and status >= 500:
            kind = SERVICE_FAULT
        operation = getattr(err, "operation_name", "call")
        message = error.get("Message", "")
        if status >= 500 or not message:  # moto answers unimplemented actions with an HTML 500 page
            message = f"HTTP {status} (the emulator may not implement {operation})"
        return StepError(f"{action}: {operation} failed: {code}: {message}", kind)
    if isinstance(err, bx.EndpointConnectionError | bx.ConnectionClosedError | bx.ReadTimeoutError):
        return StepError(f"{action}: the AWS emulator did not answer ({err})", SERVICE_FAULT)
    return StepError(f"{action}: {type(err).__name__}: {err}")


def job_arn(settings: Settings, kind: str, name: str) -> str:
    """The ARN SageMaker would give a job (``processing-job``, ``training-job``, ...)."""
    return f"arn:aws:sagemaker:{settings.region}:{settings.account}:{kind}/{name.lower()}"


def required(arguments: Any, *path: str) -> Any:
    """A nested argument the runner cannot do without; a clear failure naming it if absent."""
    current = arguments
    for depth, key in enumerate(path):
        if not isinstance(current, dict) or key not in current:
            raise StepError(f"Arguments.{'.'.join(path[: depth + 1])} is missing")
        current = current[key]
    return current
