"""The CI workflow's supply-chain rules: actions pinned by commit, bounded jobs, prod only from main."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "ci.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
EACH_WORKFLOW = pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))


def _workflow(name: str = WORKFLOW.name) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


@EACH_WORKFLOW
def test_every_action_is_pinned_by_a_full_commit_sha(name: str) -> None:
    jobs = _workflow(name)["jobs"].values()
    uses = [step["uses"] for job in jobs for step in job["steps"] if "uses" in step]
    assert uses and [u for u in uses if not PINNED.match(u)] == []


@EACH_WORKFLOW
def test_every_job_has_a_timeout(name: str) -> None:
    jobs = _workflow(name)["jobs"]
    assert {
        name: job.get("timeout-minutes") for name, job in jobs.items() if not job.get("timeout-minutes")
    } == {}


@EACH_WORKFLOW
def test_no_input_is_spliced_into_a_script(name: str) -> None:
    """``${{ inputs.x }}`` inside ``run`` is script injection; inputs reach scripts as variables."""
    runs = [step.get("run", "") for job in _workflow(name)["jobs"].values() for step in job["steps"]]
    assert [run for run in runs if "${{" in run] == []


def test_a_version_reaches_prod_only_through_the_prod_environments_reviewers() -> None:
    job = _workflow("promote.yml")["jobs"]["prod"]
    assert job["environment"].startswith("prod")  # its required reviewers are the manual approval
    assert "refs/heads/main" in job["if"]
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_PROMOTE_ROLE_ARN }}"
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert 'approve "$VERSION" --stage prod' in runs and 'promote "$VERSION" --stage prod' in runs
    assert "rollback --stage prod" in runs


def test_prod_deploys_only_from_main_and_the_deploy_seeds_the_raw_data() -> None:
    deploy = _workflow()["jobs"]["deploy"]
    condition = " ".join(deploy["if"].split())
    assert "inputs.environment != 'prod' || github.ref == 'refs/heads/main'" in condition
    assert any("seed-data" in step.get("run", "") for step in deploy["steps"])


def test_installs_require_the_lock_files_hashes() -> None:
    makefile = (WORKFLOW.parents[2] / "Makefile").read_text()
    assert "--require-hashes" in makefile and "--generate-hashes" in makefile
    lock = (WORKFLOW.parents[2] / "requirements.lock").read_text()
    pins = [line for line in lock.splitlines() if re.match(r"^[A-Za-z0-9_.-]+==", line)]
    assert pins and all(line.rstrip().endswith("\\") for line in pins)  # each followed by --hash lines


def _pins(lock: Path) -> dict[str, str]:
    return dict(
        match.groups()
        for match in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock.read_text(), re.MULTILINE)
    )


def test_the_image_base_is_a_digest_and_its_packages_come_from_a_hashed_lock() -> None:
    root = WORKFLOW.parents[2]
    dockerfile = (root / "Dockerfile").read_text()
    # FROM ${BASE_IMAGE}: the build argument's default is the pinned base (a stand-in replaces it
    # only where no registry answers, see .ci/run).
    assert re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE) == ["${BASE_IMAGE}"]
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)", dockerfile, re.MULTILINE)
    assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", base)
    assert "pip install --require-hashes" in dockerfile and "requirements.lock" in dockerfile
    image, project = (
        _pins(root / "processing_scripts" / "requirements.lock"),
        _pins(root / "requirements.lock"),
    )
    # the image runs the versions the test suite ran (xgboost-cpu is the image's name for xgboost)
    shared = {name for name in image if name in project}
    assert len(shared) > 15 and {n: image[n] for n in shared} == {n: project[n] for n in shared}


def test_each_stage_deploys_with_its_own_role_and_environment_staging_first() -> None:
    jobs = _workflow()["jobs"]
    staging, prod = jobs["deploy-staging"], jobs["deploy-prod"]
    assert (staging["needs"], staging["environment"]) == ("deploy", "staging")
    assert (prod["needs"], prod["environment"]) == ("deploy-staging", "prod")
    assert "refs/heads/main" in prod["if"]
    for job, stage, role in ((staging, "Staging", "STAGING"), (prod, "Prod", "PROD")):
        steps = job["steps"]
        credentials = next(s for s in steps if "configure-aws-credentials" in s.get("uses", ""))
        assert credentials["with"]["role-to-assume"] == f"${{{{ vars.AWS_{role}_DEPLOY_ROLE_ARN }}}}"
        assert f'cdk deploy "{stage}/*"' in steps[-1]["run"]


def test_pull_requests_diff_each_stage_with_its_read_only_role() -> None:
    job = _workflow()["jobs"]["diff-stage"]
    assert job["strategy"]["matrix"]["include"] == [
        {"stage": "Staging", "role": "AWS_STAGING_DIFF_ROLE_ARN"},
        {"stage": "Prod", "role": "AWS_PROD_DIFF_ROLE_ARN"},
    ]
    assert 'cdk diff --no-notices -c env="$MLOPS_ENV" "$STAGE/*"' in job["steps"][-1]["run"]


def test_the_suite_runs_single_account() -> None:
    (step,) = [s for s in _workflow()["jobs"]["test"]["steps"] if s.get("run") == "make test"]
    assert step["env"]["MLOPS_STAGES"] == ""
