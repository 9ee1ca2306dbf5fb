"""`seed-data` as a user calls it: the first run's raw data lands where the pipeline reads it."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pipelines import settings as settings_module
from processing_scripts import example, s3_uri
from tests.pipelines.cli_runner import one_line_error, run

SETTINGS = settings_module.load("dev")
BUCKET, KEY = s3_uri.split(SETTINGS.raw_data_uri, key_required=True)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=SETTINGS.region)
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_seeds_the_examples_data_once_and_never_replaces_data_without_force(
    each_example: example.Example, capsys, tmp_path
):
    settings = settings_module.load("dev")
    bucket, key = s3_uri.split(settings.raw_data_uri, key_required=True)
    with mock_aws():
        s3 = boto3.client("s3", region_name=settings.region)
        s3.create_bucket(Bucket=bucket)
        s3.create_bucket(Bucket=settings.bucket_name("artifacts"))  # a script model's code goes there
        code, out, _ = run(capsys, "seed-data")
        assert code == 0 and "seeded" in out
        assert ("published the model code" in out) == (settings.training.script is not None)
        sample = each_example.data_file().read_bytes()
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == sample

        newer = tmp_path / "newer.csv"  # the example's columns, spelled in upper case
        newer.write_text(",".join(c.upper() for c in each_example.dataset.raw_columns) + "\n")
        code, out, _ = run(capsys, "seed-data", "--data", str(newer))
        assert code == 0 and "not replaced" in out
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == sample

        code, out, _ = run(capsys, "seed-data", "--data", str(newer), "--force")
        assert code == 0 and "seeded" in out
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == newer.read_bytes()


def test_a_file_preprocessing_would_refuse_for_its_header_is_not_uploaded(s3, capsys, tmp_path):
    headerless = tmp_path / "rows.csv"
    headerless.write_text("M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n")
    code, _, err = run(capsys, "seed-data", "--data", str(headerless))
    message, hint = one_line_error(err)
    assert code == 2
    assert message.startswith(f"{headerless}: missing column(s) 'sex', 'length'")
    assert "first line" in hint and "header row" in message
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


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
