"""Several accounts in one emulator: a request acts in the account of its credentials, and what a
stage deploy reads from the build account (its registry, its bucket) it reads across accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from localcloud.account import LocalAws
from localcloud.iam import AccessControl, PolicyStore, Principal
from pipelines import settings as settings_module
from pipelines.settings import Stage

BUILD, STAGING = "123456789012", "111111111111"
SETTINGS = dataclasses.replace(
    settings_module.load("dev", account=BUILD), stages=(Stage("staging", STAGING, "us-east-1"),)
)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(SETTINGS, upload_sample_data=False) as emulator:
        yield emulator


def _register(aws: LocalAws) -> tuple[str, str]:
    """A model version in the build account's registry, its artifact in the build account's bucket."""
    bucket = SETTINGS.bucket_name("artifacts")
    aws.clients.s3.put_object(Bucket=bucket, Key="pipelines/m/model.tar.gz", Body=b"model")
    artifact = f"s3://{bucket}/pipelines/m/model.tar.gz"
    package = aws.clients.sagemaker.create_model_package(
        ModelPackageGroupName=SETTINGS.model_package_group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": artifact}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return package, artifact


def test_a_stage_account_has_state_of_its_own_and_reads_the_build_accounts_registry_and_bucket(
    aws: LocalAws,
) -> None:
    package, artifact = _register(aws)
    staging = aws.administrator(STAGING)

    described = staging.sagemaker.describe_model_package(ModelPackageName=package)
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == artifact
    bucket = SETTINGS.bucket_name("artifacts")
    assert staging.s3.get_object(Bucket=bucket, Key="pipelines/m/model.tar.gz")["Body"].read() == b"model"

    model = staging.sagemaker.create_model(
        ModelName="staged",
        ExecutionRoleArn=SETTINGS.stage_role_arn(SETTINGS.stages[0], "model"),
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifact},
    )["ModelArn"]
    assert model.split(":")[4] == STAGING
    assert [m["ModelName"] for m in staging.sagemaker.list_models()["Models"]] == ["staged"]
    assert aws.clients.sagemaker.list_models()["Models"] == []  # the build account has none
    assert staging.s3.list_buckets()["Buckets"] == []  # the build account's buckets are not the stage's


def test_a_roles_credentials_act_in_the_roles_account(aws: LocalAws) -> None:
    access = AccessControl(aws, PolicyStore(BUILD))
    role = SETTINGS.stage_role_arn(SETTINGS.stages[0], "deploy")
    key, _ = access.credentials(Principal(role_arn=role, session="deploy"))
    assert aws.account_of(key) == STAGING
    assert (
        aws.account_of("testing") is None
    )  # the harness and every child process: the build account (moto default)


def test_an_unknown_model_package_in_another_account_is_not_found(aws: LocalAws) -> None:
    missing = f"arn:aws:sagemaker:us-east-1:{BUILD}:model-package/{SETTINGS.model_package_group}/999"
    staging = aws.administrator(STAGING)
    with pytest.raises(staging.sagemaker.exceptions.ClientError, match="not found"):
        staging.sagemaker.describe_model_package(ModelPackageName=missing)
