"""`labels upload` as a user calls it: labels land as Model Monitor ground truth, in the hour folder
the monitoring job reads, and the job's own reader gets back exactly what was uploaded."""

from __future__ import annotations

import json

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from pipelines import settings as settings_module
from pipelines.cli.label_commands import parse_labels_file
from processing_scripts import s3_uri
from processing_scripts.drift.capture import Labels
from processing_scripts.drift.ground_truth import ground_truth_jsonl, read_ground_truth
from processing_scripts.drift.tabular import ReadStats
from tests.pipelines.cli_runner import one_line_error, run

SETTINGS = settings_module.load("dev")
BUCKET, PREFIX = s3_uri.split(SETTINGS.ground_truth_uri, key_required=True)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=SETTINGS.region)
        client.create_bucket(Bucket=BUCKET)
        yield client


def _read_back(raw: bytes) -> dict[str, float]:
    labels, stats = Labels(), ReadStats()
    read_ground_truth(raw, "labels.jsonl", labels, stats)
    assert stats.malformed_lines == 0
    table = labels.table()
    return dict(zip(table.column("id").to_pylist(), table.column("value").to_pylist(), strict=True))


def test_a_csv_of_labels_lands_in_the_upload_hour_as_ground_truth(s3, capsys, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("inference_id,y,reviewer\nreq-1,7,ann\nreq-2,11.5,bob\n")
    code, out, _ = run(
        capsys, "labels", "upload", str(labels), "--label-column", "y", "--at", "2026-03-01T12:40:00Z"
    )
    assert code == 0 and "uploaded 2 labels" in out
    [obj] = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert obj["Key"].startswith(f"{PREFIX}/{SETTINGS.endpoint_name}/2026/03/01/12/labels-")
    body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    first = json.loads(body.splitlines()[0])
    assert first == {
        "groundTruthData": {"data": "7.0", "encoding": "CSV"},
        "eventMetadata": {"eventId": "req-1"},
        "eventVersion": "0",
    }
    assert _read_back(body) == {"req-1": 7.0, "req-2": 11.5}


def test_jsonl_rows_and_model_monitor_records_are_both_read(s3, capsys, tmp_path):
    labels = tmp_path / "labels.jsonl"
    model_monitor = {"groundTruthData": {"data": "3", "encoding": "CSV"}, "eventMetadata": {"eventId": "b"}}
    labels.write_text(
        json.dumps({"inference_id": "a", "label": 1}) + "\n\n" + json.dumps(model_monitor) + "\n"
    )
    code, out, _ = run(capsys, "labels", "upload", str(labels), "--endpoint", "other-endpoint")
    assert code == 0 and "uploaded 2 labels" in out
    [obj] = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert obj["Key"].startswith(f"{PREFIX}/other-endpoint/")
    assert _read_back(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()) == {"a": 1.0, "b": 3.0}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("inference_id,label\na,1\n,2\nb,x\n", "line 3: no inference_id (2 bad rows; nothing uploaded)"),
        ("inference_id,label\na,1\nb,nan\n", "line 3: label is not a number (1 bad rows; nothing uploaded)"),
        ("inference_id,label\na,1\na,2\n", "line 3: inference_id given twice (1 bad rows; nothing uploaded)"),
        ("id,truth\na,1\n", "line 2: no inference_id (1 bad rows; nothing uploaded)"),
        ("", "is empty"),
    ],
    ids=["missing-id-and-text", "nan", "duplicate", "wrong-columns", "empty"],
)
def test_a_bad_row_is_one_line_and_nothing_is_uploaded(s3, capsys, tmp_path, content, expected):
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    code, _, err = run(capsys, "labels", "upload", str(labels))
    message, hint = one_line_error(err)
    assert code == 3 and message.endswith(expected) and "--id-column" in hint
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_a_missing_file_is_not_found(capsys, tmp_path):
    code, _, err = run(capsys, "labels", "upload", str(tmp_path / "absent.csv"))
    assert code == 6 and one_line_error(err)[0].endswith("absent.csv: no such file")


ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s
)
values = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(ids, values, min_size=1, max_size=20))
def test_labels_round_trip_through_the_jsonl_the_job_reads(labels):
    """Any ids (quotes, commas, unicode) and any finite number come back from the job's reader
    exactly, whether written from a JSON Lines file or straight by the uploader."""
    text = "\n".join(json.dumps({"inference_id": k, "label": v}) for k, v in labels.items())
    parsed = parse_labels_file("labels.jsonl", text, "inference_id", "label")
    assert parsed == labels
    assert _read_back(ground_truth_jsonl(parsed)) == labels


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[1, 2]", "line 2: not a JSON object"),
        ("{oops", "line 2: not JSON"),
        ("[" * 100_000, "line 2: nested too deeply"),
    ],
    ids=["list", "broken", "deep"],
)
def test_a_bad_jsonl_line_is_one_line(s3, capsys, tmp_path, line, expected):
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"inference_id": "a", "label": 1}) + "\n" + line + "\n")
    code, _, err = run(capsys, "labels", "upload", str(labels))
    assert code == 3 and expected in one_line_error(err)[0]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


# -- with deployment stages: prod's labels, for the build account's monitoring of prod --

STAGES = "staging:111111111111,prod:222222222222"
PROD_ENDPOINT = SETTINGS.stage_endpoint_name(settings_module.Stage("prod", "222222222222", SETTINGS.region))


def test_prod_labels_land_under_the_prod_endpoint_in_the_build_data_bucket(s3, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(settings_module.STAGES_ENV, STAGES)
    labels = tmp_path / "reviewed.csv"
    labels.write_text("inference_id,label\nprod-1,9\nprod-2,12\n")
    code, out, err = run(
        capsys, "labels", "upload", str(labels), "--stage", "prod", "--at", "2026-03-01T12:40:00Z"
    )
    assert code == 0, err
    [obj] = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert obj["Key"].startswith(f"{PREFIX}/{PROD_ENDPOINT}/2026/03/01/12/labels-")
    assert f"uploaded 2 labels to s3://{BUCKET}/{obj['Key']}" in out
    assert _read_back(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()) == {
        "prod-1": 9.0,
        "prod-2": 12.0,
    }


@pytest.mark.parametrize(
    "case",
    [
        (
            "",
            ("--stage", "prod"),
            "no stage 'prod' configured (stages: none); set MLOPS_STAGES",
            "MLOPS_STAGES=",
        ),
        (STAGES, ("--stage", "qa"), "no stage 'qa' configured (stages: staging, prod)", "MLOPS_STAGES="),
        (
            STAGES,
            ("--stage", "staging"),
            "--stage staging: only the last stage, prod, is monitored",
            "--stage prod",
        ),
        (
            STAGES,
            ("--stage", "prod", "--endpoint", "x"),
            "--endpoint x and --stage prod both name",
            "give one",
        ),
    ],
    ids=["no-stages", "unknown", "not-monitored", "both"],
)
def test_a_stage_whose_labels_would_not_be_read_is_one_line_and_nothing_is_uploaded(
    s3, capsys, tmp_path, monkeypatch, case
):
    stages, argv, message, hint = case
    monkeypatch.setenv(settings_module.STAGES_ENV, stages)
    labels = tmp_path / "reviewed.csv"
    labels.write_text("inference_id,label\nprod-1,9\n")
    code, _, err = run(capsys, "labels", "upload", str(labels), *argv)
    got, got_hint = one_line_error(err)
    assert code == 2 and message in got and hint in got_hint
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
