"""Test-wide safety (no test can reach real AWS; the SDK and CDK stay offline and quiet) and the
artifacts that would be deployed, synthesized once per run."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as _hypothesis

# Set before any test module imports boto3, the sagemaker SDK or aws_cdk (nothing above does).
_OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "MLOPS_ENV": "dev",
}
os.environ.update(_OFFLINE_ENV)
for _var in (
    "AWS_PROFILE",
    "MLOPS_ACCOUNT",
    "MLOPS_REGION",
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "MLOPS_AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "MLOPS_NOTIFICATION_EMAIL",
):
    os.environ.pop(_var, None)

# Property tests explore new random examples on developer machines, where a surprise is a bug to
# fix; under CI they replay a fixed sequence, so a landing never fails by the luck of the draw.
_hypothesis.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis.load_profile("ci")


# -- what would be deployed, synthesized once per test run -------------------------------------------
@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock across the test run's worker processes (pytest-xdist)."""
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def deployed_artifacts(tmp_path_factory: pytest.TempPathFactory):  # -> localcloud.Synthesized
    """The dev pipeline JSON and the CDK app exactly as ``app.py`` writes them, CDK validation ON.

    Synthesizing the app costs 10-20 s, so the first worker that asks does it and every other
    worker of the same run reads the same folder (the run's shared temporary root, as pytest-xdist
    documents for session data). The synth gate checks these templates; the stories and the event
    tests run on them, as the demo runs on what it synthesizes.
    """
    from localcloud.cloud import Synthesized, synthesize
    from pipelines import settings as settings_module

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target = root / "deployed-artifacts"
    with _exclusive(root / "deployed-artifacts.lock"):
        done = target / "synthesized.ok"
        if not done.exists():
            synthesize(settings_module.load("dev"), target, cdk_validation=True)
            done.touch()
    definitions = {p.stem: json.loads(p.read_text()) for p in sorted((target / "pipelines").glob("*.json"))}
    return Synthesized(definitions, target / "cdk.out")
