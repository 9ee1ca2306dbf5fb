"""Lambda steps: the step's ``FunctionArn`` invoked through the local cloud's Lambda registry.

The registry (:mod:`localcloud.awslambda`) resolves the ARN to the project's handler (with the
environment the CDK stack gives the deployed function) or to a user's handler given with
``--lambda``, and invokes it with the step's resolved Arguments as the event, the same path an
EventBridge Lambda target takes. A function the registry does not know is reported by the
pre-flight (:meth:`LambdaRunner.blockers`), before anything runs.

The step's outputs are the result's keys named in ``OutputParameters``. SageMaker keeps every
output as a string (``OutputParameter.Value`` is a String of at most 1024 characters,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputParameter.html) and reads it as
the declared ``OutputType`` when a later step uses it; so, as there, ``"3"`` is a fine Integer and
``7`` a fine String, while a value that does not read as its type fails the step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from localcloud.awslambda import FunctionError, LambdaRegistry, UnknownFunctionError, function_name
from localcloud.sagemaker.executor.steps.base import Blocker, StepContext, StepError, StepResult, aws_failure
from pipelines.definition import Step
from pipelines.settings import Settings

OUTPUT_VALUE_MAX_LENGTH = 1024  # OutputParameter.Value, see the module docstring


class LambdaRunner:
    """Runs Lambda steps with the functions of one registry."""

    def __init__(self, registry: LambdaRegistry) -> None:
        self.registry = registry

    def blockers(self, step: Step, _settings: Settings) -> Iterator[Blocker]:
        """A function the registry does not know cannot run (the pre-flight hook)."""
        arn = step.body.get("FunctionArn")
        if not isinstance(arn, str):
            return  # an expression: resolved only at run time
        try:
            self.registry.function(arn)
        except UnknownFunctionError:
            yield Blocker(
                f"Lambda function {arn} is not one of the project's functions",
                f"--lambda {function_name(arn)}=path/to/handler.py:function (or --stub {step.name}=outputs.json)",
            )

    def __call__(self, ctx: StepContext) -> StepResult:
        arn = str(ctx.spec.body.get("FunctionArn", ""))
        try:
            function = self.registry.function(arn)
        except UnknownFunctionError as err:
            raise StepError(f"FunctionArn {err}") from err
        ctx.authorize("lambda:InvokeFunction", {"FunctionName": function.arn})
        ctx.log.line(f"invoking {function.purpose} ({function.description}) with {ctx.arguments}")
        client = ctx.access.function_clients(function.arn, function.name)
        try:
            result = function.invoke(ctx.arguments, client, ctx.log.line)
        except FunctionError as err:
            if err.aws_error is not None:  # throttling and service faults may be retried, as in SageMaker
                raise aws_failure(f"{function.purpose} function", err.aws_error) from err
            raise StepError(str(err)) from err
        ctx.log.line(f"returned {result}")
        return StepResult(properties={"OutputParameters": _outputs(ctx, result)})


def _outputs(ctx: StepContext, result: Any) -> dict[str, Any]:
    declared = ctx.spec.body.get("OutputParameters") or []
    if declared and not isinstance(result, dict):
        raise StepError(f"the function returned {type(result).__name__}, not an object with outputs")
    outputs: dict[str, Any] = {}
    for item in declared:
        name, kind = item.get("OutputName"), item.get("OutputType", "String")
        if name not in result:
            raise StepError(f"the function's result has no output {name!r} (got {sorted(result)})")
        try:
            outputs[name] = output_value(kind, result[name])
        except ValueError as err:
            raise StepError(f"output {name}: {err}") from err
    return outputs


def output_value(kind: str, value: Any) -> Any:
    """``value`` as SageMaker reads an output of type ``kind``: via its string form; ValueError if
    that string does not read as the type (or is longer than SageMaker keeps)."""
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > OUTPUT_VALUE_MAX_LENGTH:
        raise ValueError(f"{len(text)} characters; SageMaker keeps at most {OUTPUT_VALUE_MAX_LENGTH}")
    if kind == "String":
        return text
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"should be Boolean (true or false), got {value!r}")
        return text.lower() == "true"
    if kind in ("Integer", "Float"):
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"should be {kind}, got {value!r}") from None
        if not math.isfinite(number) or (kind == "Integer" and not number.is_integer()):
            raise ValueError(f"should be {kind}, got {value!r}")
        if kind == "Float":
            return number
        return int(text) if text.strip().lstrip("+-").isdigit() else int(number)  # big ints stay exact
    raise ValueError(f"unknown OutputType {kind!r}")
