"""What a local execution leaves behind: ``<runs dir>/<execution id>/record.json`` and step logs.

The record mirrors what SageMaker's DescribePipelineExecution and ListPipelineExecutionSteps show,
plus what only a local run can offer: the resolved arguments each step ran with, its resolved
properties (the values later steps read), the cache hit it reused and the path of its log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from localcloud.clock import utc_now

RECORD_FILE = "record.json"
# Held (flock) by the process running the execution for as long as it runs. The kernel releases it
# when that process ends, however it ends (SIGKILL, a crash, a closed laptop lid), so "the lock is
# free" means "nobody is running this any more": no pid to be reused, no heartbeat to tune.
LOCK_FILE = ".running.lock"
ABANDONED = "the process running this execution ended before it finished (killed or crashed)"


class StepStatus(StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"  # interrupted (Ctrl-C)
    SKIPPED = "Skipped"  # in a condition branch that was not taken
    NOT_STARTED = "NotStarted"  # the execution ended (failed or stopped) before its turn


class ExecutionStatus(StrEnum):
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"


def timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


@dataclass
class CacheHit:
    """The earlier execution whose results a step reused (SageMaker's CacheHitResult)."""

    source_execution_arn: str
    key: str
    created_at: str


@dataclass
class StepRecord:
    name: str
    type: str
    status: StepStatus = StepStatus.NOT_STARTED
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attempts: int = 0
    arguments: Any = None  # resolved: what the step actually ran with
    properties: dict[str, Any] = field(default_factory=dict)  # what later steps can Get
    failure_reason: str | None = None
    cache_hit: CacheHit | None = None
    stubbed: bool = False  # not run: its properties came from a --stub file
    log_file: str | None = None  # relative to the execution's directory
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["started_at"] = timestamp(self.started_at)
        data["ended_at"] = timestamp(self.ended_at)
        data["duration_seconds"] = self.duration_seconds
        return data


@dataclass
class ExecutionRecord:
    """One local pipeline execution; ``run()`` returns it and writes it as record.json."""

    pipeline_name: str
    execution_id: str
    execution_arn: str
    run_dir: Path
    parameters: dict[str, Any]
    status: ExecutionStatus = ExecutionStatus.EXECUTING
    started_at: datetime = field(default_factory=utc_now)
    ended_at: datetime | None = None
    failure_reason: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == ExecutionStatus.SUCCEEDED

    @property
    def record_file(self) -> Path:
        return self.run_dir / RECORD_FILE

    def step_properties(self, step_name: str) -> dict[str, Any]:
        """The resolved properties of a step that ran (or came from the cache)."""
        return self.steps[step_name].properties

    @property
    def stubbed_steps(self) -> list[str]:
        return [name for name, step in self.steps.items() if step.stubbed]

    @property
    def model_package_arn(self) -> str | None:
        """The ARN registered by this execution's RegisterModel step, if one succeeded."""
        for step in self.steps.values():
            if step.type == "RegisterModel" and step.status == StepStatus.SUCCEEDED:
                return step.properties.get("ModelPackageArn")
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline_name": self.pipeline_name,
            "execution_id": self.execution_id,
            "execution_arn": self.execution_arn,
            "status": str(self.status),
            "parameters": self.parameters,
            "started_at": timestamp(self.started_at),
            "ended_at": timestamp(self.ended_at),
            "failure_reason": self.failure_reason,
            "warnings": self.warnings,
            "steps": [step.to_json() for step in self.steps.values()],
        }

    def write(self) -> Path:
        """Write record.json atomically: a reader never sees half a record, even after Ctrl-C."""
        write_atomically(self.record_file, json.dumps(self.to_json(), indent=2, default=str) + "\n")
        return self.record_file


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file next to ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def running(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock while the execution runs (taken before its first record is written)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _abandoned(run_dir: Path) -> bool:
    """True when no process holds the run's lock (its runner is gone)."""
    with open(run_dir / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock, fcntl.LOCK_UN)
        return True


def settle_abandoned(runs_dir: Path, now: datetime) -> list[Path]:
    """End every record still "Executing" whose process is gone as Failed; returns their files.

    A killed run cannot write its own end, so the next run (or a reader) writes it: the execution and
    the step it was in are Failed with :data:`ABANDONED`, as SageMaker fails a step whose job died.
    Steps that never started stay NotStarted.
    """
    settled = []
    for path in sorted(runs_dir.glob(f"*/{RECORD_FILE}")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a record this code wrote; leave it for a person to look at
        if doc.get("status") != ExecutionStatus.EXECUTING or not _abandoned(path.parent):
            continue
        ended = timestamp(now)
        doc.update(status=str(ExecutionStatus.FAILED), failure_reason=ABANDONED, ended_at=ended)
        for step in doc.get("steps", []):
            if step.get("started_at") and not step.get("ended_at"):
                step.update(status=str(StepStatus.FAILED), failure_reason=ABANDONED, ended_at=ended)
        write_atomically(path, json.dumps(doc, indent=2, default=str) + "\n")
        settled.append(path)
    return settled
