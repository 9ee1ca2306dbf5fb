"""Lambda steps: the project's own handler, called in-process with the emulator's clients.

The step's ``FunctionArn`` is matched against ``settings.function_arn(purpose)``; the purpose's
module (``infra.lambdas.HANDLERS``) exposes ``handle(event, client, env)``, which is called with the
step's resolved Arguments as the event, the emulator's client factory and the same environment
variables the CDK stack gives the deployed function (``infra.lambda_environment.environment_for``).
The step's outputs are the handler result's keys named in ``OutputParameters``, type-checked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.sagemaker.executor.steps.base import StepContext, StepError, StepResult, aws_failure
from pipelines.settings import Settings

EnvironmentFor = Callable[[Settings, str], Mapping[str, str]]
_OUTPUT_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}


@dataclass(frozen=True)
class LambdaRegistry:
    """Which module handles which function purpose, and the environment each function gets."""

    handlers: Mapping[str, str]  # purpose -> module exposing handle(event, client, env)
    environment_for: EnvironmentFor

    @classmethod
    def from_project(cls) -> LambdaRegistry:
        """The project's handlers and environments (``infra/lambdas``, ``infra/lambda_environment``)."""
        try:
            from infra.lambda_environment import environment_for
            from infra.lambdas import HANDLERS
        except ImportError as err:
            raise StepError(f"the project's Lambda handlers cannot be imported: {err}") from err
        return cls(handlers=HANDLERS, environment_for=environment_for)


class LambdaRunner:
    """Runs Lambda steps; the registry is loaded on first use (the handlers import boto3 helpers)."""

    def __init__(self, registry: LambdaRegistry | None = None) -> None:
        self._registry = registry

    @property
    def registry(self) -> LambdaRegistry:
        if self._registry is None:
            self._registry = LambdaRegistry.from_project()
        return self._registry

    def __call__(self, ctx: StepContext) -> StepResult:
        arn = str(ctx.spec.body.get("FunctionArn", ""))
        purpose = self._purpose(ctx.settings, arn)
        module_name = self.registry.handlers[purpose]
        try:
            handle = importlib.import_module(module_name).handle
        except (ImportError, AttributeError) as err:
            raise StepError(f"cannot load the {purpose} handler from {module_name}: {err}") from err
        environment = dict(self.registry.environment_for(ctx.settings, purpose))
        ctx.log.line(f"invoking {purpose} ({module_name}.handle) with {ctx.arguments}")
        try:
            result = handle(event=ctx.arguments, client=ctx.aws.clients.client, env=environment)
        except StepError:
            raise
        except Exception as err:
            if type(err).__module__.startswith("botocore"):
                raise aws_failure(f"{purpose} function", err) from err
            raise StepError(f"{purpose} function error: {type(err).__name__}: {err}") from err
        ctx.log.line(f"returned {result}")
        return StepResult(properties={"OutputParameters": _outputs(ctx, result)})

    def _purpose(self, settings: Settings, arn: str) -> str:
        unqualified = ":".join(arn.split(":")[:7])  # drop a :version or :alias qualifier
        for purpose in self.registry.handlers:
            if settings.function_arn(purpose) == unqualified:
                return purpose
        known = ", ".join(settings.function_arn(p) for p in self.registry.handlers)
        raise StepError(f"FunctionArn {arn!r} is not one of the project's functions ({known})")


def _outputs(ctx: StepContext, result: Any) -> dict[str, Any]:
    declared = ctx.spec.body.get("OutputParameters") or []
    if declared and not isinstance(result, dict):
        raise StepError(f"the function returned {type(result).__name__}, not an object with outputs")
    outputs: dict[str, Any] = {}
    for item in declared:
        name, kind = item.get("OutputName"), item.get("OutputType", "String")
        if name not in result:
            raise StepError(f"the function's result has no output {name!r} (got {sorted(result)})")
        value = result[name]
        expected = _OUTPUT_TYPES.get(kind)
        if expected is None:
            raise StepError(f"OutputParameters {name}: unknown OutputType {kind!r}")
        if not isinstance(value, expected) or (kind != "Boolean" and isinstance(value, bool)):
            raise StepError(f"output {name} should be {kind}, got {value!r}")
        outputs[name] = value
    return outputs
