"""SageMaker's own local mode (the SDK's ``LocalPipelineSession``, Docker Compose) on the project's
steps and image, cross-checked with the Docker-free executor; where the two differ, a test says how.

What runs: the training pipeline's data path up to the quality gate, Preprocess, Train, Baseline
and Evaluate, as the SDK built them for the synthesized definition (the same step objects, image,
arguments and paths), executed by the SDK's local pipeline executor against the emulator's S3; the
outputs, the model and the evaluation the gate reads are the Docker-free executor's, byte for byte.
Train runs in a stand-in for AWS's built-in XGBoost image (which cannot be pulled here): the
project's image plus the Docker-free executor's XGBoost emulation as its ``train`` (same training
contract: channels, hyperparameters, metric lines, ``/opt/ml/model/xgboost-model``), so this checks
the contract plumbing of local mode, not AWS's algorithm. What cannot run: the quality gate itself,
whose branch holds the RegisterModel and Lambda steps local mode refuses
(``test_local_mode_refuses_the_whole_training_pipeline``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from localcloud import ExecutionRecord, LocalAws
from pipelines import settings as settings_module
from pipelines.settings import REPO_ROOT
from processing_scripts import contract
from processing_scripts.evaluate import COMPARISON_HEADING as COMPARISON
from tests.containers import engine
from tests.containers.outputs import s3_files, without_section

SETTINGS = settings_module.load("dev")  # the environment conftest.py runs the Docker-free pipelines in
LOCAL_MODE_STEPS = ("Preprocess", "Train", "Baseline", "Evaluate")
# Local mode names each container's host ``algo-1-<5 random characters>`` (``_SageMakerContainer``),
# SageMaker and the Docker-free executor ``algo-1``; the project's scripts put the host in file names.
_LOCAL_MODE_HOST = re.compile(r"algo-(\d+)-[a-z0-9]{5}")
# ... and its Compose project (the container's name) ``<10 random characters>-<host>``.
_LOCAL_MODE_CONTAINER = re.compile(r"^[a-z0-9]{10}-algo-\d+-[a-z0-9]{5}$")


@pytest.fixture(scope="module")
def sdk_training_pipeline() -> Any:
    from pipelines.sdk_session import offline_session, quiet_sdk
    from pipelines.training import build_training_pipeline

    with quiet_sdk():
        return build_training_pipeline(SETTINGS, offline_session(SETTINGS))


def _compose_plugin() -> bool:
    """Whether ``docker compose`` (v2) works, which the SDK tries before ``docker-compose``."""
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def local_session(
    local_aws: LocalAws, project_image: str, docker_client: engine.docker.DockerClient
) -> Iterator[Any]:
    """The SDK's local pipeline session, its S3 calls pointed at the emulator; the containers its
    Compose runs leave behind (exited, never removed by the SDK) are removed afterwards."""
    if shutil.which("docker-compose") is None and not _compose_plugin():
        reason = "SageMaker local mode needs Docker Compose (Debian: apt-get install docker-compose)"
        if os.environ.get(engine.REQUIRE_ENV) == "1":
            pytest.fail(f"{engine.REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from sagemaker.mlops.local import LocalPipelineSession

    env = local_aws.process_environment()
    boto_session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=SETTINGS.region,
    )
    yield LocalPipelineSession(
        boto_session=boto_session,
        s3_endpoint_url=local_aws.endpoint_url,
        default_bucket=SETTINGS.bucket_name("artifacts"),
    )
    for container in docker_client.containers.list(all=True, filters={"status": "exited"}):
        if _LOCAL_MODE_CONTAINER.match(container.name):
            container.remove()


# The Docker-free executor's XGBoost emulation, run inside the project's image as the stand-in for
# AWS's built-in XGBoost image: its modules import nothing else of localcloud, so they are copied
# under empty package files (localcloud's own __init__ starts moto, which the image lacks).
_EMULATION = ("xgboost_algorithm.py", "xgboost_versions.py", "hyperparameters.py")


@pytest.fixture(scope="module")
def xgboost_stand_in(docker_client: engine.docker.DockerClient, project_image: str) -> str:
    """An image with the built-in XGBoost algorithm's training contract: ``train`` reads
    /opt/ml/input, prints the metric lines, writes /opt/ml/model/xgboost-model."""
    version = SETTINGS.training.xgboost_version
    executor = REPO_ROOT / "localcloud" / "sagemaker" / "executor"
    package = "emulation/localcloud/sagemaker/executor"
    files = {
        "Dockerfile": (
            f"FROM {project_image}\nCOPY emulation /opt/emulation\nCOPY train /usr/local/bin/train\n"
            "ENV PYTHONPATH=/opt/program:/opt/emulation\n"
        ).encode(),
        "train": (
            "#!/bin/sh\nexec python3 -m localcloud.sagemaker.executor.xgboost_algorithm "
            f"--image-version {version}\n"
        ).encode(),
        "emulation/localcloud/__init__.py": b"",
        "emulation/localcloud/sagemaker/__init__.py": b"",
        f"{package}/__init__.py": b"",
        **{f"{package}/{name}": (executor / name).read_bytes() for name in _EMULATION},
    }
    digest = hashlib.sha256(b"".join(sorted(files.values()))).hexdigest()[:12]
    return engine.build_from_files(docker_client, f"mlops-xgboost-stand-in:{version}-{digest}", files)


@contextlib.contextmanager
def _overridden(step: Any, change: Callable[[dict[str, Any]], None]) -> Iterator[Any]:
    """The step with ``change`` applied to its arguments while the block runs. The step object
    itself is changed (later steps reference it by identity) and restored afterwards."""
    base = type(step)

    class Overridden(base):  # type: ignore[misc, valid-type]
        @property
        def arguments(self) -> Any:
            arguments = base.arguments.fget(self)  # type: ignore[attr-defined]
            change(arguments)
            return arguments

    step.__class__ = Overridden
    try:
        yield step
    finally:
        step.__class__ = base


def _fully_replicated(arguments: dict[str, Any]) -> None:
    """Local mode refuses ``ShardedByS3Key`` (``test_local_mode_refuses_sharded_inputs``); with one
    instance ``FullyReplicated`` gives it the same objects."""
    for item in arguments.get("ProcessingInputs") or []:
        item["S3Input"]["S3DataDistributionType"] = "FullyReplicated"


def _execute(session: Any, sdk_pipeline: Any, name: str, steps: list[Any]) -> Any:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    pipeline = Pipeline(name=name, parameters=sdk_pipeline.parameters, steps=steps, sagemaker_session=session)
    session.create_pipeline(pipeline, "local-mode cross-check")
    return session.start_pipeline_execution(name)


def _statuses(execution: Any) -> dict[str, tuple[str, str]]:
    return {
        s["StepName"]: (s["StepStatus"], s.get("FailureReason", ""))
        for s in execution.list_steps()["PipelineExecutionSteps"]
    }


def _model_uri(training_job: dict[str, Any]) -> str:
    return str(training_job["ModelArtifacts"]["S3ModelArtifacts"])


def _model_file(s3: Any, uri: str) -> bytes:
    """The model inside a training job's ``model.tar.gz`` (the archive's own bytes hold times)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(contract.Training.MODEL_FILE)
        assert member is not None, uri
        return member.read()


def test_local_mode_writes_what_the_docker_free_executor_wrote(
    local_session: Any,
    sdk_training_pipeline: Any,
    xgboost_stand_in: str,
    training_run: ExecutionRecord,
    local_aws: LocalAws,
) -> None:
    steps = {step.name: step for step in sdk_training_pipeline.steps}

    def stand_in_image(arguments: dict[str, Any]) -> None:
        arguments["AlgorithmSpecification"]["TrainingImage"] = xgboost_stand_in

    with (
        _overridden(steps["Preprocess"], _fully_replicated) as preprocess,
        _overridden(steps["Train"], stand_in_image) as train,
    ):
        execution = _execute(
            local_session,
            sdk_training_pipeline,
            "local-mode-data-path",
            [preprocess, train, steps["Baseline"], steps["Evaluate"]],
        )

    assert {name: status for name, (status, _) in _statuses(execution).items()} == dict.fromkeys(
        LOCAL_MODE_STEPS, "Succeeded"
    ), _statuses(execution)
    s3 = local_aws.clients.s3
    assert _model_file(s3, _model_uri(execution.step_execution["Train"].properties)) == _model_file(
        s3, _model_uri(training_run.steps["Train"].properties)
    )
    for step_name in ("Preprocess", "Baseline", "Evaluate"):
        local_mode = execution.step_execution[step_name].properties["ProcessingOutputConfig"]["Outputs"]
        executor = training_run.steps[step_name].properties["ProcessingOutputConfig"]["Outputs"]
        # The evaluation report names its inputs by S3 URI, which differ between the two runs.
        local_inputs = _input_uris(execution.step_execution[step_name].properties)
        executor_inputs = _input_uris(training_run.steps[step_name].properties)
        for item in executor:
            by_executor = {
                name: _without(body, executor_inputs)
                for name, body in s3_files(s3, item["S3Output"]["S3Uri"]).items()
            }
            assert by_executor, item["S3Output"]["S3Uri"]
            by_local_mode = {
                _LOCAL_MODE_HOST.sub(r"algo-\1", name): _without(body, local_inputs)
                for name, body in s3_files(s3, local_mode[item["OutputName"]]["S3Output"]["S3Uri"]).items()
            }
            # A data manifest says where the bytes came from: local mode's container has no route to
            # S3 for the version id (it records "unknown") and names its host differently; the
            # bytes it read must hash the same.
            for name in [n for n in by_executor if n.startswith("data-version-")]:
                local, executor_manifest = by_local_mode.pop(name), by_executor.pop(name)
                assert json.loads(local)["sha256"] == json.loads(executor_manifest)["sha256"], name
            assert by_local_mode == by_executor, f"{step_name}/{item['OutputName']}"


def _input_uris(properties: dict[str, Any]) -> list[str]:
    """The S3 URIs a job was given as arguments (``--model-uri s3://...``) and the evaluation's
    ``--execution-arn`` (local mode's is a bare id), which differ between the two runs."""
    arguments = [str(a) for a in (properties.get("AppSpecification") or {}).get("ContainerArguments") or []]
    execution = [value for flag, value in itertools.pairwise(arguments) if flag == "--execution-arn"]
    return [value for value in arguments if value.startswith("s3://")] + execution


def _without(body: bytes, uris: list[str]) -> bytes:
    for uri in uris:
        body = body.replace(uri.encode(), b"<input>")
    # The evaluation compares with what the endpoint serves when it runs (local mode's container
    # cannot reach the emulator's SageMaker at all): the rest of the report must agree.
    return without_section(body, COMPARISON)


def test_local_mode_refuses_sharded_inputs(local_session: Any, sdk_training_pipeline: Any) -> None:
    """The Docker-free executor shards ``ShardedByS3Key`` inputs across instances as AWS does;
    local mode fails the step."""
    preprocess = next(step for step in sdk_training_pipeline.steps if step.name == "Preprocess")

    execution = _execute(local_session, sdk_training_pipeline, "local-mode-sharded", [preprocess])

    status, reason = _statuses(execution)["Preprocess"]
    assert status == "Failed"
    assert "ShardedByS3Key is not currently supported in Local Mode" in reason


def test_local_mode_refuses_the_whole_training_pipeline(
    local_session: Any, sdk_training_pipeline: Any
) -> None:
    """The quality gate's branch registers the model and deploys it through a Lambda step: local
    mode refuses the execution before any step runs; the Docker-free executor runs all of it."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="is not supported in local mode"):
        _execute(local_session, sdk_training_pipeline, "local-mode-whole", list(sdk_training_pipeline.steps))
