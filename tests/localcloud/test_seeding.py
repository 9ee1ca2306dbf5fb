"""Seeds and the buckets a definition names: a foreign pipeline's data gets into the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud import LocalAws
from localcloud.seeding import Seed, SeedError, named_buckets, seed
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
FIXTURES = Path(__file__).parents[1] / "pipelines" / "fixtures"
BUCKETS = st.from_regex(r"[a-z0-9][a-z0-9\-]{1,20}[a-z0-9]", fullmatch=True)
KEYS = st.lists(st.from_regex(r"[A-Za-z0-9_.=\-]{1,12}", fullmatch=True), min_size=1, max_size=4).map(
    "/".join
)


@given(bucket=BUCKETS, key=KEYS)
def test_a_seed_reads_back_its_path_and_uri_even_with_equals_signs_in_the_path(bucket, key):
    source = FIXTURES / "byop" / "abalone" / "train.csv"
    parsed = Seed.parse(f"{source}=s3://{bucket}/{key}")
    assert (parsed.source, parsed.uri, parsed.bucket) == (source, f"s3://{bucket}/{key}", bucket)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("data.csv", "expected LOCAL_PATH=s3://bucket/key"),
        ("=s3://bucket/key", "expected LOCAL_PATH=s3://bucket/key"),
        ("{train}=s3://Bucket/key", "bucket 'Bucket' is not a valid bucket name"),
        ("{train}=s3://bucket//key", "empty path segment"),
        ("{train}=s3://bucket", "a file needs a key"),
        ("missing.csv=s3://bucket/key", "missing.csv does not exist"),
    ],
)
def test_a_bad_seed_is_one_line(text, problem):
    with pytest.raises(SeedError, match=problem) as info:
        Seed.parse(text.format(train=FIXTURES / "byop" / "abalone" / "train.csv"))
    assert "\n" not in str(info.value)


def test_the_buckets_a_definition_names_come_from_its_steps_and_parameter_defaults():
    abalone = json.loads((FIXTURES / "sdk2" / "abalone.json").read_text())
    assert named_buckets(abalone) == {"sdk-fixtures-bucket"}  # literal URIs and Std:Join heads alike
    only_a_default = {"Parameters": [{"Name": "In", "Type": "String", "DefaultValue": "s3://in-bucket/x"}]}
    assert named_buckets(only_a_default) == {"in-bucket"}


def test_seeding_creates_the_buckets_and_uploads_files_and_folders(tmp_path):
    folder = tmp_path / "code"
    (folder / "lib").mkdir(parents=True)
    (folder / "main.py").write_text("print('main')")
    (folder / "lib" / "util.py").write_text("X = 1")
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    definition = {
        "Steps": [{"Name": "S", "Type": "Processing", "Arguments": {"Out": "s3://outputs-bucket/x/"}}]
    }
    seeds = [Seed.parse(f"{folder}=s3://code-bucket/src"), Seed.parse(f"{data}=s3://data-bucket/raw/")]
    with LocalAws(SETTINGS, upload_sample_data=False) as aws:
        written = seed(aws, [definition], seeds)
        buckets = {b["Name"] for b in aws.clients.s3.list_buckets()["Buckets"]}
        assert {"outputs-bucket", "code-bucket", "data-bucket"} <= buckets
        assert written == [
            "s3://code-bucket/src/lib/util.py",
            "s3://code-bucket/src/main.py",
            "s3://data-bucket/raw/data.csv",
        ]
        body = aws.clients.s3.get_object(Bucket="data-bucket", Key="raw/data.csv")["Body"].read()
        assert body == b"a,b\n1,2\n"
        assert seed(aws, [definition], []) == []  # buckets that exist are left alone
