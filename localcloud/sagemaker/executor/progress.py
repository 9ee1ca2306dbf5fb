"""Live progress of a local execution: a listener interface and the terminal's rich rendering."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from localcloud.sagemaker.executor.records import ExecutionRecord, StepRecord, StepStatus

_STYLES = {
    StepStatus.SUCCEEDED: "green",
    StepStatus.FAILED: "bold red",
    StepStatus.STOPPED: "yellow",
    StepStatus.SKIPPED: "dim",
    StepStatus.NOT_STARTED: "dim",
}


class ProgressListener(Protocol):
    """What the executor reports while it runs; every method is called from the executor's thread."""

    def execution_started(self, record: ExecutionRecord) -> None: ...

    def step_started(self, record: ExecutionRecord, step: StepRecord) -> None: ...

    def step_retrying(self, step: StepRecord, reason: str, delay_seconds: float) -> None: ...

    def step_finished(self, record: ExecutionRecord, step: StepRecord) -> None: ...

    def warning(self, step: StepRecord | None, message: str) -> None: ...

    def execution_finished(self, record: ExecutionRecord) -> None: ...


class SilentProgress:
    """For library use (the closed loop, tests): the record says everything afterwards."""

    def execution_started(self, record: ExecutionRecord) -> None:
        pass

    def step_started(self, record: ExecutionRecord, step: StepRecord) -> None:
        pass

    def step_retrying(self, step: StepRecord, reason: str, delay_seconds: float) -> None:
        pass

    def step_finished(self, record: ExecutionRecord, step: StepRecord) -> None:
        pass

    def warning(self, step: StepRecord | None, message: str) -> None:
        pass

    def execution_finished(self, record: ExecutionRecord) -> None:
        pass


class RichProgress:
    """A live table of steps (status, duration, cache hits) refreshed while the execution runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._record: ExecutionRecord | None = None
        self._running: dict[str, float] = {}
        self._notes: list[Text] = []

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def execution_started(self, record: ExecutionRecord) -> None:
        self._record = record
        self._running.clear()
        self._notes = []
        self.console.print(f"[bold]{record.pipeline_name}[/] execution [bold]{record.execution_id}[/]")
        self.console.print(f"[dim]records and logs: {record.run_dir}[/]")
        self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def step_started(self, record: ExecutionRecord, step: StepRecord) -> None:
        self._running[step.name] = time.monotonic()

    def step_retrying(self, step: StepRecord, reason: str, delay_seconds: float) -> None:
        self._notes.append(Text(f"↻ {step.name}: retrying in {delay_seconds:g}s after: {reason}", "yellow"))

    def step_finished(self, record: ExecutionRecord, step: StepRecord) -> None:
        self._running.pop(step.name, None)

    def warning(self, step: StepRecord | None, message: str) -> None:
        where = f"{step.name}: " if step else ""
        self._notes.append(Text(f"! {where}{message}", "yellow"))

    def execution_finished(self, record: ExecutionRecord) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
            if not self.console.is_terminal:  # rich leaves the last line open when output is piped
                self.console.line()

    def __rich__(self) -> Group:
        table = Table("step", "type", "status", "time", "notes", box=None, pad_edge=False)
        record = self._record
        for step in record.steps.values() if record else []:
            table.add_row(step.name, step.type, self._status(step), self._time(step), self._note(step))
        return Group(table, *self._notes)

    def _status(self, step: StepRecord) -> Text:
        if step.name in self._running:
            return Text("Executing", "bold yellow")
        return Text(str(step.status), _STYLES.get(step.status, ""))

    def _time(self, step: StepRecord) -> str:
        if step.name in self._running:
            return f"{time.monotonic() - self._running[step.name]:.0f}s"
        seconds = step.duration_seconds
        return f"{seconds:.1f}s" if seconds is not None else ""

    @staticmethod
    def _note(step: StepRecord) -> str:
        if step.stubbed:
            return "stubbed: outputs from the --stub file"
        if step.cache_hit:
            return f"cache hit from {step.cache_hit.source_execution_arn.rsplit('/', 1)[-1]}"
        if step.failure_reason:
            return step.failure_reason[:120]
        if step.attempts > 1:
            return f"{step.attempts} attempts"
        return ""
