"""The single source of truth: environment selection, names, and the content-addressed image tag."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import settings as s


def test_environment_is_selected_by_argument_then_variable(monkeypatch):
    assert s.load().env == "dev"
    monkeypatch.setenv("MLOPS_ENV", "prod")
    assert s.load().env == "prod"
    assert s.load("dev").env == "dev"


def test_prod_differs_only_where_the_overrides_say():
    dev, prod = s.load("dev"), s.load("prod")
    assert prod.model_approval_status == "PendingManualApproval"
    assert prod.training.tuning_enabled and not dev.training.tuning_enabled
    assert prod.monitoring == dev.monitoring and prod.alarms == dev.alarms
    assert prod.quality_gate == dev.quality_gate


def test_names_are_prefixed_per_environment_so_two_can_share_an_account():
    dev, prod = s.load("dev"), s.load("prod")
    dev_names = {
        dev.training_pipeline_name,
        dev.endpoint_name,
        dev.model_package_group,
        dev.bucket_name("data"),
    }
    prod_names = {
        prod.training_pipeline_name,
        prod.endpoint_name,
        prod.model_package_group,
        prod.bucket_name("data"),
    }
    assert not dev_names & prod_names
    assert all(name.startswith("abalone-mlops-dev-") for name in dev_names)


def test_arns_follow_the_account_and_region(monkeypatch):
    monkeypatch.setenv("MLOPS_ACCOUNT", "210987654321")
    monkeypatch.setenv("MLOPS_REGION", "eu-west-1")
    cfg = s.load("dev")
    assert (
        cfg.function_arn("deploy")
        == "arn:aws:lambda:eu-west-1:210987654321:function:abalone-mlops-dev-deploy"
    )
    assert cfg.role_arn(s.JOB_ROLE) == "arn:aws:iam::210987654321:role/abalone-mlops-dev-job-eu-west-1"
    assert cfg.bucket_name("capture") == "abalone-mlops-dev-capture-210987654321-eu-west-1"
    assert cfg.processing_image_uri.startswith(
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/abalone-mlops-dev-processing:sha-"
    )
    assert len(cfg.bucket_name("artifacts")) <= 63  # S3's limit


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "staging"}, "unknown environment 'staging'"),
        ({"account": "12345"}, "must be 12 digits"),
    ],
)
def test_bad_settings_say_what_to_fix(kwargs, message):
    with pytest.raises(s.SettingsError, match=message):
        s.load(**kwargs)


def test_unknown_purposes_are_rejected():
    cfg = s.load()
    with pytest.raises(s.SettingsError, match="unknown bucket purpose"):
        cfg.bucket_name("scratch")
    with pytest.raises(s.SettingsError, match="unknown function"):
        cfg.function_arn("train")
    with pytest.raises(s.SettingsError, match="unknown pipeline 'scoring'"):
        cfg.pipeline_name("scoring")


def test_every_pipeline_name_derives_from_its_short_name():
    cfg = s.load("prod")
    assert cfg.pipeline_names == tuple(f"abalone-mlops-prod-{short}" for short in s.PIPELINES)
    assert cfg.training_pipeline_name == cfg.pipeline_name("training") == "abalone-mlops-prod-training"
    assert cfg.monitoring_pipeline_name == cfg.pipeline_name("monitoring")


def test_short_names_can_name_a_builder_module():
    """pipelines.builders looks a pipeline's builder up as pipelines/<short>.py."""
    for short in s.PIPELINES:
        assert short.isidentifier() and short == short.lower(), short


def test_configuration_imports_no_other_layer():
    """Settings sits on the container code's drift config and nothing else: no SDK, CDK, boto3 or
    other layer of the project is loaded by importing it (the CDK app, the CLI and the jobs all do)."""
    probe = (
        "import sys, pipelines.settings; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'infra', 'localcloud', 'sagemaker', 'aws_cdk', 'boto3', 'numpy'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=s.REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_image_tag_is_a_content_digest(tmp_path: Path):
    for entry in s.IMAGE_INPUTS:
        source = s.REPO_ROOT / entry
        if source.is_dir():
            shutil.copytree(source, tmp_path / entry, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, tmp_path / entry)
        else:
            (tmp_path / entry).write_text("FROM scratch\n")
    tag = s.processing_image_tag(tmp_path)
    assert tag == s.processing_image_tag(tmp_path)  # deterministic
    cache = tmp_path / "processing_scripts" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.pyc").write_bytes(b"compiled")
    assert s.processing_image_tag(tmp_path) == tag  # caches do not count
    (tmp_path / "processing_scripts" / "dataset.py").write_text("# changed\n", encoding="utf-8")
    assert s.processing_image_tag(tmp_path) != tag  # content does


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_arns_carry_the_partition_of_the_region(monkeypatch, region, partition):
    """A hard-coded ``arn:aws`` names nothing in China or GovCloud."""
    monkeypatch.setenv("MLOPS_REGION", region)
    cfg = s.load("dev")
    arns = [
        cfg.function_arn("deploy"),
        cfg.role_arn(s.PIPELINE_ROLE),
        cfg.pipeline_arn(cfg.training_pipeline_name),
        cfg.sns_topic_arn,
    ]
    assert all(arn.startswith(f"arn:{partition}:") for arn in arns), arns


def test_role_names_differ_per_region_so_one_account_holds_two_regions(monkeypatch):
    east = s.load("dev", region="us-east-1")
    west = s.load("dev", region="us-west-2")
    for purpose in s.ROLE_PURPOSES:
        assert east.role_name(purpose) != west.role_name(purpose)
        assert len(east.role_name(purpose)) <= s.MAX_ROLE_NAME_LENGTH


def test_a_role_name_over_iams_limit_is_a_clear_error():
    long_project = dataclasses.replace(s.load("dev"), project="a" * 50)
    with pytest.raises(s.SettingsError, match="longer than IAM's 64 characters"):
        long_project.role_name(s.PIPELINE_ROLE)


def test_manual_approval_environments_cannot_register_a_package_approved():
    dev, prod = s.load("dev"), s.load("prod")
    assert not dev.manual_approval and s.APPROVED in dev.registrable_approval_statuses
    assert prod.manual_approval and prod.registrable_approval_statuses == (s.PENDING_MANUAL_APPROVAL,)
    with pytest.raises(s.SettingsError, match="not one the pipeline may register with"):
        dataclasses.replace(prod, model_approval_status="Rejected")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_is_baked_in_only_when_given_or_asked_for(monkeypatch, tmp_path: Path):
    """A plain load (synth) stays "unknown"; upsert/demo take the checkout's HEAD, marked -dirty when
    tracked files changed; MLOPS_GIT_COMMIT (CI) wins; no git repository leaves it unknown."""
    monkeypatch.delenv(s.GIT_COMMIT_ENV, raising=False)
    plain = s.load("dev")
    assert plain.source_commit == s.UNKNOWN_COMMIT
    assert s.with_checkout_commit(plain, root=tmp_path).source_commit == s.UNKNOWN_COMMIT  # not a checkout

    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert s.with_checkout_commit(plain, root=tmp_path).source_commit == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert s.with_checkout_commit(plain, root=tmp_path).source_commit == f"{head}-dirty"

    monkeypatch.setenv(s.GIT_COMMIT_ENV, "0123abc")
    given = s.load("dev")
    assert given.source_commit == "0123abc"
    assert s.with_checkout_commit(given, root=tmp_path).source_commit == "0123abc"
