"""`monitor baseline` and `monitor check`: the drift engine on local files or S3, from a terminal.

The same engine the monitoring job runs (``processing_scripts.drift``), with the thresholds from the
selected environment's settings (``settings.monitoring.drift``) and S3 access through the CLI's client
factory. A check exits 0 whether or not drift was found, unless ``--fail-on-drift`` makes drift a
failure (exit code 5) for CI gates.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from pipelines.cli import report_links
from pipelines.cli.context import CliContext, CliError, console
from processing_scripts import contract
from processing_scripts.drift.config import argument_specs
from processing_scripts.split_schema import PROBLEM_TYPES

if TYPE_CHECKING:  # the engine (pyarrow, numpy) loads only when a monitor command runs
    from processing_scripts.drift import engine, sources
    from processing_scripts.drift.storage import Storage

PROGRESS_AFTER_BYTES = 64 << 20  # show a progress bar for inputs larger than this

# The hint for each input, so a mistake is answered with what that input should be.
BASELINE_HINT = (
    "--baseline is a folder (or s3:// prefix) with statistics.json and constraints.json: "
    "make one with `pipelines monitor baseline --data <training data> --out <folder>`"
)
DATA_HINT = "--data is a CSV/Parquet file or folder, an endpoint's capture folder (JSON Lines), or s3://..."
SCHEMA_HINT = "--schema is the preprocess job's schema.json ({'label': ..., 'features': [...]})"
GROUND_TRUTH_HINT = "--ground-truth is a JSON Lines file, a folder of them, or an s3:// prefix"
WINDOW_HINT = "--window-end is an ISO 8601 time (2026-03-01T12:00:00Z); --window-hours a number of hours"
MISMATCH_HINT = (
    "the baseline was made from other columns than --data has; endpoint capture holds the model's "
    "inputs (one-hot), so baseline the preprocess output with its schema.json (docs/monitoring.md)"
)

DataOpt = typer.Option(..., "--data", help="CSV/Parquet file or folder, capture JSONL folder, or s3:// URI.")
SchemaOpt = typer.Option(
    None, "--schema", help="preprocess schema.json naming headerless columns (label first, then features)."
)
HeaderOpt = typer.Option(
    None, "--header/--no-header", help="Whether CSV files have a header (default: detect)."
)


def baseline(
    ctx: typer.Context,
    *,
    data: str = DataOpt,
    out: Path = typer.Option(..., "--out", help="Folder for statistics.json and constraints.json."),
    schema: str = SchemaOpt,
    header: bool = HeaderOpt,
    **drift_options: object,
) -> None:
    """Profile a dataset into Model Monitor's statistics.json and constraints.json."""
    from processing_scripts.drift import engine, sources
    from processing_scripts.drift.formats import write_files

    obj: CliContext = ctx.obj
    started = time.perf_counter()
    _must_exist("--data", data, DATA_HINT)
    _must_exist("--schema", schema, SCHEMA_HINT)
    with _user_errors(DATA_HINT):
        config = obj.settings.monitoring.drift.with_arguments(drift_options)
        source = sources.open_source(_storage(obj, data, schema), data, schema_file=schema, header=header)
        with _progress(source) as progress:
            result = engine.build_baseline(source, config, progress)
    for path in write_files(out, result.outputs()):
        console.print(f"wrote [bold]{path}[/]")
    if (left_out := result.left_out()) is not None:
        console.print(left_out, style="yellow", markup=False)
    console.print(
        f"[dim]{result.statistics.item_count:,} rows, {len(result.features)} features "
        f"in {time.perf_counter() - started:.1f}s[/]"
    )


def _with_drift_options(command: Callable[..., None]) -> Callable[..., None]:
    """Declare one option per flag of the drift config (``processing_scripts.drift.config``), method
    choices from the statistics registry; an option not given keeps the settings' value."""
    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    options = [
        inspect.Parameter(
            spec.field,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, spec.flag, help=f"{spec.help} (default: settings)."),
            annotation=(Literal[spec.choices] if spec.choices else spec.type) | None,
        )
        for spec in argument_specs()
    ]
    command.__signature__ = signature.replace(parameters=[*fixed, *options])  # type: ignore[attr-defined]
    return command


def check(
    ctx: typer.Context,
    *,
    baseline_dir: str = typer.Option(
        ..., "--baseline", help="Folder or s3:// prefix with the baseline files."
    ),
    data: str = DataOpt,
    out: Path = typer.Option(..., "--out", help="Folder for the violations, statistics, summary and report."),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 5 when drift is found."),
    window_hours: float = typer.Option(
        None, "--window-hours", help="Capture only: hours before --window-end."
    ),
    window_end: str = typer.Option(None, "--window-end", help="Capture only: ISO 8601 end (default: now)."),
    ground_truth: str = typer.Option(
        None, "--ground-truth", help="Ground-truth JSONL (file, folder or s3://)."
    ),
    problem_type: str = typer.Option(None, "--problem-type", help="regression | binary_classification."),
    schema: str = SchemaOpt,
    header: bool = HeaderOpt,
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html (needs matplotlib)."),
) -> None:
    """Check data against a baseline: violations, drift per feature, summary and HTML report."""
    from processing_scripts import dataset
    from processing_scripts.drift import engine, sources
    from processing_scripts.drift.capture import TimeWindow
    from processing_scripts.drift.formats import write_files
    from processing_scripts.drift.report_context import ReportContext

    obj: CliContext = ctx.obj
    started = time.perf_counter()
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise CliError(f"--problem-type {problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; name a folder for the check's files")
    for option, location, hint in (
        ("--baseline", baseline_dir, BASELINE_HINT),
        ("--data", data, DATA_HINT),
        ("--schema", schema, SCHEMA_HINT),
        ("--ground-truth", ground_truth, GROUND_TRUTH_HINT),
    ):
        _must_exist(option, location, hint)
    storage = _storage(obj, data, baseline_dir, ground_truth, schema)
    with _user_errors(BASELINE_HINT):
        loaded = engine.load_baseline(storage, baseline_dir)
    window = None
    if window_hours is not None or window_end is not None:
        with _user_errors(WINDOW_HINT, CliError.USAGE):
            hours = window_hours if window_hours is not None else obj.settings.monitoring.window_hours
            window = TimeWindow.ending(window_end, hours)
    with _user_errors(DATA_HINT):
        source = sources.open_source(storage, data, window=window, schema_file=schema, header=header)
        truth = storage.list_files(ground_truth) if ground_truth else None
        if ground_truth and not truth:
            raise CliError(
                f"--ground-truth {ground_truth}: no files there", GROUND_TRUTH_HINT, CliError.NOT_FOUND
            )
        with _progress(source) as progress:
            result = engine.run_check(
                loaded,
                source,
                ground_truth=truth,
                problem_type=problem_type or dataset.schema().problem_type,
                progress=progress,
            )
    context = ReportContext(
        data=data,
        baseline=baseline_dir,
        share_threshold=obj.settings.alarms.drift_share_threshold,
        created=datetime.now(UTC),
    )
    written = write_files(out, engine.check_outputs(result, report=report, context=context))
    _print_result(result)
    console.print(f"[dim]wrote {len(written)} files to {out} in {time.perf_counter() - started:.1f}s[/]")
    report_links.show(obj.settings, [p for p in written if p.name == contract.REPORT_FILE])
    if result.verdict == engine.BASELINE_MISMATCH:
        raise CliError(result.message, MISMATCH_HINT, CliError.INVALID)
    if result.verdict == engine.NO_USABLE_DATA:
        raise CliError(
            result.message,
            f"no row could be used (reasons in {out / 'drift_summary.json'}); check --header/--schema",
            CliError.INVALID,
        )
    if fail_on_drift and result.verdict == engine.DRIFT:
        raise CliError(result.message, "--fail-on-drift: drift is a failure", CliError.FAILED)


def _print_result(result: engine.CheckResult) -> None:
    from processing_scripts.drift import engine

    color = {"drift": "red", "no_drift": "green"}.get(result.verdict, "yellow")
    console.print(f"[bold {color}]{result.verdict.replace('_', ' ').upper()}[/]: {result.message}")
    if not result.features or result.verdict == engine.NOTHING_TO_CHECK:
        return
    table = Table(show_edge=False)
    for column in ("feature", "type", "method", "distance", "threshold", "verdict"):
        table.add_column(column, justify="right" if column in ("distance", "threshold") else "left")
    for feature in result.features:
        d = feature.distance
        compared = d is not None and d.value == d.value  # NaN never equals itself
        verdict = (
            "[red]drift[/]" if feature.drifted else ("ok" if compared else f"[dim]{feature.note or '-'}[/]")
        )
        table.add_row(
            feature.name,
            feature.inferred_type,
            d.method if d else "",
            f"{d.value:.4f}" if compared and d else "",
            f"{d.threshold:g}" if d else "",
            verdict,
        )
    console.print(table)
    reading = result.reading
    if reading.get("malformed_lines") or reading.get("rows_with_wrong_value_count"):
        console.print(
            f"[yellow]{reading['malformed_lines']:,} malformed lines, "
            f"{reading['rows_with_wrong_value_count']:,} rows with a wrong number of values[/] "
            "(see drift_summary.json: reading)"
        )
    if result.violations:
        console.print(f"{len(result.violations)} violations in constraint_violations.json")


def _storage(obj: CliContext, *locations: str | None) -> Storage:
    """S3 clients come from the CLI's factory, and only when a location is on S3."""
    from processing_scripts.drift.storage import Storage, is_s3

    if any(loc and is_s3(loc) for loc in locations):
        return Storage(lambda: obj.clients.s3)
    return Storage()


def _must_exist(option: str, location: str | None, hint: str) -> None:
    """A local path that is not there is NOT_FOUND, named by its option (S3 is the engine's to check)."""
    from processing_scripts.drift.storage import is_s3

    if location and not is_s3(location) and not Path(location).exists():
        raise CliError(f"{option} {location}: no such file or folder", hint, CliError.NOT_FOUND)


@contextlib.contextmanager
def _user_errors(hint: str, exit_code: int = CliError.INVALID) -> Iterator[None]:
    """Turn the engine's input errors into one line and the hint for the input being read."""
    from processing_scripts.drift.errors import DriftInputError

    try:
        yield
    except (DriftInputError, ValueError) as err:
        raise CliError(str(err), hint, exit_code) from err


def _progress(source: sources.Source) -> _ProgressBar:
    return _ProgressBar(source.total_bytes)


class _ProgressBar:
    """A transient bar for long reads; a no-op for small inputs."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> sources.Progress | None:
        if self.total < PROGRESS_AFTER_BYTES:
            return None
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("reading", total=self.total)
        return self._update

    def _update(self, done: int, total: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def register(app: typer.Typer) -> None:
    monitor = typer.Typer(
        help="Data drift: Model-Monitor-format baselines and checks, no Model Monitor needed.",
        no_args_is_help=True,
    )
    monitor.command("baseline")(_with_drift_options(baseline))
    monitor.command("check")(check)
    app.add_typer(monitor, name="monitor")
