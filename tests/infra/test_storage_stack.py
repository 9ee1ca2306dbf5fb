"""Storage: encryption, TLS-only, no public access, access logging, lifecycle, retention."""

from __future__ import annotations

from tests.infra.conftest import Synthesized, statements

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _buckets(synthesized: Synthesized) -> dict[str, dict]:
    by_name = {}
    for resource in synthesized.resources("storage", "AWS::S3::Bucket").values():
        by_name[resource["Properties"]["BucketName"]] = resource
    return by_name


def test_every_bucket_named_by_settings_private_versioned_and_retained(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    buckets = _buckets(synthesized)
    assert set(buckets) == {
        settings.bucket_name(p) for p in ("data", "artifacts", "capture", "reports", "logs")
    }
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL, name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain", name


def test_data_buckets_use_the_project_key_and_log_to_the_logs_bucket(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    buckets = _buckets(synthesized)
    for purpose in ("data", "artifacts", "capture", "reports"):
        props = buckets[settings.bucket_name(purpose)]["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "Fn::GetAtt" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        assert rule["BucketKeyEnabled"] is True
        assert props["LoggingConfiguration"]["LogFilePrefix"] == f"{purpose}/"
        assert "Ref" in props["LoggingConfiguration"]["DestinationBucketName"]
    logs = buckets[settings.bucket_name("logs")]["Properties"]
    algorithm = logs["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ]
    assert algorithm == {"SSEAlgorithm": "AES256"}  # access-log delivery cannot use KMS


def test_every_bucket_policy_denies_plain_http(synthesized: Synthesized) -> None:
    policies = synthesized.resources("storage", "AWS::S3::BucketPolicy")
    assert len(policies) == 5
    for policy in policies.values():
        denies = [
            s
            for s in statements(policy["Properties"]["PolicyDocument"])
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies, policy


def test_capture_and_reports_age_out_per_settings(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    retention = settings.retention
    buckets = _buckets(synthesized)
    for purpose, days in (
        ("capture", retention.capture_expiration_days),
        ("reports", retention.reports_expiration_days),
    ):
        rules = {
            r["Id"]: r
            for r in buckets[settings.bucket_name(purpose)]["Properties"]["LifecycleConfiguration"]["Rules"]
        }
        age_out = rules[f"age-out-{purpose}"]
        assert age_out["ExpirationInDays"] == days
        assert age_out["Transitions"] == [
            {"StorageClass": "STANDARD_IA", "TransitionInDays": retention.infrequent_access_after_days}
        ]
        assert rules["expire-old-versions"]["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": retention.noncurrent_version_expiration_days
        }
    data_rules = buckets[settings.bucket_name("data")]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert all("ExpirationInDays" not in rule for rule in data_rules)  # training data is never expired


def test_keys_rotate_and_are_retained(synthesized: Synthesized) -> None:
    keys = [
        *synthesized.resources("storage", "AWS::KMS::Key").values(),
        *synthesized.resources("monitoring", "AWS::KMS::Key").values(),
    ]
    assert len(keys) == 2
    for key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"


def test_image_repository(synthesized: Synthesized) -> None:
    (repository,) = synthesized.resources("storage", "AWS::ECR::Repository").values()
    props = repository["Properties"]
    assert props["RepositoryName"] == synthesized.settings.ecr_repository
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert str(synthesized.settings.retention.max_images) in props["LifecyclePolicy"]["LifecyclePolicyText"]
    assert repository["DeletionPolicy"] == "Retain"
