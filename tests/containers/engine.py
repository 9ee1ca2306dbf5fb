"""The Docker engine as the container tests use it: connect, build the project's image once, run jobs.

Everything goes through the Docker SDK for Python (``docker``, already in the venv as a dependency
of the SageMaker SDK), which speaks the engine's API directly, so no buildx plugin is needed and
the classic builder honours ``--build-arg BASE_IMAGE`` (see the Dockerfile).

The image is built only when its tag is missing. The tag is ``settings.processing_image_tag()``, a
digest of the Dockerfile and ``processing_scripts/``, so an unchanged checkout reuses the image a
previous session built, and any edit to either builds a new one. Where no registry answers, CI
builds a stand-in base offline (``.ci/offline-base-image``) and names it in ``MLOPS_BASE_IMAGE``.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import docker
from docker.errors import BuildError, DockerException, ImageNotFound
from docker.models.containers import Container

from pipelines.settings import REPO_ROOT
from processing_scripts import contract

BASE_IMAGE_ENV = "MLOPS_BASE_IMAGE"  # a stand-in for the Dockerfile's pinned base (see module doc)
REQUIRE_ENV = "MLOPS_REQUIRE_DOCKER"  # set by CI: an absent engine fails instead of skipping
_LOG_TAIL_LINES = 15


class ImageBuildError(Exception):
    """The Dockerfile did not build; the message ends with the build's last lines."""


def connect() -> docker.DockerClient:
    """A client of the running engine; raises DockerException (with the reason) when there is none."""
    client = docker.from_env(timeout=600)
    client.ping()
    return client


def ensure_image(client: docker.DockerClient, tag: str, base_image: str | None) -> tuple[str, bool]:
    """The image ``tag`` built from this checkout's Dockerfile, and whether this call built it.

    A file lock keeps two pytest workers from building the same tag at once: the second waits and
    then finds the image.
    """
    lock_path = Path(tempfile.gettempdir()) / f"mlops-image-{tag.rsplit(':', 1)[-1]}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(ImageNotFound):
            client.images.get(tag)
            return tag, False
        build_args = {"BASE_IMAGE": base_image} if base_image else {}
        try:
            client.images.build(
                path=str(REPO_ROOT), tag=tag, buildargs=build_args, network_mode="host", rm=True, forcerm=True
            )
        except BuildError as err:
            lines = [str(chunk.get("stream", chunk.get("error", ""))).rstrip() for chunk in err.build_log]
            tail = " | ".join(line for line in lines if line.strip())[-2000:]
            raise ImageBuildError(f"docker build of {tag} failed: {err.msg}; last output: {tail}") from err
        return tag, True


def build_from_files(client: docker.DockerClient, tag: str, files: dict[str, bytes]) -> str:
    """An image built from a context of ``files`` (relative path -> content, a ``Dockerfile`` among
    them), unless ``tag`` exists already."""
    with contextlib.suppress(ImageNotFound):
        client.images.get(tag)
        return tag
    with tempfile.TemporaryDirectory(prefix="image-context-") as context:
        for name, content in files.items():
            path = Path(context) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(0o755)
        try:
            client.images.build(path=context, tag=tag, rm=True, forcerm=True)
        except BuildError as err:
            raise ImageBuildError(f"docker build of {tag} failed: {err.msg}") from err
    return tag


@dataclass(frozen=True)
class JobOutcome:
    exit_code: int
    logs: str

    def tail(self) -> str:
        return "\n".join(self.logs.splitlines()[-_LOG_TAIL_LINES:])


def run_job(
    client: docker.DockerClient,
    image: str,
    *,
    entrypoint: list[str],
    arguments: list[str],
    opt_ml_dir: Path,
    environment: dict[str, str],
) -> JobOutcome:
    """One job as SageMaker starts it: the definition's entrypoint and arguments, the instance's
    directory at ``/opt/ml``, the declared environment; the host's network, so the job's AWS
    clients reach the emulator on 127.0.0.1 as a real job reaches AWS."""
    container = client.containers.run(
        image,
        command=arguments,
        entrypoint=entrypoint,
        volumes={str(opt_ml_dir): {"bind": str(contract.OPT_ML), "mode": "rw"}},
        environment=environment,
        network_mode="host",
        detach=True,
    )
    try:
        exit_code = int(container.wait(timeout=600)["StatusCode"])
        return JobOutcome(exit_code, container.logs().decode("utf-8", errors="replace"))
    finally:
        container.remove(force=True)


SERVING_PORT = 8080  # SageMaker hosting sends /ping and /invocations to the container's port 8080


@contextlib.contextmanager
def serving_container(
    client: docker.DockerClient, image: str, command: list[str], mounts: dict[Path, PurePosixPath]
) -> Iterator[tuple[Container, int]]:
    """A container serving on its port 8080, published on a free port of 127.0.0.1; yields that port."""
    container = client.containers.run(
        image,
        command=command,
        volumes={str(host): {"bind": str(inside), "mode": "ro"} for host, inside in mounts.items()},
        ports={f"{SERVING_PORT}/tcp": ("127.0.0.1", None)},
        detach=True,
    )
    try:
        container.reload()
        port = int(container.ports[f"{SERVING_PORT}/tcp"][0]["HostPort"])
        yield container, port
    finally:
        container.remove(force=True)


__all__ = [
    "BASE_IMAGE_ENV",
    "REQUIRE_ENV",
    "Container",
    "DockerException",
    "ImageBuildError",
    "JobOutcome",
    "build_from_files",
    "connect",
    "ensure_image",
    "run_job",
    "serving_container",
]
