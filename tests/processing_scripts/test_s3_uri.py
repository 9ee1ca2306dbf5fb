"""The one S3 URI helper: split, build and join, and one error for anything malformed."""

from __future__ import annotations

import pytest

from processing_scripts import s3_uri


@pytest.mark.parametrize(
    ("uri", "parts"),
    [
        ("s3://bucket/some/key.csv", ("bucket", "some/key.csv")),
        ("s3://bucket/prefix/", ("bucket", "prefix/")),
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
    ],
)
def test_split_takes_bucket_and_key_apart(uri: str, parts: tuple[str, str]) -> None:
    assert s3_uri.split(uri) == parts


@pytest.mark.parametrize(
    "value",
    ["bucket/key", "/local/path", "s3:/bucket/key", "S3://bucket/key", "s3://", "s3:///key", "", None, 3],
)
def test_anything_else_is_one_clear_error(value: object) -> None:
    with pytest.raises(s3_uri.S3UriError) as raised:
        s3_uri.split(value)
    assert str(raised.value) == f"{value!r} is not an S3 URI: expected s3://<bucket>/<key>"


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "s3://bucket//"])
def test_an_object_address_needs_a_key(uri: str) -> None:
    with pytest.raises(s3_uri.S3UriError, match="expected s3://<bucket>/<key>"):
        s3_uri.split(uri, key_required=True)


def test_build_and_join_put_uris_together_with_single_slashes() -> None:
    assert s3_uri.build("bucket", "a/b.json") == "s3://bucket/a/b.json"
    assert s3_uri.build("bucket") == "s3://bucket"
    assert s3_uri.join("s3://bucket/prefix/", "/run/", "file.json") == "s3://bucket/prefix/run/file.json"
    assert s3_uri.split(s3_uri.join("s3://bucket", "k")) == ("bucket", "k")


def test_only_s3_locations_count_as_s3() -> None:
    assert s3_uri.is_s3_uri("s3://bucket/key")
    assert not s3_uri.is_s3_uri("/tmp/s3://x")
    assert not s3_uri.is_s3_uri(None)
