"""Lambda for the local cloud: the project's functions, by ARN, invoked in-process.

moto can store a function but needs Docker to run one, and the project's functions are plain Python
modules anyway (``infra/lambdas``: ``handle(event, client, env)``), so the local cloud calls them
in-process. Two callers invoke functions in AWS, and both come through this one registry:

- a pipeline's Lambda step (``FunctionArn``; the local executor's Lambda runner);
- an EventBridge rule's Lambda target (``Arn``; :class:`localcloud.eventbridge.EventRouter`).

So a function has one definition here: its unqualified ARN (``settings.function_arn(purpose)``),
the module that handles it (``infra.lambdas.HANDLERS``) and the environment the CDK stack gives the
deployed function (``infra.lambda_environment.environment_for``). An ARN with a ``:version`` or
``:alias`` qualifier names the same function, as in Lambda's Invoke. Invocation maps failures one
way for every caller: an error from an AWS call inside the function (botocore) is an AWS failure,
anything else a function error with its type and message, never a traceback.

A foreign pipeline's Lambda steps name functions that are not the project's. ``run-local --lambda
ARN=path/handler.py:function`` adds them as :class:`UserFunction`: the user's handler, invoked as the
Lambda Python runtime invokes it (``handler(event, context)``) in a subprocess of the user's
interpreter, with the emulator's endpoint and fake credentials in its environment.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.settings import Settings

ClientFactory = Callable[[str], Any]  # service name -> boto3 client (the emulator's, locally)
EnvironmentFor = Callable[[Settings, str], Mapping[str, str]]
LineSink = Callable[[str], None]
_UNQUALIFIED_ARN_PARTS = 7  # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
_NAME_PART = 6
INVOKE_HANDLER_SCRIPT = Path(__file__).parent / "bootstrap" / "invoke_handler.py"
# Lambda's longest timeout: https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
USER_FUNCTION_TIMEOUT_SECONDS = 900


class UnknownFunctionError(LookupError):
    """An ARN names no function of the project; the message lists the ones it knows."""


class FunctionError(RuntimeError):
    """An invocation failed; the message is one line. ``aws_error`` is set when the failure was an
    AWS call inside the function (a botocore error), so callers can classify it as AWS would."""

    def __init__(self, message: str, aws_error: Exception | None = None) -> None:
        super().__init__(message)
        self.aws_error = aws_error


def unqualified_arn(arn: str) -> str:
    """``...:function:name:alias`` -> ``...:function:name`` (Lambda resolves both to one function)."""
    return ":".join(arn.split(":")[:_UNQUALIFIED_ARN_PARTS])


def function_name(arn_or_name: str) -> str:
    """The function's name, from an ARN (qualified or not) or a name (as Lambda's Invoke accepts)."""
    parts = arn_or_name.split(":")
    return parts[_NAME_PART] if arn_or_name.startswith("arn:") and len(parts) > _NAME_PART else arn_or_name


class Function(Protocol):
    """What an invoker needs of a function, whoever wrote it."""

    @property
    def purpose(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def name(self) -> str:
        """The function's name (Lambda's session name for the function's role)."""
        ...

    def invoke(self, event: Any, client: ClientFactory, log: LineSink | None = None) -> Any: ...


@dataclass(frozen=True)
class LambdaFunction:
    """One deployed function as the local cloud runs it."""

    purpose: str  # settings.FUNCTION_PURPOSES: "deploy", "retrain-guard"
    arn: str  # unqualified
    handler_module: str  # exposes handle(event, client, env)
    environment: Mapping[str, str]

    @property
    def name(self) -> str:
        """The function's name (Lambda's session name for the function's role)."""
        return self.arn.rsplit(":", 1)[-1]

    @property
    def description(self) -> str:
        return f"{self.handler_module}.handle"

    def invoke(self, event: Any, client: ClientFactory, log: LineSink | None = None) -> Any:
        """Call the handler with ``event``, the client factory and a copy of the environment.

        In-process: what it prints goes to this process's output, so ``log`` is not needed."""
        try:
            handle = importlib.import_module(self.handler_module).handle
        except (ImportError, AttributeError) as err:
            raise FunctionError(
                f"cannot load the {self.purpose} handler from {self.handler_module}: {_one_line(err)}"
            ) from err
        try:
            return handle(event=event, client=client, env=dict(self.environment))
        except Exception as err:
            what = f"{type(err).__name__}: {_one_line(err)}"
            if type(err).__module__.startswith("botocore"):
                raise FunctionError(f"{self.purpose} function: an AWS call failed: {what}", err) from err
            raise FunctionError(f"{self.purpose} function error: {what}") from err


@dataclass(frozen=True)
class UserHandler:
    """What ``--lambda NAME=path/handler.py:function`` says: a function and the code that handles it.

    ``name`` is an ARN (matched unqualified) or a function name (matched against the name part of
    the step's ARN, whatever its account and region).
    """

    name: str
    file: Path
    function: str

    @classmethod
    def parse(cls, text: str) -> UserHandler:
        """``NAME=path/handler.py:function``; ValueError (one line) if malformed or the file is missing."""
        name, _, handler = text.partition("=")
        path, _, function = handler.rpartition(":")
        if not name or not path or not function.isidentifier():
            raise ValueError(f"--lambda {text!r}: expected ARN_OR_NAME=path/to/handler.py:function")
        file = Path(path).expanduser()
        if not file.is_file():
            raise ValueError(f"--lambda {text!r}: {file} is not a file")
        return cls(name, file, function)


@dataclass(frozen=True)
class UserFunction:
    """A user's handler, run as the Lambda Python runtime runs it, in the user's interpreter.

    ``environment`` is read at each invocation (the emulator's endpoint exists only once it runs).
    """

    handler: UserHandler
    python: str
    environment: Callable[[], Mapping[str, str]]

    @property
    def name(self) -> str:
        return self.handler.name

    @property
    def purpose(self) -> str:
        return function_name(self.name)

    @property
    def arn(self) -> str:
        """As given: an ARN, or a bare name (which names the function to Lambda's Invoke, too)."""
        return self.name

    @property
    def description(self) -> str:
        return f"{self.handler.file}:{self.handler.function}"

    def matches(self, arn: str) -> bool:
        if self.name.startswith("arn:"):
            return unqualified_arn(self.name) == unqualified_arn(arn)
        return self.name == function_name(arn)

    def invoke(self, event: Any, client: ClientFactory, log: LineSink | None = None) -> Any:
        """Run the handler in a subprocess; its output goes to ``log`` line by line."""
        environment = {
            **{k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ},
            **self.environment(),
            "AWS_LAMBDA_FUNCTION_NAME": self.purpose,  # what Lambda sets; the bootstrap's context reads it
            "LOCALCLOUD_INVOKED_FUNCTION_ARN": self.arn,  # the bootstrap's context.invoked_function_arn
            "PYTHONUNBUFFERED": "1",
        }
        argv = [self.python, str(INVOKE_HANDLER_SCRIPT), str(self.handler.file), self.handler.function]
        with tempfile.TemporaryDirectory(prefix="lambda-") as folder:
            result_file = Path(folder) / "result.json"
            try:
                finished = subprocess.run(
                    [*argv, str(result_file)],
                    input=json.dumps(event),
                    capture_output=True,
                    text=True,
                    env=environment,
                    timeout=USER_FUNCTION_TIMEOUT_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as err:
                raise FunctionError(
                    f"{self.purpose} function ({self.description}): {_one_line(err)}"
                ) from err
            for line in (finished.stdout + finished.stderr).splitlines():
                if log is not None:
                    log(line)
            if not result_file.is_file():
                tail = _one_line(finished.stderr.strip().splitlines()[-1]) if finished.stderr.strip() else ""
                raise FunctionError(
                    f"{self.purpose} function ({self.description}) exited {finished.returncode} "
                    f"without a result{': ' + tail if tail else ''}"
                )
            outcome = json.loads(result_file.read_text())
        if "errorType" in outcome:
            where = f" at {outcome['where']}" if outcome.get("where") else ""
            raise FunctionError(
                f"{self.purpose} function error: {outcome['errorType']}: "
                f"{_one_line(outcome['errorMessage'])}{where}"
            )
        return outcome["result"]


@dataclass(frozen=True)
class LambdaRegistry:
    """The functions the local cloud can invoke: the project's by unqualified ARN, then the user's."""

    functions: Mapping[str, LambdaFunction]  # unqualified ARN -> function
    user_functions: tuple[UserFunction, ...] = ()

    @classmethod
    def build(
        cls, settings: Settings, handlers: Mapping[str, str], environment_for: EnvironmentFor
    ) -> LambdaRegistry:
        """Functions for ``handlers`` (purpose -> module), each with ``environment_for(settings, purpose)``.

        Tests pass their own handler modules; :meth:`for_project` passes the project's.
        """
        functions = (
            LambdaFunction(
                purpose, settings.function_arn(purpose), module, dict(environment_for(settings, purpose))
            )
            for purpose, module in handlers.items()
        )
        return cls({function.arn: function for function in functions})

    @classmethod
    def for_project(cls, settings: Settings) -> LambdaRegistry:
        """The project's functions, exactly as the CDK stack deploys them."""
        from infra.lambda_environment import environment_for
        from infra.lambdas import HANDLERS

        return cls.build(settings, HANDLERS, environment_for)

    def with_user_functions(self, functions: tuple[UserFunction, ...]) -> LambdaRegistry:
        """This registry plus the user's handlers (``--lambda``)."""
        return LambdaRegistry(self.functions, (*self.user_functions, *functions))

    def function(self, arn: str) -> Function:
        """The function ``arn`` names (qualified or not, or a name); :class:`UnknownFunctionError` otherwise."""
        found: Function | None = self.functions.get(unqualified_arn(arn))
        if found is None:
            found = next((f for f in self.user_functions if f.matches(arn)), None)
        if found is None:
            known = ", ".join([*self.functions, *(f.name for f in self.user_functions)]) or "none"
            raise UnknownFunctionError(f"{arn!r} is not a Lambda function the local cloud knows ({known})")
        return found


def _one_line(err: object) -> str:
    return " ".join(str(err).split())
