"""``approve VERSION --stage prod``: the second approval of a multi-account promotion, recorded in the
registry with who approved (the caller's identity), when and why (moto's SageMaker and STS)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pipelines import settings as settings_module
from pipelines.cli.exit_codes import ExitCode
from tests.pipelines.cli_runner import one_line_error, run

SETTINGS = settings_module.load("dev")
GROUP = SETTINGS.model_package_group
STAGES = "staging:111111111111,prod:222222222222"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(settings_module.STAGES_ENV, STAGES)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        for status in ("Approved", "PendingManualApproval"):
            sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus=status,
                CustomerMetadataProperties={"trained-on": "2026-11-30"},
                InferenceSpecification={
                    "Containers": [{"Image": SETTINGS.processing_image_uri}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        yield sagemaker


def _properties(sagemaker, version: int) -> dict[str, str]:
    summaries = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    arn = next(s["ModelPackageArn"] for s in summaries if s["ModelPackageVersion"] == version)
    return sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties", {})


def test_prod_approval_records_who_when_and_why_next_to_the_model(registry, capsys) -> None:
    code, out, err = run(capsys, "approve", "1", "--stage", "prod", "-m", "staging smoke and load passed")
    assert code == 0, err
    properties = _properties(registry, 1)
    who = boto3.client("sts", region_name=SETTINGS.region).get_caller_identity()["Arn"]
    assert properties["prod-approved-by"] == who and f"for prod by {who}" in out
    assert properties["prod-approval-note"] == "staging smoke and load passed"
    assert properties["prod-approved-at"].endswith("+00:00")
    assert properties["trained-on"] == "2026-11-30"  # what was there stays


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("2", "--stage", "prod"), ExitCode.USAGE, "is PendingManualApproval: only an approved version"),
        (("1", "--stage", "staging"), ExitCode.USAGE, "staging is the first stage"),
        (("1", "--stage", "qa"), ExitCode.USAGE, "no stage 'qa' configured"),
        (("--stage", "prod"), ExitCode.USAGE, "name the version to approve for prod"),
        (("7", "--stage", "prod"), ExitCode.NOT_FOUND, f"{GROUP} has no version 7"),
    ],
)
def test_what_cannot_be_approved_for_a_stage_is_a_one_line_error(
    registry, capsys, argv, code, message
) -> None:
    exit_code, _, err = run(capsys, "approve", *argv, "-m", "ok")
    assert exit_code == code
    assert message in one_line_error(err)[0]
    assert "prod-approved-by" not in _properties(registry, 1)


def test_a_note_longer_than_the_registry_keeps_is_refused(registry, capsys) -> None:
    code, _, err = run(capsys, "approve", "1", "--stage", "prod", "-m", "x" * 300)
    assert code == ExitCode.USAGE and "at most 256" in one_line_error(err)[0]
