"""One Lambda registry: a pipeline's Lambda step and a rule's Lambda target invoke the same function."""

from __future__ import annotations

from typing import Any

import pytest

from infra.lambda_environment import environment_for
from infra.lambdas import HANDLERS
from localcloud import (
    DefinitionError,
    FunctionError,
    LambdaRegistry,
    LocalPipelineRunner,
    UnknownFunctionError,
)
from localcloud.cloudformation import TemplateError
from localcloud.eventbridge import EventRouter, PipelineStart, Rule, RuleTarget
from pipelines import settings as settings_module
from pipelines.settings import FUNCTION_PURPOSES

SETTINGS = settings_module.load("dev")
DEPLOY_ARN = SETTINGS.function_arn("deploy")
OTHER_ARN = f"arn:aws:lambda:{SETTINGS.region}:{SETTINGS.account}:function:someone-else"
calls: list[dict[str, Any]] = []


def handle(event: dict[str, Any], client: Any, env: dict[str, str]) -> dict[str, Any]:
    """A stand-in for the deploy function: records its calls; fails on request."""
    if event.get("fail") == "function":
        raise ValueError("no model\npackage given")
    if event.get("fail") == "aws":
        client("sagemaker").describe_model_package(ModelPackageName="missing")
    calls.append({"event": event, "env": env})
    return {"status": "ok"}


@pytest.fixture
def registry() -> LambdaRegistry:
    """The deploy function handled by this module, with the environment the stack gives it."""
    calls.clear()
    return LambdaRegistry.build(SETTINGS, {"deploy": __name__}, environment_for)


def _router(registry: LambdaRegistry, client: Any, arn: str, payload: str) -> EventRouter:
    target = RuleTarget("Target", arn, {"Id": "Target", "Arn": arn, "Input": payload})
    rule = Rule("r", "arn:aws:events:::rule/r", "fixture: R", {"source": ["test"]}, None, True, (target,))
    starts: list[PipelineStart] = []
    return EventRouter([rule], SETTINGS, client, starts.append, registry)


def _lambda_step(pipeline: Any, arn: str, arguments: dict[str, Any]) -> dict[str, Any]:
    pipeline.add(
        {
            "Name": "Call",
            "Type": "Lambda",
            "FunctionArn": arn,
            "Arguments": arguments,
            "OutputParameters": [{"OutputName": "status", "OutputType": "String"}],
        }
    )
    return pipeline.definition()


def test_the_project_registry_is_the_stack_s_functions() -> None:
    registry = LambdaRegistry.for_project(SETTINGS)
    for purpose in FUNCTION_PURPOSES:
        function = registry.function(SETTINGS.function_arn(purpose))
        assert (function.purpose, function.handler_module) == (purpose, HANDLERS[purpose])
        assert function.environment == environment_for(SETTINGS, purpose)


def test_a_lambda_step_and_a_rule_target_invoke_the_same_function(registry, local_aws, tmp_path, pipeline):
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", lambdas=registry)
    # A :alias qualifier names the same function, as in Lambda's Invoke.
    record = runner.run(_lambda_step(pipeline, f"{DEPLOY_ARN}:live", {"from": "step"}), pipeline_name="p")
    assert record.succeeded, record.failure_reason
    (delivery,) = _router(registry, local_aws.clients.client, DEPLOY_ARN, '{"from": "rule"}').route(
        {"source": "test"}
    )
    assert (delivery.kind, delivery.note, delivery.result) == ("lambda", "deploy", {"status": "ok"})
    assert [call["event"] for call in calls] == [{"from": "step"}, {"from": "rule"}]
    assert calls[0]["env"] == calls[1]["env"] == environment_for(SETTINGS, "deploy")


def test_an_unknown_arn_is_one_line_naming_the_known_functions(registry, local_aws, tmp_path, pipeline):
    expected = f"{OTHER_ARN!r} is not a Lambda function the local cloud knows ({DEPLOY_ARN})"
    with pytest.raises(UnknownFunctionError) as info:
        registry.function(OTHER_ARN)
    assert str(info.value) == expected
    router = _router(registry, local_aws.clients.client, OTHER_ARN, "{}")
    with pytest.raises(TemplateError) as routed:
        router.route({"source": "test"})
    assert str(routed.value) == f"fixture: R: target Target: {expected}"
    # A pipeline's step is refused before anything runs, naming the option that runs it.
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", lambdas=registry)
    with pytest.raises(DefinitionError) as refused:
        runner.run(_lambda_step(pipeline, OTHER_ARN, {}), pipeline_name="p")
    assert refused.value.problems == [
        f"Call: Lambda function {OTHER_ARN} is not one of the project's functions; "
        "pass --lambda someone-else=path/to/handler.py:function (or --stub Call=outputs.json)"
    ]
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_a_function_error_is_one_line_with_its_type(registry, local_aws, tmp_path, pipeline):
    function = registry.function(DEPLOY_ARN)
    with pytest.raises(FunctionError) as info:
        function.invoke({"fail": "function"}, local_aws.clients.client)
    assert str(info.value) == "deploy function error: ValueError: no model package given"
    assert info.value.aws_error is None
    # EventBridge invokes asynchronously: the failure is recorded on the delivery, not raised.
    (delivery,) = _router(registry, local_aws.clients.client, DEPLOY_ARN, '{"fail": "function"}').route(
        {"source": "test"}
    )
    assert delivery.error == str(info.value) and delivery.result is None
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", lambdas=registry)
    record = runner.run(_lambda_step(pipeline, DEPLOY_ARN, {"fail": "function"}), pipeline_name="p")
    assert record.steps["Call"].failure_reason == str(info.value)


def test_an_aws_call_failing_inside_the_function_is_an_aws_failure(registry, local_aws, tmp_path, pipeline):
    with pytest.raises(FunctionError) as info:
        registry.function(DEPLOY_ARN).invoke({"fail": "aws"}, local_aws.clients.client)
    assert type(info.value.aws_error).__name__ == "ClientError"
    assert str(info.value).startswith("deploy function: an AWS call failed: ClientError: ")
    assert "\n" not in str(info.value)
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", lambdas=registry)
    record = runner.run(_lambda_step(pipeline, DEPLOY_ARN, {"fail": "aws"}), pipeline_name="p")
    # Classified like every AWS failure of the executor (retryable when throttled or a 5xx).
    assert record.steps["Call"].failure_reason.startswith("deploy function: DescribeModelPackage failed: ")
