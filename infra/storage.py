"""Storage: the data key, the project's buckets and the image repository.

Everything here is retained on stack deletion: it holds training data, models, captured inference
traffic and reports, which outlive any deployment. Buckets are KMS-encrypted with the project key
(with S3 bucket keys, so KMS calls stay cheap), versioned, TLS-only, private, and log access to the
logs bucket, which uses S3-managed encryption because S3 server access logging cannot write
KMS-encrypted objects.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import cross_account
from infra.encryption import project_key
from pipelines.settings import DATA_KEY, Settings

DATA_PURPOSES = ("data", "artifacts", "capture", "reports")
ABORT_UPLOADS_AFTER = cdk.Duration.days(7)


class StorageStack(cdk.Stack):
    """KMS key, the data/artifacts/capture/reports buckets, their access-log bucket and ECR."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = settings.retention
        self.key = project_key(self, "DataKey", settings, DATA_KEY)
        self.logs_bucket = s3.Bucket(
            self,
            "LogsBucket",
            bucket_name=settings.bucket_name("logs"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=cdk.Duration.days(retention.access_logs_expiration_days),
                    noncurrent_version_expiration=cdk.Duration.days(
                        retention.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload_after=ABORT_UPLOADS_AFTER,
                )
            ],
            **_private_retained(),
        )
        self.buckets = {
            purpose: s3.Bucket(
                self,
                f"{purpose.title()}Bucket",
                bucket_name=settings.bucket_name(purpose),
                encryption=s3.BucketEncryption.KMS,
                encryption_key=self.key,
                bucket_key_enabled=True,
                server_access_logs_bucket=self.logs_bucket,
                server_access_logs_prefix=f"{purpose}/",
                lifecycle_rules=_lifecycle(settings, purpose),
                **_private_retained(),
            )
            for purpose in DATA_PURPOSES
        }
        self.repository = ecr.Repository(
            self,
            "ProcessingImages",
            repository_name=settings.ecr_repository,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"keep the newest {retention.max_images} images",
                    max_image_count=retention.max_images,
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # The deployment stages' accounts read models (none in the single-account setup).
        for statement in cross_account.artifact_statements(settings):
            self.buckets["artifacts"].add_to_resource_policy(statement)
        for statement in cross_account.capture_statements(settings):
            self.buckets["capture"].add_to_resource_policy(statement)
        for statement in cross_account.key_statements(settings):
            self.key.add_to_resource_policy(statement)
        for purpose, bucket in self.buckets.items():
            cdk.CfnOutput(self, f"{purpose.title()}BucketName", value=bucket.bucket_name)
        cdk.CfnOutput(self, "ProcessingRepositoryUri", value=self.repository.repository_uri)
        cdk.CfnOutput(self, "DataKeyArn", value=self.key.key_arn)


def _private_retained() -> dict[str, object]:
    """What every bucket shares: versioned, TLS only, no public access, kept on stack deletion."""
    return {
        "versioned": True,
        "enforce_ssl": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
    }


def _lifecycle(settings: Settings, purpose: str) -> list[s3.LifecycleRule]:
    """Capture and report data age out (cheaper storage first); models and data stay current."""
    retention = settings.retention
    rules = [
        s3.LifecycleRule(
            id="expire-old-versions",
            noncurrent_version_expiration=cdk.Duration.days(retention.noncurrent_version_expiration_days),
            abort_incomplete_multipart_upload_after=ABORT_UPLOADS_AFTER,
        )
    ]
    expiration_days = {
        "capture": retention.capture_expiration_days,
        "reports": retention.reports_expiration_days,
    }.get(purpose)
    if expiration_days:
        rules.append(
            s3.LifecycleRule(
                id=f"age-out-{purpose}",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=cdk.Duration.days(retention.infrequent_access_after_days),
                    )
                ],
                expiration=cdk.Duration.days(expiration_days),
            )
        )
    return rules
