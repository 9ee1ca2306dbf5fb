"""Fixtures of the container tests: the engine, the project's image, and one Docker-free run to compare with.

Every test here is marked ``docker`` and ``slow`` (``make test-fast`` leaves them out; ``make
test-containers`` runs only them). Without a Docker engine they skip with the reason, unless
``MLOPS_REQUIRE_DOCKER=1`` (CI sets it after preparing Docker), where a missing engine is a failure.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud import ExecutionRecord, ExecutionStatus, LocalAws, LocalPipelineRunner
from localcloud.sagemaker.endpoint import LocalEndpoint, RuntimeClient, send_csv
from localcloud.stories.traffic import TrafficKind, generate
from pipelines import settings as settings_module
from tests.containers import engine

SETTINGS = settings_module.load("dev")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.docker)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[engine.docker.DockerClient]:
    try:
        client = engine.connect()
    except engine.DockerException as err:
        reason = f"no Docker engine answers ({err}); start one (docs/local-execution.md, 'With Docker')"
        if os.environ.get(engine.REQUIRE_ENV) == "1":
            pytest.fail(f"{engine.REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    yield client
    client.close()


@pytest.fixture(scope="session")
def project_image(docker_client: engine.docker.DockerClient) -> str:
    """The image this checkout's Dockerfile builds, tagged as the pipeline definitions name it."""
    started = time.monotonic()
    try:
        tag, built = engine.ensure_image(
            docker_client, SETTINGS.processing_image_uri, os.environ.get(engine.BASE_IMAGE_ENV)
        )
    except engine.ImageBuildError as err:
        # CI (MLOPS_REQUIRE_DOCKER=1) prepares a base and must build; on a machine whose Docker
        # cannot reach the Dockerfile's base, say how to get past it instead of failing make test.
        if os.environ.get(engine.REQUIRE_ENV) == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(
            f"the project's image does not build here ({str(err).splitlines()[0]}); with no registry, "
            f"`make base-image` and set {engine.BASE_IMAGE_ENV} (docs/local-execution.md, 'With Docker')"
        )
    if built:
        print(f"built {tag} in {time.monotonic() - started:.0f} s")
    return tag


# The emulator and the runs on it live for this package only: every LocalAws in one process shares
# moto's state and resets it when it stops, so another package's emulator (pytest-xdist may run
# other test files in this worker between ours) must never start while this one holds data.
@pytest.fixture(scope="package")
def local_aws() -> Iterator[LocalAws]:
    with LocalAws(SETTINGS) as aws:
        yield aws


def _run(local_aws: LocalAws, runs_dir: Path, name: str, parameters: dict[str, str]) -> ExecutionRecord:
    """One synthesized pipeline of these settings, run by the Docker-free executor."""
    from pipelines.synth import render_pipelines

    definition = json.loads(render_pipelines(SETTINGS)[name])
    runner = LocalPipelineRunner(SETTINGS, local_aws, runs_dir, use_cache=False)
    record = runner.run(definition, parameters, pipeline_name=name)
    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    return record


@pytest.fixture(scope="package")
def training_run(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> ExecutionRecord:
    """The dev training pipeline on the abalone data: trained, registered, deployed to the emulator."""
    runs = tmp_path_factory.mktemp("runs")
    return _run(local_aws, runs, SETTINGS.training_pipeline_name, {"GitCommit": "container-test"})


@pytest.fixture(scope="package")
def monitoring_run(
    training_run: ExecutionRecord, local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> ExecutionRecord:
    """The monitoring pipeline over drifted traffic the deployed model answered and captured."""
    with LocalEndpoint(SETTINGS, local_aws.clients, port=0, seed=7) as endpoint:
        endpoint.reconcile()
        rows = generate(TrafficKind.DRIFTED, 300, seed=7).to_csv(header=False, index=False).splitlines()
        sent = send_csv(RuntimeClient(endpoint.url), rows)
        assert sent.errors == []
    runs = tmp_path_factory.mktemp("runs")
    return _run(local_aws, runs, SETTINGS.monitoring_pipeline_name, {})
