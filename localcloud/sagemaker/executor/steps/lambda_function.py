"""Lambda steps: the step's ``FunctionArn`` invoked through the local cloud's Lambda registry.

The registry (:mod:`localcloud.awslambda`) resolves the ARN to the project's handler and the
environment the CDK stack gives the deployed function, and invokes it with the step's resolved
Arguments as the event and the emulator's client factory, the same path an EventBridge Lambda
target takes. The step's outputs are the result's keys named in ``OutputParameters``, type-checked.
"""

from __future__ import annotations

from typing import Any

from localcloud.awslambda import FunctionError, LambdaRegistry, UnknownFunctionError
from localcloud.sagemaker.executor.steps.base import StepContext, StepError, StepResult, aws_failure

_OUTPUT_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}


class LambdaRunner:
    """Runs Lambda steps with the functions of one registry."""

    def __init__(self, registry: LambdaRegistry) -> None:
        self.registry = registry

    def __call__(self, ctx: StepContext) -> StepResult:
        arn = str(ctx.spec.body.get("FunctionArn", ""))
        try:
            function = self.registry.function(arn)
        except UnknownFunctionError as err:
            raise StepError(f"FunctionArn {err}") from err
        ctx.authorize("lambda:InvokeFunction", {"FunctionName": function.arn})
        ctx.log.line(f"invoking {function.purpose} ({function.handler_module}.handle) with {ctx.arguments}")
        clients = ctx.access.clients_for(ctx.access.function_role(function.arn), function.name)
        try:
            result = function.invoke(ctx.arguments, clients.client)
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
        value = result[name]
        expected = _OUTPUT_TYPES.get(kind)
        if expected is None:
            raise StepError(f"OutputParameters {name}: unknown OutputType {kind!r}")
        if not isinstance(value, expected) or (kind != "Boolean" and isinstance(value, bool)):
            raise StepError(f"output {name} should be {kind}, got {value!r}")
        outputs[name] = value
    return outputs
