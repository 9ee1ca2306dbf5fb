"""Moving step data between the emulator's S3 and a job's local ``/opt/ml`` directories.

The semantics are SageMaker's: an ``S3Prefix`` input copies every object whose key starts with the
prefix, keeping the part of the key after the prefix (a prefix naming one object copies it under
its own name); an output uploads every file under the local path to ``<S3Uri>/<relative path>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from processing_scripts import s3_uri


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return s3_uri.build(self.bucket, self.key)


def list_objects(s3: Any, uri: str) -> list[S3Object]:
    """Every object whose key starts with the URI's key, sorted by key."""
    bucket, prefix = s3_uri.split(uri)
    found: list[S3Object] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [S3Object(bucket, item["Key"]) for item in page.get("Contents", [])]
    return sorted(found, key=lambda o: o.key)


def local_name(prefix_uri: str, obj: S3Object) -> PurePosixPath:
    """Where an object of an S3Prefix input lands, relative to the input's local path."""
    _, prefix = s3_uri.split(prefix_uri)
    if obj.key == prefix:  # the prefix names one object: it lands under its own name
        return PurePosixPath(PurePosixPath(obj.key).name)
    return PurePosixPath(obj.key[len(prefix) :].lstrip("/"))


def download(s3: Any, prefix_uri: str, objects: list[S3Object], destination: Path) -> list[Path]:
    written: list[Path] = []
    for obj in objects:
        target = destination / local_name(prefix_uri, obj)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(obj.bucket, obj.key, str(target))
        written.append(target)
    return written


def upload_directory(s3: Any, source: Path, uri: str) -> list[str]:
    """Upload every file under ``source`` to ``<uri>/<relative path>``; returns the object URIs."""
    bucket, prefix = s3_uri.split(uri)
    uploaded: list[str] = []
    if not source.is_dir():
        return uploaded
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = "/".join(part for part in (prefix.rstrip("/"), path.relative_to(source).as_posix()) if part)
        s3.upload_file(str(path), bucket, key)
        uploaded.append(s3_uri.build(bucket, key))
    return uploaded


def read_json(s3: Any, uri: str) -> Any:
    bucket, key = s3_uri.split(uri, key_required=True)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        return json.loads(body)
    except json.JSONDecodeError as err:
        raise ValueError(f"{uri} is not valid JSON: {err}") from err


def exists(s3: Any, uri: str) -> bool:
    """True if an object is at ``uri`` or any object's key starts with it (a prefix)."""
    bucket, key = s3_uri.split(uri)
    response = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return response.get("KeyCount", 0) > 0
