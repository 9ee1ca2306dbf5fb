"""`python -m pipelines iam-report`, as a user calls it, on the synthesized templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.iam import CALLS_FILE, Call, CallLog
from pipelines import settings as settings_module
from tests.pipelines.cli_runner import run

SETTINGS = settings_module.load("dev")
DEPLOY_ROLE = SETTINGS.role_arn("deploy-function")


def _calls(runs: Path, *calls: Call) -> None:
    log = CallLog()
    for call in calls:
        log.add(call)
    log.write(runs / CALLS_FILE)


def test_without_a_run_it_says_what_to_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "iam-report", "--runs-dir", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / CALLS_FILE} not found" in err and "python -m pipelines demo" in err


def test_a_denied_call_and_unused_grants_are_reported_per_role(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deployed_artifacts
) -> None:
    endpoint = f"arn:aws:sagemaker:{SETTINGS.region}:{SETTINGS.account}:endpoint/{SETTINGS.endpoint_name}"
    _calls(
        tmp_path,
        Call(
            DEPLOY_ROLE,
            "sagemaker:DeleteEndpoint",
            endpoint,
            False,
            "no identity-based policy allows the sagemaker:DeleteEndpoint action",
        ),
    )
    code, out, _ = run(
        capsys, "iam-report", "--runs-dir", str(tmp_path), "--cdk-out", str(deployed_artifacts.cdk_out)
    )
    assert code == 5
    flat = " ".join(out.split())
    assert f"{DEPLOY_ROLE} 0 allowed call(s)" in flat
    assert f"denied sagemaker:DeleteEndpoint on {endpoint} (1x) because no identity-based policy" in flat
    # nothing was used, so the deploy function's own grants show up unused, without a reason
    assert "sagemaker:CreateEndpointConfig on" in flat and "no reason: over-broad?" in flat
    # ... and those AWS needs outside the local cloud carry theirs
    assert "iam:CreateServiceLinkedRole on" in flat and "service-linked role" in flat
    assert out.strip().splitlines()[-1].startswith("1 denied call(s); ")


def test_a_calls_file_that_is_not_one_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deployed_artifacts
) -> None:
    (tmp_path / CALLS_FILE).write_text("[1, 2]")
    code, _, err = run(
        capsys, "iam-report", "--runs-dir", str(tmp_path), "--cdk-out", str(deployed_artifacts.cdk_out)
    )
    assert code == 3
    assert "not a calls file written by a local run" in err
