"""IAM on the emulator's requests: each principal's credentials, AWS's errors, the calls S3 makes.

The policies are the ones the CDK app synthesizes (the test run's once-synthesized ``cdk.out``), so
these tests also pin what today's roles may and may not do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud import LocalAws
from localcloud.cloudformation import TemplateSet
from localcloud.iam import AccessControl, PolicyStore, Principal
from localcloud.iam.enforcement import AccessDeniedError
from pipelines import settings as settings_module
from pipelines.settings import JOB_ROLE, PIPELINE_ROLE
from processing_scripts import s3_uri
from processing_scripts.aws_clients import AwsClients, AwsTarget

SETTINGS = settings_module.load("dev")
JOB_ROLE_ARN = SETTINGS.role_arn(JOB_ROLE)
DEPLOY_ROLE = SETTINGS.role_arn("deploy-function")
RAW_BUCKET, RAW_KEY = s3_uri.split(SETTINGS.raw_data_uri, key_required=True)


@pytest.fixture(scope="module")
def access(deployed_artifacts) -> Iterator[AccessControl]:
    store = PolicyStore.from_templates(TemplateSet.load(SETTINGS, deployed_artifacts.cdk_out))
    with LocalAws(SETTINGS) as aws, AccessControl(aws, store) as control:
        yield control


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def test_a_job_role_reads_its_input_and_s3_uses_the_bucket_key_as_the_job(access: AccessControl) -> None:
    body = (
        access.clients_for(JOB_ROLE_ARN, "SageMaker")
        .s3.get_object(Bucket=RAW_BUCKET, Key=RAW_KEY)["Body"]
        .read()
    )
    assert body.startswith(b"sex,")
    seen = {(c.principal, c.action, c.on_behalf) for c in access.log.calls if c.allowed}
    assert (JOB_ROLE_ARN, "s3:GetObject", "") in seen
    assert (JOB_ROLE_ARN, "kms:Decrypt", "s3") in seen  # the data bucket is SSE-KMS with the project's key


def test_a_role_without_the_grant_gets_aws_s_access_denied(access: AccessControl) -> None:
    s3 = access.clients_for(DEPLOY_ROLE, "abalone-mlops-dev-deploy").s3
    error = _error(lambda: s3.get_object(Bucket=RAW_BUCKET, Key=RAW_KEY))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/abalone-mlops-dev-deploy-function-us-east-1/abalone-mlops-dev-deploy "
        f"is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::{RAW_BUCKET}/{RAW_KEY} "
        "because no identity-based policy allows the s3:GetObject action"
    )


def test_a_json_service_answers_access_denied_exception(access: AccessControl) -> None:
    sagemaker = access.clients_for(JOB_ROLE_ARN, "SageMaker").sagemaker
    error = _error(
        lambda: sagemaker.delete_model_package_group(ModelPackageGroupName=SETTINGS.model_package_group)
    )
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert (
        "sagemaker:DeleteModelPackageGroup on resource: arn:aws:sagemaker:"
        in error.response["Error"]["Message"]
    )


def test_passing_a_role_in_a_request_needs_iam_pass_role(access: AccessControl) -> None:
    sagemaker = access.clients_for(JOB_ROLE_ARN, "SageMaker").sagemaker
    other_role = SETTINGS.role_arn("deploy-function")
    error = _error(
        lambda: sagemaker.create_model(
            ModelName=f"{SETTINGS.endpoint_name}-x",
            ExecutionRoleArn=other_role,
            PrimaryContainer={"Image": "x"},
        )
    )
    # CreateModel itself is not granted to the job role either; both refusals are recorded
    denied = {(c.action, c.resource) for c in access.log.denied if c.principal == JOB_ROLE_ARN}
    assert ("iam:PassRole", other_role) in denied
    assert error.response["Error"]["Code"] == "AccessDeniedException"


def test_an_unknown_access_key_is_refused_not_let_through(access: AccessControl) -> None:
    target = access.aws.clients.target
    stranger = AwsClients(
        AwsTarget(
            region=target.region, endpoint_url=target.endpoint_url, static_credentials=("AKIASTRANGER", "x")
        )
    )
    error = _error(lambda: stranger.s3.list_objects_v2(Bucket=RAW_BUCKET))
    assert error.response["Error"]["Code"] == "InvalidAccessKeyId"
    error = _error(stranger.sagemaker.list_model_package_groups)
    assert error.response["Error"]["Code"] == "InvalidClientTokenId"


def test_the_local_cloud_s_own_harness_is_the_administrator(access: AccessControl) -> None:
    assert access.aws.clients.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]


def test_an_in_process_call_as_sagemaker_is_checked_too(access: AccessControl) -> None:
    pipeline = Principal(role_arn=SETTINGS.role_arn(PIPELINE_ROLE), session="SageMaker")
    access.authorize(
        pipeline, "sagemaker:CreateProcessingJob", {"ProcessingJobName": "pipelines-x-Preprocess-1"}
    )
    with pytest.raises(
        AccessDeniedError, match=r"not authorized to perform: iam:PassRole on resource: .*deploy-function"
    ):
        access.authorize(
            pipeline,
            "iam:PassRole",
            {"RoleArn": DEPLOY_ROLE},
            context={"iam:PassedToService": "sagemaker.amazonaws.com"},
        )


def test_the_calls_file_lists_every_distinct_call(access: AccessControl, tmp_path) -> None:
    import json

    written = access.write_calls(tmp_path)
    rows = json.loads(written.read_text())["calls"]
    assert {"principal", "action", "resource", "allowed", "reason", "grants", "on_behalf", "count"} <= set(
        rows[0]
    )
    assert any(not row["allowed"] for row in rows) and any(row["allowed"] for row in rows)


def test_a_rule_publishing_to_the_encrypted_topic_needs_the_topic_key_policy(access: AccessControl) -> None:
    events = Principal(service="events.amazonaws.com")
    rule = f"arn:aws:events:{SETTINGS.region}:{SETTINGS.account}:rule/{SETTINGS.prefix}-pipeline-failed"
    topic = {"TopicArn": SETTINGS.sns_topic_arn}
    access.authorize(
        events, "sns:Publish", topic, context={"aws:SourceArn": rule, "aws:SourceAccount": SETTINGS.account}
    )
    used = {(c.principal, c.action, c.on_behalf) for c in access.log.calls if c.allowed}
    assert ("events.amazonaws.com", "kms:GenerateDataKey", "sns") in used
    other_rule = rule.replace("-pipeline-failed", "-someone-elses-rule")  # the topic policy names ours
    with pytest.raises(AccessDeniedError, match=r"events.amazonaws.com is not authorized to perform: "):
        access.authorize(
            events,
            "sns:Publish",
            topic,
            context={"aws:SourceArn": other_rule, "aws:SourceAccount": SETTINGS.account},
        )
