"""Getting a foreign pipeline's data and code into the emulator's S3 before it runs.

The emulator starts with the project's buckets only, but a pipeline built elsewhere reads its own
(``s3://sagemaker-us-west-2-111122223333/abalone/...``). Two things close the gap:

- every bucket the definition names (an ``s3://`` URI anywhere in its steps or parameter defaults)
  is created, empty, so jobs can write their outputs there as they would in the user's account;
- ``run-local --seed LOCAL_PATH=s3://bucket/key`` uploads a file (to that key, or under it when
  the URI ends with ``/``) or a folder (every file under it, to ``<uri>/<relative path>``, as a
  SageMaker output is uploaded) before the execution starts.

Seeds are checked when they are parsed (the path exists, the URI is one S3 accepts), so a typo is
one line before anything starts, not a missing input after minutes of running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.account import LocalAws
from pipelines.definition import s3_uris
from processing_scripts import s3_uri


class SeedError(ValueError):
    """A ``--seed`` that cannot be used; the message is one line naming it."""


@dataclass(frozen=True)
class Seed:
    """A local file or folder and where it goes in the emulator's S3."""

    source: Path
    uri: str

    @classmethod
    def parse(cls, text: str) -> Seed:
        """``LOCAL_PATH=s3://bucket/key`` (the last ``=s3://`` splits, so a path may hold ``=``)."""
        path, separator, rest = text.rpartition("=" + s3_uri.SCHEME)
        if not separator or not path:
            raise SeedError(f"--seed {text!r}: expected LOCAL_PATH=s3://bucket/key")
        uri = s3_uri.SCHEME + rest
        problem = s3_uri.problem(uri)
        if problem:
            raise SeedError(f"--seed {text!r}: {problem}")
        source = Path(path).expanduser()
        if not source.exists():
            raise SeedError(f"--seed {text!r}: {source} does not exist")
        if source.is_file() and not s3_uri.split(uri)[1]:
            raise SeedError(f"--seed {text!r}: a file needs a key (s3://bucket/key, or a prefix ending in /)")
        return cls(source, uri)

    @property
    def bucket(self) -> str:
        return s3_uri.split(self.uri)[0]

    def upload(self, s3: Any) -> list[str]:
        """Put the file or the folder's files into S3; returns the object URIs written."""
        if self.source.is_dir():
            return s3_objects.upload_directory(s3, self.source, self.uri)
        uri = s3_uri.join(self.uri, self.source.name) if self.uri.endswith("/") else self.uri
        bucket, key = s3_uri.split(uri, key_required=True)
        s3.upload_file(str(self.source), bucket, key)
        return [uri]


def named_buckets(definition: Mapping[str, Any]) -> set[str]:
    """Every bucket an S3 URI of the definition names (steps and parameter defaults, literal or
    the head of a ``Std:Join``); a malformed one is left out (``validate`` reports it)."""
    return {
        s3_uri.split(text)[0]
        for text in s3_uris.uris([definition.get("Parameters", []), definition.get("Steps", [])])
        if s3_uri.problem(text) is None
    }


def seed(aws: LocalAws, definitions: Iterable[Mapping[str, Any]], seeds: Iterable[Seed]) -> list[str]:
    """Create the buckets the definitions and seeds name, then upload the seeds; returns what was
    written (object URIs), so a caller can say how much it seeded."""
    seeds = list(seeds)
    buckets = set().union(*(named_buckets(d) for d in definitions), (s.bucket for s in seeds))
    for bucket in sorted(buckets):
        aws.create_bucket(bucket)
    return [uri for item in seeds for uri in item.upload(aws.clients.s3)]
