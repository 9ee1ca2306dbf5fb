"""The emulator: seeded like the stacks would seed AWS, loopback only, gone after use; the local cloud
around it creates the pipelines as the stack does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from localcloud import EmulatorError, LocalAws, LocalCloud, LocalCloudError
from pipelines import settings as settings_module
from processing_scripts import s3_uri
from processing_scripts.aws_clients import ENDPOINT_ENV

SETTINGS = settings_module.load("dev")


def test_seeds_the_buckets_the_model_group_and_the_sample_data():
    with LocalAws(SETTINGS) as aws:
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
        buckets = {b["Name"] for b in aws.clients.s3.list_buckets()["Buckets"]}
        assert buckets == {SETTINGS.bucket_name(p) for p in settings_module.BUCKET_PURPOSES}
        groups = aws.clients.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert [g["ModelPackageGroupName"] for g in groups] == [SETTINGS.model_package_group]
        bucket, key = s3_uri.split(SETTINGS.raw_data_uri)
        body = aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == (settings_module.REPO_ROOT / "data" / "abalone.csv").read_bytes()
        environment = aws.process_environment()
        assert environment[ENDPOINT_ENV] == aws.endpoint_url
        assert environment["AWS_REGION"] == SETTINGS.region


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
        assert created["RoleArn"] == SETTINGS.role_arn("sagemaker-execution")
        assert (cloud.alarms, cloud.rules) == ([], [])  # no cdk.out: nothing to evaluate or route
        raise RuntimeError("boom")
    assert not cloud.aws.running


def test_the_local_cloud_names_its_pipelines_when_asked_for_another(tmp_path):
    cloud = LocalCloud(SETTINGS, {"known": EMPTY_DEFINITION}, runs_dir=tmp_path)
    with pytest.raises(LocalCloudError) as info:
        cloud.run("unknown")
    assert str(info.value) == "no definition for pipeline 'unknown' in the local cloud (known: known)"
