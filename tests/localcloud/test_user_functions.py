"""A foreign pipeline's Lambda steps run the user's handler (``--lambda``), as Lambda would run it:
in a subprocess of the user's interpreter, talking to the emulator, its outputs read as SageMaker
reads them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud import LambdaRegistry, LocalPipelineRunner
from localcloud.awslambda import UserFunction, UserHandler
from localcloud.sagemaker.executor.steps.lambda_function import output_value
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
# Another account's function, as an SDK-built definition names it (see sdk_builders/common.py).
FOREIGN_ARN = "arn:aws:lambda:us-west-2:111122223333:function:fixture-function"
HANDLER = textwrap.dedent(
    """
    import json
    import boto3

    def lambda_handler(event, context):
        print("event", json.dumps(event, sort_keys=True))
        if event.get("fail"):
            raise KeyError(event["fail"])
        s3 = boto3.client("s3")  # no endpoint given: the environment points it at the emulator
        s3.put_object(Bucket=event["bucket"], Key="from-lambda.txt", Body=context.function_name)
        return {"rows": "4177", "passed": True, "score": 2, "note": 7}
    """
)
OUTPUTS = [
    {"OutputName": "rows", "OutputType": "Integer"},
    {"OutputName": "passed", "OutputType": "Boolean"},
    {"OutputName": "score", "OutputType": "Float"},
    {"OutputName": "note", "OutputType": "String"},
]


@pytest.fixture
def runner(local_aws, tmp_path: Path) -> LocalPipelineRunner:
    handler = tmp_path / "handler.py"
    handler.write_text(HANDLER)
    function = UserFunction(
        UserHandler.parse(f"fixture-function={handler}:lambda_handler"),
        sys.executable,
        local_aws.process_environment,
    )
    registry = LambdaRegistry({}).with_user_functions((function,))
    return LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", lambdas=registry)


def _definition(pipeline: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    pipeline.add(
        {
            "Name": "Check",
            "Type": "Lambda",
            "FunctionArn": FOREIGN_ARN,
            "Arguments": arguments,
            "OutputParameters": OUTPUTS,
        }
    )
    return pipeline.definition()


def test_the_users_handler_runs_against_the_emulator_and_its_outputs_are_typed(runner, pipeline, local_aws):
    bucket = SETTINGS.bucket_name("data")
    record = runner.run(_definition(pipeline, {"bucket": bucket}), pipeline_name="foreign")

    assert record.succeeded, record.failure_reason
    step = record.steps["Check"]
    assert step.properties["OutputParameters"] == {"rows": 4177, "passed": True, "score": 2.0, "note": "7"}
    body = local_aws.clients.s3.get_object(Bucket=bucket, Key="from-lambda.txt")["Body"].read()
    assert body == b"fixture-function"
    assert f'event {{"bucket": "{bucket}"}}' in (record.run_dir / step.log_file).read_text()


def test_an_error_in_the_handler_is_one_line_with_its_type_and_where(runner, pipeline, tmp_path):
    record = runner.run(_definition(pipeline, {"fail": "model"}), pipeline_name="foreign")

    reason = record.steps["Check"].failure_reason
    assert reason == f"fixture-function function error: KeyError: 'model' at {tmp_path / 'handler.py'}:8"


def test_a_missing_handler_function_is_named(local_aws, pipeline, tmp_path):
    handler = tmp_path / "handler.py"
    handler.write_text("def other(event, context):\n    return {}\n")
    function = UserFunction(
        UserHandler(FOREIGN_ARN, handler, "lambda_handler"), sys.executable, local_aws.process_environment
    )
    runner = LocalPipelineRunner(
        SETTINGS, local_aws, tmp_path / "runs", lambdas=LambdaRegistry({}).with_user_functions((function,))
    )
    record = runner.run(_definition(pipeline, {}), pipeline_name="foreign")

    assert record.steps["Check"].failure_reason == (
        f"fixture-function function error: Runtime.HandlerNotFound: {handler} has no function lambda_handler "
        f"at {handler}"
    )


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_an_integer_output_reads_from_a_number_or_its_text(number):
    assert output_value("Integer", number) == output_value("Integer", str(number)) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_output_reads_from_a_number_or_its_text(number):
    assert output_value("Float", number) == output_value("Float", repr(number)) == number


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("Integer", "3.5", "should be Integer"),
        ("Integer", "many", "should be Integer"),
        ("Float", "NaN", "should be Float"),
        ("Boolean", "yes", "should be Boolean"),
        ("String", "x" * 1025, "at most 1024"),
        ("Decimal", "1", "unknown OutputType"),
    ],
)
def test_a_value_that_does_not_read_as_its_type_is_refused(kind, value, problem):
    with pytest.raises(ValueError, match=problem):
        output_value(kind, value)


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("fixture-function", "expected ARN_OR_NAME=path/to/handler.py:function"),
        ("fixture-function=handler.py", "expected ARN_OR_NAME=path/to/handler.py:function"),
        ("=handler.py:main", "expected ARN_OR_NAME=path/to/handler.py:function"),
        ("f=missing.py:main", "missing.py is not a file"),
    ],
)
def test_a_bad_lambda_option_is_one_line(given, problem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=problem) as info:
        UserHandler.parse(given)
    assert "\n" not in str(info.value)
