"""Which data a model was trained on: each raw object's S3 version id and the sha256 of its bytes.

A timestamp label (the DataSnapshot parameter) says *when* data was meant; it cannot say *which*
bytes were read, and an object overwritten under the same key is a different dataset. The data
bucket is versioned, so each object Preprocess read has a version id that keeps those exact bytes
retrievable, and the sha256 of what was read identifies the content wherever it is copied.

Preprocess writes one manifest per instance (``data-version-<host>.json``, next to ``schema.json``):
with ``ShardedByS3Key`` every instance reads different objects, and instances cannot share files.
The model package records where the manifests are (``DataManifestUri``); ``pipelines lineage``
reads them all.

The version id comes from ``HeadObject`` on the key the local file was downloaded from. SageMaker
downloads the current version before the container starts, so an overwrite in between would give a
version id of other bytes: the hash is the authority, and :func:`read_objects` refuses an object
whose size differs from what was read. (S3's ETag cannot settle it: it is not the MD5 of objects
encrypted with SSE-KMS, which the data bucket is.)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from processing_scripts import s3_uri
from processing_scripts.job import JobInputError

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
# S3's VersionId of an object stored while versioning was never enabled
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html).
NULL_VERSION = "null"
# The version of an object whose S3 API this container cannot reach (SageMaker local mode's
# containers get their inputs from the SDK on the host, with no route to S3): the bytes' sha256 is
# still recorded, and the run says why the version is missing.
UNKNOWN_VERSION = "unknown"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputObject:
    """One object read: where, which version, and what its bytes hash to."""

    uri: str
    version_id: str
    sha256: str
    bytes: int


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks (a raw export can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def candidate_keys(prefix: str, relative: str) -> list[str]:
    """The keys a file at ``relative`` under an S3Prefix input's local path can have come from.

    SageMaker puts an object whose key *is* the prefix under its own name, and any other object at
    its key with the prefix removed (ProcessingS3Input.S3Uri,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html).
    """
    candidates = []
    if prefix and PurePosixPath(prefix).name == relative:
        candidates.append(prefix)
    candidates += [f"{prefix.rstrip('/')}/{relative}" if prefix else relative, prefix + relative]
    return list(dict.fromkeys(candidates))


def read_objects(s3: Any, input_uri: str, root: Path, files: Iterable[Path]) -> list[InputObject]:
    """The version and content hash of every file under ``root`` that came from ``input_uri``."""
    bucket, prefix = s3_uri.split(input_uri)
    objects = []
    for path in files:
        size = path.stat().st_size
        keys = candidate_keys(prefix, path.relative_to(root).as_posix())
        try:
            key, head = _head(s3, bucket, keys, path)
        except EndpointConnectionError as err:
            log.warning("no version id for s3://%s/%s: %s (its sha256 is recorded)", bucket, keys[0], err)
            key, head = keys[0], {"VersionId": UNKNOWN_VERSION}
        if head.get("ContentLength", size) != size:
            raise JobInputError(
                f"s3://{bucket}/{key} changed while the job ran (now {head['ContentLength']} bytes, "
                f"{size} were read): run the pipeline again once the data has settled"
            )
        version = str(head.get("VersionId") or NULL_VERSION)
        objects.append(InputObject(s3_uri.build(bucket, key), version, file_sha256(path), size))
    return objects


def _head(s3: Any, bucket: str, keys: list[str], path: Path) -> tuple[str, dict[str, Any]]:
    for key in keys:
        try:
            return key, s3.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise JobInputError(
                    f"HeadObject s3://{bucket}/{key} failed ({err.response.get('Error', {}).get('Code')}): "
                    "the job role needs s3:GetObject on the input"
                ) from err
    raise JobInputError(f"{path}: no object s3://{bucket}/{keys[0]} behind it (tried {', '.join(keys)})")


def combined_sha256(objects: Iterable[InputObject]) -> str:
    """One digest of a whole dataset: sha256 over ``<uri> <sha256>`` lines in URI order, so the same
    objects give the same digest however many instances read them."""
    lines = sorted(f"{o.uri} {o.sha256}\n" for o in objects)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def manifest_json(objects: list[InputObject], host: str) -> str:
    document = {
        "version": MANIFEST_VERSION,
        "host": host,
        "sha256": combined_sha256(objects),
        "objects": [asdict(o) for o in objects],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def parse_manifest(text: str | bytes, where: str) -> list[InputObject]:
    """The objects of one manifest; a malformed one is one line naming it."""
    try:
        document = json.loads(text)
        return [
            InputObject(str(o["uri"]), str(o["version_id"]), str(o["sha256"]), int(o["bytes"]))
            for o in document["objects"]
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{where}: not a data-version manifest ({err})") from err
