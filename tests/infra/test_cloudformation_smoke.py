"""Smoke deploy: the four templates, in dependency order, into moto's CloudFormation.

This is NOT proof that the stacks deploy on AWS. moto creates KMS keys, buckets, ECR, IAM, SQS,
SNS, log groups, Lambda functions and EventBridge rules, resolves the cross-stack exports, and
silently skips the rest (alarms, pipelines, the model package group, bucket/topic/queue policies,
Lambda event-invoke configs); :data:`SKIPPED_BY_MOTO` pins that list so a moto upgrade that starts
creating one of them shows up here. What it does prove: the templates parse, references and exports
resolve, and the resources moto creates come out with the names and settings we expect (moto's
bucket handler ignores VersioningConfiguration; versioning is asserted on the template).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from infra.lambda_environment import environment_for
from processing_scripts.aws_clients import AwsClients, AwsTarget
from tests.infra.conftest import CONCERNS, Synthesized

SKIPPED_BY_MOTO = {
    "AWS::CloudWatch::Alarm",
    "AWS::SageMaker::Pipeline",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::EventInvokeConfig",
}
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# moto warns once per resource type it skips; the skipped set is asserted instead.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


def _publish_assets(synthesized: Synthesized, clients: AwsClients) -> None:
    """What `cdk deploy` does first: zip directory assets into the bootstrap bucket."""
    settings = synthesized.settings
    for concern in CONCERNS:
        stack = getattr(synthesized.stacks, concern)
        manifest = json.loads((synthesized.outdir / f"{stack.artifact_id}.assets.json").read_text())
        for asset in manifest.get("files", {}).values():
            source = synthesized.outdir / asset["source"]["path"]
            for destination in asset["destinations"].values():
                bucket = destination["bucketName"].replace("${AWS::AccountId}", settings.account)
                bucket = bucket.replace("${AWS::Region}", settings.region)
                clients.s3.create_bucket(Bucket=bucket)
                clients.s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=_zipped(source))


def _zipped(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(directory.rglob("*")):
            archive.write(path, path.relative_to(directory))
    return buffer.getvalue()


def _for_moto(template: dict[str, Any]) -> str:
    """moto's KMS handler reads CloudFormation tags with the KMS API's spelling (TagKey) and fails
    on the template's Key/Value; keys are created untagged here (tags are asserted on templates)."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"].pop("Tags", None)
    return json.dumps(template)


@pytest.fixture(scope="module")
def deployed(synthesized: Synthesized) -> Iterator[AwsClients]:
    with mock_aws():
        clients = AwsClients(AwsTarget(region=synthesized.settings.region))
        clients.client("ssm").put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String")
        _publish_assets(synthesized, clients)
        cloudformation = clients.client("cloudformation")
        for concern in CONCERNS:
            stack = getattr(synthesized.stacks, concern)
            cloudformation.create_stack(
                StackName=stack.stack_name,
                TemplateBody=_for_moto(json.loads(json.dumps(synthesized.templates[concern]))),
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
        yield clients


def test_every_stack_creates(synthesized: Synthesized, deployed: AwsClients) -> None:
    cloudformation = deployed.client("cloudformation")
    skipped = set()
    for concern in CONCERNS:
        name = getattr(synthesized.stacks, concern).stack_name
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", concern
        created = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
        declared = {r["Type"] for r in synthesized.templates[concern]["Resources"].values()}
        skipped |= declared - {r["ResourceType"] for r in created}
    assert skipped == SKIPPED_BY_MOTO


def test_buckets_and_repository_exist_as_configured(synthesized: Synthesized, deployed: AwsClients) -> None:
    settings = synthesized.settings
    for purpose in ("data", "artifacts", "capture", "reports"):
        encryption = deployed.s3.get_bucket_encryption(Bucket=settings.bucket_name(purpose))
        rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (repository,) = deployed.client("ecr").describe_repositories(repositoryNames=[settings.ecr_repository])[
        "repositories"
    ]
    assert repository["imageTagMutability"] == "IMMUTABLE"


def test_functions_have_the_shared_environment(synthesized: Synthesized, deployed: AwsClients) -> None:
    settings = synthesized.settings
    for purpose in ("deploy", "retrain-guard"):
        function = deployed.client("lambda").get_function(FunctionName=settings.function_name(purpose))
        configuration = function["Configuration"]
        assert configuration["Environment"]["Variables"] == environment_for(settings, purpose)
        assert configuration["Runtime"] == "python3.12"
        assert configuration["Role"] == settings.role_arn(
            "deploy-function" if purpose == "deploy" else purpose
        )


def test_rules_exist_with_their_patterns(synthesized: Synthesized, deployed: AwsClients) -> None:
    settings = synthesized.settings
    rules = {r["Name"]: r for r in deployed.events.list_rules()["Rules"]}
    drift = json.loads(rules[f"{settings.prefix}-retrain-on-drift"]["EventPattern"])
    assert drift["detail"]["state"]["value"] == ["ALARM"]
    assert (
        rules[settings.monitoring_schedule_name]["ScheduleExpression"]
        == settings.monitoring.schedule_expression
    )
