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
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.settings import Settings

ClientFactory = Callable[[str], Any]  # service name -> boto3 client (the emulator's, locally)
EnvironmentFor = Callable[[Settings, str], Mapping[str, str]]
_UNQUALIFIED_ARN_PARTS = 7  # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]


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

    def invoke(self, event: Any, client: ClientFactory) -> Any:
        """Call the handler with ``event``, the client factory and a copy of the environment."""
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
class LambdaRegistry:
    """The functions the local cloud can invoke, by unqualified ARN."""

    functions: Mapping[str, LambdaFunction]  # unqualified ARN -> function

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

    def function(self, arn: str) -> LambdaFunction:
        """The function ``arn`` names (qualified or not); :class:`UnknownFunctionError` otherwise."""
        found = self.functions.get(unqualified_arn(arn))
        if found is None:
            known = ", ".join(self.functions) or "none"
            raise UnknownFunctionError(f"{arn!r} is not one of the project's Lambda functions ({known})")
        return found


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
