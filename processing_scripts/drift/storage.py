"""Where the engine's inputs live: a local path or an ``s3://`` URI, behind one small interface.

Why: the same check runs on a laptop (local files), in the CLI (local or S3) and in the monitoring
job (S3). Callers hand over a :class:`Storage`; S3 access goes through the project's client factory
(``processing_scripts.aws_clients``), created only when an ``s3://`` location is actually read, so a
local run never imports boto3.
"""

from __future__ import annotations

import collections
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing_scripts import s3_uri
from processing_scripts.drift.errors import DriftInputError


@dataclass(frozen=True)
class StoredFile:
    """One input file: ``uri`` is a local path or ``s3://bucket/key``."""

    uri: str
    size: int

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


def is_s3(uri: str) -> bool:
    return s3_uri.is_s3_uri(uri)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> (``bucket``, ``some/key``), failing as the engine's input error."""
    try:
        return s3_uri.split(uri)
    except s3_uri.S3UriError as err:
        raise DriftInputError(str(err)) from err


def join(uri: str, *parts: str) -> str:
    """Join path parts onto a local path or an S3 URI with exactly one separator between them."""
    if is_s3(uri):
        return s3_uri.join(uri, *parts)
    return str(Path(uri).joinpath(*parts))


# S3 error codes that mean "this location is wrong or not ours", i.e. the user's input to fix.
_WRONG_LOCATION = {"NoSuchBucket", "AccessDenied", "AllAccessDisabled", "InvalidBucketName"}


@contextlib.contextmanager
def _as_input_error(action: str, uri: str) -> Iterator[None]:
    """An S3 error that names a wrong location becomes one line naming it (botocore's ClientError
    is matched by its ``response``, so a local run still never imports boto3)."""
    try:
        yield
    except Exception as err:
        error = (getattr(err, "response", None) or {}).get("Error", {})
        if error.get("Code") not in _WRONG_LOCATION:
            raise
        raise DriftInputError(f"cannot {action} {uri}: {error['Code']} ({error.get('Message', '')})") from err


class Storage:
    """Lists and reads files under local paths and S3 prefixes.

    ``s3_client`` is a zero-argument callable returning a boto3 S3 client (e.g.
    ``lambda: AwsClients(...).s3``); it is called on first S3 use only.
    """

    def __init__(self, s3_client: Callable[[], Any] | None = None) -> None:
        self._s3_factory = s3_client
        self._s3: Any = None

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            if self._s3_factory is None:
                from processing_scripts.aws_clients import AwsClients, AwsTarget

                clients = AwsClients(AwsTarget.from_env())
                self._s3_factory = lambda: clients.s3
            self._s3 = self._s3_factory()
        return self._s3

    # -- listing -------------------------------------------------------------------------------
    def list_files(self, uri: str) -> list[StoredFile]:
        """The file itself, or every file below a folder/prefix (sorted by name; hidden and
        ``_SUCCESS``-style marker files skipped). An empty list means nothing is there."""
        if is_s3(uri):
            return self._list_s3(uri)
        path = Path(uri)
        if path.is_file():
            return [StoredFile(str(path), path.stat().st_size)]
        if not path.is_dir():
            return []
        files = sorted(p for p in path.rglob("*") if p.is_file() and not _is_marker(p.name))
        return [StoredFile(str(p), p.stat().st_size) for p in files]

    def exists(self, uri: str) -> bool:
        return bool(self.list_files(uri))

    def list_dirs(self, uri: str) -> list[str]:
        """Immediate sub-folders (S3 common prefixes) of a folder/prefix, as full locations."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            prefix = key.rstrip("/") + "/" if key else ""
            found: list[str] = []
            paginator = self.s3.get_paginator("list_objects_v2")
            with _as_input_error("list", uri):
                for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
                    found += [
                        s3_uri.build(bucket, p["Prefix"].rstrip("/")) for p in page.get("CommonPrefixes", [])
                    ]
            return sorted(found)
        path = Path(uri)
        return sorted(str(p) for p in path.iterdir() if p.is_dir()) if path.is_dir() else []

    def _list_s3(self, uri: str) -> list[StoredFile]:
        bucket, key = split_s3(uri)
        paginator = self.s3.get_paginator("list_objects_v2")
        exact: list[StoredFile] = []
        below: list[StoredFile] = []
        prefix = key.rstrip("/")
        with _as_input_error("list", uri):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"]
                    file = StoredFile(s3_uri.build(bucket, name), int(obj["Size"]))
                    if name == key:
                        exact.append(file)
                    elif _is_below(name, prefix):
                        below.append(file)
        return exact or sorted(below, key=lambda f: f.uri)

    # -- reading -------------------------------------------------------------------------------
    def read_bytes(self, file: StoredFile | str) -> bytes:
        uri = file.uri if isinstance(file, StoredFile) else file
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return Path(uri).read_bytes()

    def fetch_in_order(self, files: list[StoredFile], workers: int = 8) -> Iterator[tuple[StoredFile, bytes]]:
        """Read many (small) files with ``workers`` threads so S3 latencies overlap; yields them in
        order with at most ``2 * workers`` in flight, which bounds memory."""
        from concurrent.futures import Future, ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            window: collections.deque[tuple[StoredFile, Future[bytes]]] = collections.deque()
            for file in files:
                window.append((file, pool.submit(self.read_bytes, file)))
                if len(window) >= 2 * workers:
                    done, future = window.popleft()
                    yield done, future.result()
            while window:
                done, future = window.popleft()
                yield done, future.result()

    @contextlib.contextmanager
    def local_copy(self, file: StoredFile) -> Iterator[Path]:
        """A local path for the file: itself, or an S3 object downloaded to a temporary file
        (multipart, parallel) and removed afterwards. Keeps memory bounded for big objects."""
        if not is_s3(file.uri):
            yield Path(file.uri)
            return
        bucket, key = split_s3(file.uri)
        suffix = "".join(Path(key).suffixes[-2:])
        handle, name = tempfile.mkstemp(suffix=suffix, prefix="drift-input-")
        os.close(handle)
        try:
            self.s3.download_file(bucket, key, name)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)


def _is_below(key: str, prefix: str) -> bool:
    """A file (not a folder marker, not a hidden/_SUCCESS file) inside the ``prefix`` folder."""
    inside = not prefix or key.startswith(prefix + "/")
    return inside and not key.endswith("/") and not _is_marker(key.rsplit("/", 1)[-1])


def _is_marker(name: str) -> bool:
    return name.startswith((".", "_"))
