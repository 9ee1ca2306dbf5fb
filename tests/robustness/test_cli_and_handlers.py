"""The CLI (``validate`` and run-local's pre-flight, which refuses before any emulator starts) on
mutated real SDK definitions and random ``-p`` values, and the two Lambda handlers on mutated real
events. A refusal is one line (the CLI's ``error:`` line; the handler's exception message); any
other exception escaping is the contract's "traceback"."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from infra.lambda_environment import environment_for
from infra.lambdas import deploy, retrain_guard
from localcloud import DefinitionError, ParameterError, prepare
from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from pipelines import parameters
from pipelines import settings as settings_module
from pipelines.cli import main
from pipelines.definition import parse_assignments
from processing_scripts.aws_clients import AwsClients, AwsTarget
from tests.robustness.campaign import CAMPAIGN, judge, one_line, timed
from tests.robustness.mutations import JSON_VALUES, mutated_json

FIXTURES = Path(__file__).resolve().parents[1] / "pipelines" / "fixtures"
DEFINITIONS = {
    name: json.loads((FIXTURES / path).read_text())
    for name, path in {"tiny": "tiny-pipeline.json", "sdk3-abalone": "sdk3/abalone.json"}.items()
}
SETTINGS = settings_module.load("dev")


def _cli(*argv: str) -> tuple[int | None, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(list(argv))
            code: int | None = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        except Exception as err:
            return None, f"{type(err).__name__}: {err}"
    return code, out.getvalue()


@CAMPAIGN
@given(data=st.data(), which=st.sampled_from(sorted(DEFINITIONS)), raw=st.sampled_from(["json", "bytes"]))
def test_cli_validate(data: st.DataObject, which: str, raw: str) -> None:
    entry = "cli validate"
    definition = data.draw(mutated_json(DEFINITIONS[which]), label="definition")
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        path = Path(tmp) / "definition.json"
        text = json.dumps(definition)
        if raw == "bytes":  # damage the file itself: a cut, a stray byte
            cut = data.draw(st.integers(0, len(text)), label="cut")
            stray = data.draw(st.sampled_from([b"", b"\xff", b"\x00", b"\xef\xbb\xbf"]), label="stray")
            path.write_bytes(text.encode()[:cut] + stray + text.encode()[cut:])
        else:
            path.write_text(text)
        code, output = _cli("validate", str(path))
        _judge_cli(entry, code, output)


def _judge_cli(entry: str, code: int | None, output: str) -> None:
    if code is None or "Traceback" in output:
        judge(entry, "traceback", output[-300:])
    elif code == 0:
        judge(entry, "ok")
    else:
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        findings = any(": " in line for line in output.splitlines())
        judge(entry, "refused" if errors or findings else "unclear_message", output[-300:])


@CAMPAIGN
@given(
    data=st.data(),
    which=st.sampled_from(sorted(DEFINITIONS)),
    pairs=st.lists(st.text(max_size=30), max_size=4),
)
def test_run_local_preflight(data: st.DataObject, which: str, pairs: list[str]) -> None:
    """What run-local does before it starts the emulator: parse -p and prepare the definition."""
    entry = "cli run-local pre-flight"
    definition = data.draw(mutated_json(DEFINITIONS[which]), label="definition")
    with timed(entry):
        try:
            prepare(definition, parse_assignments(pairs))
        except (DefinitionError, ParameterError) as err:
            message = "; ".join(err.problems)
            judge(entry, "refused" if all(one_line(p) for p in err.problems) else "unclear_message", message)
            return
        except Exception as err:
            judge(entry, "traceback", f"{type(err).__name__}: {err}")
            return
        judge(entry, "ok")


# -- the Lambda handlers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        clients = AwsClients(AwsTarget(region=SETTINGS.region))
        for purpose in ("artifacts", "capture"):
            clients.s3.create_bucket(Bucket=SETTINGS.bucket_name(purpose))
        clients.sagemaker.create_model_package_group(ModelPackageGroupName=SETTINGS.model_package_group)
        package = clients.sagemaker.create_model_package(
            ModelPackageGroupName=SETTINGS.model_package_group,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {"Image": "xgboost:1.7-1", "ModelDataUrl": f"{SETTINGS.pipeline_artifacts_uri}/m.tar.gz"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        clients.sagemaker.create_pipeline(
            PipelineName=SETTINGS.training_pipeline_name,
            PipelineDefinition='{"Version": "2020-12-01", "Steps": []}',
            RoleArn=SETTINGS.role_arn("pipeline"),
        )
        yield {"clients": clients, "package": package}


def _handler_events(package: str) -> list[dict[str, Any]]:
    approval = {
        "id": str(uuid.uuid4()),
        "source": "aws.sagemaker",
        "detail-type": deploy.PACKAGE_EVENT,
        "detail": {"ModelPackageArn": package, "ModelApprovalStatus": "Approved"},
    }
    in_service = {
        "source": "aws.sagemaker",
        "detail-type": deploy.ENDPOINT_EVENT,
        "detail": {"EndpointName": SETTINGS.endpoint_name, "EndpointStatus": "IN_SERVICE"},
    }
    step = {"model_package_arn": package, "endpoint_name": SETTINGS.endpoint_name}
    return [approval, in_service, step]


def _judge_handler(entry: str, call: Any, expected: tuple[type[Exception], ...]) -> None:
    try:
        result = call()
    except (*expected, ClientError) as err:
        judge(entry, "refused" if one_line(str(err)) else "unclear_message", str(err))
        return
    except Exception as err:
        judge(entry, "traceback", f"{type(err).__name__}: {err}")
        return
    judge(entry, "ok" if isinstance(result, dict) else "unclear_message", repr(result)[:200])


@CAMPAIGN
@given(data=st.data(), which=st.integers(0, 2), whole=st.booleans())
def test_deploy_handler(aws: dict[str, Any], data: st.DataObject, which: int, whole: bool) -> None:
    entry = "lambda deploy"
    base = _handler_events(aws["package"])[which]
    event = data.draw(JSON_VALUES if whole else mutated_json(base), label="event")
    env = environment_for(SETTINGS, "deploy")
    with timed(entry):
        _judge_handler(entry, lambda: deploy.handle(event, aws["clients"].client, env), (deploy.DeployError,))


@CAMPAIGN
@given(data=st.data(), whole=st.booleans())
def test_retrain_guard(aws: dict[str, Any], data: st.DataObject, whole: bool) -> None:
    entry = "lambda retrain guard"
    base = {
        "PipelineName": SETTINGS.training_pipeline_name,
        "PipelineParameterList": [{"Name": parameters.TRIGGERED_BY, "Value": "drift-alarm"}],
        "event": {"id": str(uuid.uuid4()), "source": "aws.cloudwatch", "time": "2026-12-01T13:00:00Z"},
    }
    event = data.draw(JSON_VALUES if whole else mutated_json(base), label="event")
    env = environment_for(SETTINGS, "retrain-guard")
    with timed(entry):
        _judge_handler(
            entry,
            lambda: retrain_guard.handle(event, aws["clients"].client, env),
            (retrain_guard.GuardError,),
        )
