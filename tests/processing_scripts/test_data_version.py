"""Preprocess records which data it read: each object's S3 version id and the sha256 of its bytes
(moto in-process, a versioned bucket as the stack creates it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from processing_scripts import contract, data_version, preprocess
from tests.processing_scripts.conftest import ABALONE, exit_message, place_raw, run_in_process

BUCKET = "data-bucket"
REGION = "us-east-1"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def manifest(opt_ml: Path, host: str = "algo-1") -> dict:
    schema_dir = opt_ml / "processing/output/schema"
    return json.loads((schema_dir / contract.Preprocess.DATA_VERSION_FILE.format(host=host)).read_text())


def test_the_manifest_names_the_version_and_hash_of_every_object_read(tmp_path: Path, s3) -> None:
    """Two shards under a prefix; one was overwritten before the run: its *current* version is recorded."""
    rows = ABALONE.read_text().splitlines()
    first, second = "\n".join(rows[:2000]) + "\n", "\n".join([rows[0], *rows[2000:]]) + "\n"
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"stale")
    current = s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=first.encode())["VersionId"]
    other = s3.put_object(Bucket=BUCKET, Key="raw/sub/b.csv", Body=second.encode())["VersionId"]
    place_raw(tmp_path, {"a.csv": first, "sub/b.csv": second})

    assert run_in_process(tmp_path, preprocess.main, "--input-data-url", f"s3://{BUCKET}/raw") == 0

    document = manifest(tmp_path)
    assert document["objects"] == [
        {
            "uri": f"s3://{BUCKET}/raw/a.csv",
            "version_id": current,
            "sha256": hashlib.sha256(first.encode()).hexdigest(),
            "bytes": len(first.encode()),
        },
        {
            "uri": f"s3://{BUCKET}/raw/sub/b.csv",
            "version_id": other,
            "sha256": hashlib.sha256(second.encode()).hexdigest(),
            "bytes": len(second.encode()),
        },
    ]
    objects = data_version.parse_manifest(json.dumps(document), "manifest")
    assert document["sha256"] == data_version.combined_sha256(objects)


def test_an_input_uri_naming_one_object_is_that_object(tmp_path: Path, s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/abalone.csv", Body=ABALONE.read_bytes())
    place_raw(tmp_path, {"abalone.csv": ABALONE.read_bytes()})
    assert (
        run_in_process(tmp_path, preprocess.main, "--input-data-url", f"s3://{BUCKET}/raw/abalone.csv") == 0
    )
    (only,) = manifest(tmp_path)["objects"]
    assert only["uri"] == f"s3://{BUCKET}/raw/abalone.csv" and only["version_id"] != data_version.NULL_VERSION


def test_an_object_changed_during_the_run_fails_in_one_line_and_writes_nothing(tmp_path: Path, s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/abalone.csv", Body=ABALONE.read_bytes() + b"1,2,3\n")
    place_raw(tmp_path, {"abalone.csv": ABALONE.read_bytes()})
    assert run_in_process(tmp_path, preprocess.main, "--input-data-url", f"s3://{BUCKET}/raw/") == 1
    assert "changed while the job ran" in exit_message(tmp_path)
    assert not (tmp_path / "processing/output/schema").exists() or not any(
        (tmp_path / "processing/output/schema").iterdir()
    )


@given(st.lists(st.tuples(st.text(min_size=1), st.text(min_size=1)), max_size=5))
def test_the_dataset_digest_does_not_depend_on_which_instance_read_what(pairs) -> None:
    objects = [data_version.InputObject(f"s3://b/{u}", "v", h, 1) for u, h in pairs]
    assert data_version.combined_sha256(objects) == data_version.combined_sha256(list(reversed(objects)))


@pytest.mark.parametrize(
    ("prefix", "relative", "first"),
    [
        ("raw/abalone.csv", "abalone.csv", "raw/abalone.csv"),
        ("raw", "a.csv", "raw/a.csv"),
        ("raw/", "a.csv", "raw/a.csv"),
    ],
)
def test_candidate_keys_invert_sagemakers_download_layout(prefix: str, relative: str, first: str) -> None:
    assert data_version.candidate_keys(prefix, relative)[0] == first


_OBJECTS = st.lists(
    st.builds(
        data_version.InputObject,
        uri=st.text(min_size=1),
        version_id=st.text(min_size=1),
        sha256=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        bytes=st.integers(min_value=0, max_value=2**40),
    ),
    max_size=5,
)


@given(_OBJECTS)
def test_a_manifest_reads_back_as_written(objects) -> None:
    assert data_version.parse_manifest(data_version.manifest_json(objects, "algo-1"), "m") == objects


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_anything_else_is_one_error_naming_the_manifest(document) -> None:
    try:
        data_version.parse_manifest(json.dumps(document), "s3://b/data-version-algo-1.json")
    except ValueError as err:
        assert str(err).startswith("s3://b/data-version-algo-1.json: not a data-version manifest")


def test_an_unreachable_s3_api_records_the_hash_and_an_unknown_version(tmp_path: Path) -> None:
    """SageMaker local mode's containers have no route to S3: the bytes still identify the data."""
    from botocore.exceptions import EndpointConnectionError

    class Unreachable:
        def head_object(self, **_: object) -> None:
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com/bucket/raw/data.csv")

    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    [found] = data_version.read_objects(Unreachable(), "s3://bucket/raw/", tmp_path, [data])
    assert (found.version_id, found.sha256) == (
        data_version.UNKNOWN_VERSION,
        hashlib.sha256(data.read_bytes()).hexdigest(),
    )
