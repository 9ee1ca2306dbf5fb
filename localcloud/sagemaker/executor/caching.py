"""Step caching with SageMaker's rule, persisted across emulator restarts.

SageMaker reuses a step's earlier result when the step has ``CacheConfig.Enabled`` and the step
type's cache-key attributes (after resolving every expression) equal those of a successful run
within ``ExpireAfter``. Which attributes count is SageMaker's documented list per step type, kept
in the step-type registry (for example a Processing step's outputs are not part of the key). Note
what SageMaker does not look at either: the bytes behind an S3 URI. A changed file at the same URI
is still a hit.

The emulator forgets everything when it stops, so an entry keeps a copy of the S3 objects the step
wrote; a hit puts them back at the same URIs. Entries are staged in a temporary directory and
renamed into place, so an interrupted run never leaves a half-written entry that a later run could
mistake for a hit.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.sagemaker.executor.records import timestamp, write_atomically
from pipelines.definition import Step

ENTRY_FILE = "entry.json"
OBJECTS_DIR = "objects"


def cache_key(step: Step, arguments: dict[str, Any]) -> str | None:
    """The digest of the step's resolved cache-key attributes (its type's documented list, see
    :class:`pipelines.definition.StepType`); None for a type without one (never cached locally)."""
    attributes = step.kind.cache_key if step.kind else {}
    if not attributes:
        return None
    keyed = {name: arguments[name] for name in attributes if name in arguments}
    for name, children in attributes.items():
        value = keyed.get(name)
        if children and isinstance(value, dict):  # only these children of it count
            keyed[name] = {k: value[k] for k in children if k in value}
    text = json.dumps({"type": step.type, "attributes": keyed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CacheEntry:
    directory: Path
    key: str
    created_at: datetime
    source_execution_arn: str
    properties: dict[str, Any]
    written_uris: list[str]


class StepCache:
    """Entries under ``<root>/<pipeline>/<step>/<key>/`` (entry.json plus the objects it wrote)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def lookup(
        self, pipeline: str, step: str, key: str, expire_after: timedelta | None, now: datetime
    ) -> CacheEntry | None:
        """The entry for ``key`` if it is complete and not expired; anything else is a miss.

        An entry is trusted only when every object its manifest lists is on disk with its recorded
        size: a run killed while an entry was being replaced, or files removed by hand, must not
        turn into a "Succeeded" step whose outputs are missing.
        """
        directory = self._directory(pipeline, step, key)
        try:
            data = json.loads((directory / ENTRY_FILE).read_text())
            created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
            entry = CacheEntry(
                directory=directory,
                key=key,
                created_at=created,
                source_execution_arn=data["source_execution_arn"],
                properties=data["properties"],
                written_uris=data["written_uris"],
            )
            intact = _objects_intact(directory / OBJECTS_DIR, data["objects"])
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ):  # unreadable or from an older layout
            return None
        if not intact or (expire_after is not None and now - created > expire_after):
            return None
        return entry

    def restore(self, entry: CacheEntry, s3: Any) -> int:
        """Put the entry's objects back into the emulator at their original URIs."""
        objects = entry.directory / OBJECTS_DIR
        count = 0
        for path in sorted(p for p in objects.rglob("*") if p.is_file()):
            bucket, *key_parts = path.relative_to(objects).parts
            s3.upload_file(str(path), bucket, "/".join(key_parts))
            count += 1
        return count

    def store(
        self,
        pipeline: str,
        step: str,
        key: str,
        *,
        execution_arn: str,
        created_at: datetime,
        properties: dict[str, Any],
        written_uris: list[str],
        s3: Any,
    ) -> Path:
        """Copy what the step wrote and its properties into a new entry, atomically."""
        final = self._directory(pipeline, step, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key}.staging-"))
        try:
            for uri in written_uris:
                for obj in s3_objects.list_objects(s3, uri):
                    target = staging / OBJECTS_DIR / obj.bucket / obj.key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(obj.bucket, obj.key, str(target))
            objects = staging / OBJECTS_DIR
            entry = {
                "key": key,
                "created_at": timestamp(created_at),
                "source_execution_arn": execution_arn,
                "properties": properties,
                "written_uris": written_uris,
                "objects": {  # the manifest lookup() verifies: relative path -> size in bytes
                    path.relative_to(objects).as_posix(): path.stat().st_size
                    for path in sorted(objects.rglob("*"))
                    if path.is_file()
                },
            }
            write_atomically(staging / ENTRY_FILE, json.dumps(entry, indent=2, default=str) + "\n")
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def _directory(self, pipeline: str, step: str, key: str) -> Path:
        return self.root / _safe(pipeline) / _safe(step) / key


def _objects_intact(objects: Path, manifest: dict[str, int]) -> bool:
    """Every object of the manifest is present with its size, and nothing else is there."""
    present = {p.relative_to(objects).as_posix(): p.stat().st_size for p in objects.rglob("*") if p.is_file()}
    return present == manifest


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
