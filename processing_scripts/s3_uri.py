"""``s3://bucket/key`` URIs: the one place they are taken apart, put together and checked.

It lives in ``processing_scripts`` because that is the layer everyone may import: the container code,
the pipeline definitions, the infrastructure, the local cloud and the deploy Lambda (whose code asset
bundles this file next to the handlers, see ``infra/functions.py``). So it is stdlib only and
imports nothing else from the project.

Only the shape is checked (the scheme, a bucket name S3 allows, a key where one is required);
whether the bucket exists is for S3 to answer.
"""

from __future__ import annotations

import re
from typing import TypeGuard

SCHEME = "s3://"
# General purpose bucket names: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit,
# no "..", not an IP address; https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET = re.compile(r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


class S3UriError(ValueError):
    """A value that should be an ``s3://bucket/key`` URI is not one."""

    def __init__(self, value: object) -> None:
        super().__init__(f"{value!r} is not an S3 URI: expected s3://<bucket>/<key>")


def is_s3_uri(value: object) -> TypeGuard[str]:
    """Whether ``value`` is meant as an S3 location (as opposed to a local path)."""
    return isinstance(value, str) and value.startswith(SCHEME)


def split(uri: object, *, key_required: bool = False) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``.

    The key may be empty (``s3://bucket`` names the whole bucket as a prefix) unless ``key_required``,
    for callers that address one object or need a non-empty prefix. Raises :class:`S3UriError`.
    """
    if not is_s3_uri(uri):
        raise S3UriError(uri)
    bucket, _, key = uri.removeprefix(SCHEME).partition("/")
    if not bucket or (key_required and not key.strip("/")):
        raise S3UriError(uri)
    return bucket, key


def problem(uri: str) -> str | None:
    """Why ``uri`` is not a well-formed S3 URI S3 would accept, or None: the scheme, no whitespace,
    a valid bucket name, no empty path segment. For checks that report rather than raise."""
    if not uri.startswith(SCHEME):
        return f"an S3 URI starts with {SCHEME}"
    if any(ch.isspace() for ch in uri):
        return "an S3 URI has no whitespace"
    bucket, slash, key = uri.removeprefix(SCHEME).partition("/")
    if not _BUCKET.fullmatch(bucket):
        return f"bucket {bucket!r} is not a valid bucket name (3-63 of a-z 0-9 . -)"
    if slash and (key.startswith("/") or "//" in key):
        return "empty path segment (//)"
    return None


def build(bucket: str, key: str = "") -> str:
    """The URI of ``key`` in ``bucket`` (the bucket itself when ``key`` is empty)."""
    return f"{SCHEME}{bucket}/{key}" if key else f"{SCHEME}{bucket}"


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended, exactly one ``/`` between each.

    Pure string work: ``uri`` is checked where it is split to be used, so each caller reports a
    malformed URI in its own terms.
    """
    return "/".join([uri.rstrip("/"), *(part.strip("/") for part in parts)])
