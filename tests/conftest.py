"""Test-wide safety (no test can reach real AWS; the SDK and CDK stay offline and quiet) and the
artifacts that would be deployed, synthesized once per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings as _hypothesis

from processing_scripts import example
from tests import synthesize_deployed

# The headless browser the report and dashboard tests open pages in (skips without one).
pytest_plugins = ("tests.browser",)

REPO_ROOT = Path(__file__).resolve().parent.parent
SYNTHESIS_TIMEOUT_SECONDS = 600

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
    "MLOPS_EXAMPLE",  # the default example unless a test selects one (each_example)
    "MLOPS_EXAMPLES_DIR",
    # Each selects something a developer's shell may have set; the tests choose their own.
    "MLOPS_GIT_COMMIT",
    "MLOPS_SERVING_MODE",
    "MLOPS_STAGES",
    "MLOPS_MODEL_MONITOR_SCHEDULE",
    "MLOPS_GITHUB_REPOSITORY",
):
    os.environ.pop(_var, None)

# Property tests explore new random examples on developer machines, where a surprise is a bug to
# fix; under CI they replay a fixed sequence, so a landing never fails by the luck of the draw.
_hypothesis.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis.load_profile("ci")


# -- the examples (examples/<name>/): a test that takes `each_example` runs once per example ------------
@pytest.fixture(params=example.available(example.DEFAULT_EXAMPLES_DIR))
def each_example(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> example.Example:
    """Each shipped example, selected as a user selects it (``MLOPS_EXAMPLE``): a new example folder
    is tested by every test that takes this fixture, with no test edit."""
    monkeypatch.setenv(example.EXAMPLE_ENV, request.param)
    monkeypatch.delenv(example.EXAMPLES_DIR_ENV, raising=False)
    return example.load(request.param)


# -- what would be deployed, synthesized once per test run, in the background ----------------------
@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has set up the run's temporary root
def pytest_configure(config: pytest.Config) -> None:
    """A distributed run (``make test``: ``-n auto``) is a whole-suite run, which needs the shared
    synthesis: its controller starts it before the workers even start, so it is ready sooner."""
    if "PYTEST_XDIST_WORKER" not in os.environ and getattr(config.option, "numprocesses", None):
        _start_synthesis(_artifacts_folder(config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the shared synthesis as soon as a collected test needs it (a no-op when the
    controller already did)."""
    if any("deployed_artifacts" in getattr(item, "fixturenames", ()) for item in items):
        _start_synthesis(_artifacts_folder(config))


def _artifacts_folder(config: pytest.Config) -> Path:
    """One folder per test run, shared by its xdist workers (the run's temporary root, as
    pytest-xdist documents for session data; pytest keeps the last three runs' roots)."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]  # tmp_path_factory's
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "deployed-artifacts"


def _start_synthesis(target: Path) -> None:
    """Start synthesizing into ``target`` in the background, once per run whichever worker asks."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        (target / "started").open("x").close()  # exclusive create: only the first worker starts it
    except FileExistsError:
        return
    with (target / "synthesize.log").open("w") as log:
        subprocess.Popen(
            [sys.executable, "-m", "tests.synthesize_deployed", str(target)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not stopped by the worker's Ctrl-C handling mid-write
        )


@pytest.fixture(scope="session")
def deployed_artifacts(pytestconfig: pytest.Config):  # -> localcloud.Synthesized
    """The dev pipeline JSON and the CDK app exactly as ``app.py`` writes them, CDK validation ON.

    Synthesizing the app costs 10-20 s, so it runs once per test run, in the background from
    collection on (see :func:`pytest_collection_modifyitems`), and every worker reads the same
    folder. The synth gate checks these templates; the stories and the event tests run on them, as
    the demo runs on what it synthesizes.
    """
    from localcloud.cloud import Synthesized

    target = _artifacts_folder(pytestconfig)
    _start_synthesis(target)  # a no-op unless the test was selected after collection (e.g. --lf)
    deadline = time.monotonic() + SYNTHESIS_TIMEOUT_SECONDS
    while not (target / synthesize_deployed.OK).exists():
        failed = target / synthesize_deployed.FAILED
        if failed.exists():
            pytest.fail(f"synthesizing the deployed artifacts failed:\n{failed.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"synthesizing the deployed artifacts took over {SYNTHESIS_TIMEOUT_SECONDS} s")
        time.sleep(0.2)
    definitions = {p.stem: json.loads(p.read_text()) for p in sorted((target / "pipelines").glob("*.json"))}
    return Synthesized(definitions, target / "cdk.out")
