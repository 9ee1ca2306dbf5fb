"""`seed-data` as a user calls it: the first run's raw data lands where the pipeline reads it."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pipelines import settings as settings_module
from processing_scripts import s3_uri
from tests.pipelines.cli_runner import run

SETTINGS = settings_module.load("dev")
BUCKET, KEY = s3_uri.split(SETTINGS.raw_data_uri, key_required=True)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=SETTINGS.region)
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_seeds_the_sample_once_and_never_replaces_data_without_force(s3, capsys, tmp_path):
    code, out, _ = run(capsys, "seed-data")
    assert code == 0 and "seeded" in out
    sample = (settings_module.REPO_ROOT / "data" / "abalone.csv").read_bytes()
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == sample

    newer = tmp_path / "newer.csv"
    newer.write_text("M,0.5,0.4,0.1,0.5,0.2,0.1,0.15,9\n")
    code, out, _ = run(capsys, "seed-data", "--data", str(newer))
    assert code == 0 and "not replaced" in out
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == sample

    code, out, _ = run(capsys, "seed-data", "--data", str(newer), "--force")
    assert code == 0 and "seeded" in out
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == newer.read_bytes()


def test_a_missing_or_empty_file_is_one_clear_line(s3, capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.touch()
    for path in (tmp_path / "absent.csv", empty):
        code, _, err = run(capsys, "seed-data", "--data", str(path))
        assert code == 2 and "is not a non-empty file" in err and "Traceback" not in err
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_a_missing_bucket_is_an_aws_error_with_a_hint(capsys):
    with mock_aws():
        code, _, err = run(capsys, "seed-data")
    assert code == 4 and "Traceback" not in err


def test_a_script_mode_model_s_code_is_published_once_where_the_definition_names_it(s3, capsys, monkeypatch):
    from pipelines.model_code import source_archive

    script = settings_module.ScriptModel(source_dir="examples/credit/model")
    training = settings_module.TrainingConfig(script=script)
    monkeypatch.setitem(settings_module.OVERRIDES, "dev", {"training": training})
    s3.create_bucket(Bucket=SETTINGS.bucket_name("artifacts"))
    uri, archive = source_archive(settings_module.load("dev"))

    code, out, _ = run(capsys, "seed-data")
    assert code == 0 and f"published the model code to {uri}" in out.replace("\n", "")
    bucket, key = s3_uri.split(uri, key_required=True)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == archive

    code, out, _ = run(capsys, "seed-data")  # data and code present: nothing is written again
    assert code == 0 and "not replaced" in out and "published" not in out
