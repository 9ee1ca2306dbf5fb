"""The trained model served from the project's image over HTTP answers exactly as the Docker-free
endpoint does (which calls ``inference.predict_csv`` in this process), for good and bad requests."""

from __future__ import annotations

import http.client
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from localcloud import ExecutionRecord, LocalAws, s3_objects
from processing_scripts import contract, inference
from tests.containers import engine

SERVER = Path(__file__).with_name("serve_in_image.py")
SERVER_IN_IMAGE = PurePosixPath("/opt/ml/code") / SERVER.name
_READY_TIMEOUT_SECONDS = 60


def _request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": inference.CONTENT_TYPE})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_pinged(container: engine.Container, port: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if _request(port, "GET", "/ping")[0] == 200:
                return
        except (ConnectionError, http.client.HTTPException):
            pass
        container.reload()
        if container.status == "exited":
            pytest.fail(f"the server exited: {container.logs().decode()[-1500:]}", pytrace=False)
        time.sleep(0.2)
    pytest.fail(f"no answer to /ping within {_READY_TIMEOUT_SECONDS} s", pytrace=False)


@pytest.fixture(scope="module")
def model_dir(
    training_run: ExecutionRecord, local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The Train step's model.tar.gz, extracted as SageMaker hosting extracts it to /opt/ml/model."""
    uri = training_run.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"]
    s3 = local_aws.clients.s3
    download = tmp_path_factory.mktemp("artifact")
    [archive] = s3_objects.download(s3, uri, s3_objects.list_objects(s3, uri), download)
    target = tmp_path_factory.mktemp("model")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def served_port(
    docker_client: engine.docker.DockerClient, project_image: str, model_dir: Path
) -> Iterator[int]:
    mounts = {model_dir: PurePosixPath(contract.Training.MODEL), SERVER: SERVER_IN_IMAGE}
    with engine.serving_container(
        docker_client, project_image, ["python3", str(SERVER_IN_IMAGE)], mounts
    ) as (
        container,
        port,
    ):
        _wait_until_pinged(container, port)
        yield port


def _test_rows(training_run: ExecutionRecord, local_aws: LocalAws, tmp_path: Path) -> bytes:
    """The test split's features (the label, its first column, removed): a real request body."""
    uri = training_run.steps["Preprocess"].properties["ProcessingOutputConfig"]["Outputs"]
    test_uri = next(o["S3Output"]["S3Uri"] for o in uri if o["OutputName"] == "test")
    s3 = local_aws.clients.s3
    files = s3_objects.download(s3, test_uri, s3_objects.list_objects(s3, test_uri), tmp_path)
    lines = [line.split(",", 1)[1] for f in files for line in f.read_text().splitlines() if line]
    return ("\n".join(lines[:200]) + "\n").encode()


def test_invocations_from_the_image_equal_the_docker_free_endpoint(
    served_port: int, model_dir: Path, training_run: ExecutionRecord, local_aws: LocalAws, tmp_path: Path
) -> None:
    body = _test_rows(training_run, local_aws, tmp_path)

    status, answer = _request(served_port, "POST", "/invocations", body)

    assert status == 200, answer
    assert answer == inference.predict_csv(inference.load_model(model_dir), body)
    assert len(answer.splitlines()) == len(body.splitlines())


def test_a_bad_request_is_a_400_with_the_same_message(served_port: int) -> None:
    body = b"1,2,3\n"

    status, answer = _request(served_port, "POST", "/invocations", body)

    with pytest.raises(inference.InferenceError) as expected:
        inference.parse_csv(body)
    assert (status, answer.decode()) == (400, f"{expected.value}\n")
