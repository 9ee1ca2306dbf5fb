"""The emulator: seeded like the stacks would seed AWS, loopback only, gone after use; the local cloud
around it creates the pipelines as the stack does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from localcloud import EmulatorError, LocalAws, LocalCloud, LocalCloudError
from localcloud import cloud as cloud_module
from localcloud.cloud import synthesize
from pipelines import settings as settings_module
from pipelines import synth as synth_module
from processing_scripts import s3_uri
from processing_scripts.aws_clients import ENDPOINT_ENV

SETTINGS = settings_module.load("dev")


def test_seeds_the_buckets_the_model_group_and_the_examples_data(each_example):
    settings = settings_module.load("dev")
    with LocalAws(settings) as aws:
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
        buckets = {b["Name"] for b in aws.clients.s3.list_buckets()["Buckets"]}
        assert buckets == {settings.bucket_name(p) for p in settings_module.BUCKET_PURPOSES}
        groups = aws.clients.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert [g["ModelPackageGroupName"] for g in groups] == [settings.model_package_group]
        bucket, key = s3_uri.split(settings.raw_data_uri)
        body = aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == each_example.data_file().read_bytes()
        environment = aws.process_environment()
        assert environment[ENDPOINT_ENV] == aws.endpoint_url
        assert environment["AWS_REGION"] == settings.region


def test_stops_on_an_exception_and_forgets_its_state():
    with pytest.raises(RuntimeError, match="boom"), LocalAws(SETTINGS, upload_sample_data=False) as aws:
        url = aws.endpoint_url
        aws.clients.s3.put_object(Bucket=SETTINGS.bucket_name("data"), Key="left-behind", Body=b"x")
        raise RuntimeError("boom")
    assert not aws.running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    with pytest.raises(EmulatorError, match="not running"):
        _ = aws.clients
    with LocalAws(SETTINGS, upload_sample_data=False) as fresh:
        listed = fresh.clients.s3.list_objects_v2(Bucket=SETTINGS.bucket_name("data"))
        assert listed["KeyCount"] == 0  # a new emulator starts empty
    fresh.stop()  # stopping twice is harmless


def test_a_missing_sample_file_is_a_clear_error(tmp_path):
    with pytest.raises(EmulatorError, match=r"sample data .*missing\.csv not found"):
        LocalAws(SETTINGS, sample_data=tmp_path / "missing.csv").start()


EMPTY_DEFINITION = {"Version": "2020-12-01", "Parameters": [], "Steps": []}


def test_the_local_cloud_creates_its_pipelines_and_stops_with_the_emulator():
    name = SETTINGS.monitoring_pipeline_name
    with pytest.raises(RuntimeError, match="boom"), LocalCloud(SETTINGS, {name: EMPTY_DEFINITION}) as cloud:
        created = cloud.aws.clients.sagemaker.describe_pipeline(PipelineName=name)
        assert json.loads(created["PipelineDefinition"]) == EMPTY_DEFINITION
        assert created["RoleArn"] == SETTINGS.role_arn(settings_module.PIPELINE_ROLE)
        assert (cloud.alarms, cloud.rules) == ([], [])  # no cdk.out: nothing to evaluate or route
        raise RuntimeError("boom")
    assert not cloud.aws.running


def test_the_local_cloud_names_its_pipelines_when_asked_for_another(tmp_path):
    cloud = LocalCloud(SETTINGS, {"known": EMPTY_DEFINITION}, runs_dir=tmp_path)
    with pytest.raises(LocalCloudError) as info:
        cloud.run("unknown")
    assert str(info.value) == "no definition for pipeline 'unknown' in the local cloud (known: known)"


@pytest.fixture
def failing_app(tmp_path, monkeypatch):
    """A checkout whose app.py fails as a broken CDK app does; the pipeline JSON writer replaced by
    ``write`` (its default writes one file)."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "app.py").write_text(
        "import sys, time\ntime.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)\n"
        "print('jsii.errors.JavaScriptError: cannot synthesize', file=sys.stderr)\nsys.exit(3)\n"
    )
    monkeypatch.setattr(cloud_module, "REPO_ROOT", root)

    def write(settings, folder):
        folder.mkdir(parents=True)
        (folder / "p.json").write_text("{}")
        return [folder / "p.json"]

    monkeypatch.setattr(synth_module, "write_pipelines", write)
    return root


def test_a_failing_cdk_app_is_one_error_with_the_end_of_its_output(failing_app, tmp_path):
    with pytest.raises(LocalCloudError) as info:
        synthesize(SETTINGS, tmp_path / "out", cdk_validation=False)
    assert str(info.value) == (
        "app.py (CDK synth) failed with exit 3:\njsii.errors.JavaScriptError: cannot synthesize"
    )
    assert (tmp_path / "out" / "pipelines" / "p.json").exists()  # written while the app ran


def test_the_cdk_app_is_stopped_when_writing_the_pipeline_json_fails(failing_app, tmp_path, monkeypatch):
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = popen([*args[0], "60"], *args[1:], **kwargs)  # a CDK app that would run a minute
        started.append(process)
        return process

    def broken(settings, folder):
        raise OSError("disk full")

    monkeypatch.setattr(cloud_module.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(synth_module, "write_pipelines", broken)
    with pytest.raises(OSError, match="disk full"):
        synthesize(SETTINGS, tmp_path / "out", cdk_validation=False)
    (app,) = started
    assert app.returncode is not None and app.returncode < 0  # killed and waited for, not left running


def test_a_users_plain_boto3_client_reaches_the_emulator_not_aws():
    """A job's or a Lambda's own ``boto3.client("s3")`` (no endpoint given) lands in the emulator."""
    script = "import boto3; print(' '.join(b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']))"
    with LocalAws(SETTINGS, upload_sample_data=False) as aws:
        environment = {"PATH": os.environ["PATH"], **aws.process_environment()}
        listed = subprocess.run(
            [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True
        )
    assert set(listed.stdout.split()) == {SETTINGS.bucket_name(p) for p in settings_module.BUCKET_PURPOSES}
