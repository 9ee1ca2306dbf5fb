"""Commands for the closed loop: ``demo`` (the whole loop, locally) and ``simulate`` (tune thresholds)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pipelines.cli.context import CliContext, CliError, console

if TYPE_CHECKING:
    from pipelines.local.loop import Entry


def _print_entry(entry: Entry) -> None:
    why = f"  [dim]{entry.why}[/]" if entry.why else ""
    console.print(f"[cyan]{entry.elapsed:7.1f}s[/] {entry.what}{why}", highlight=False)
    for path in entry.paths:
        console.print(f"          [dim]{path}[/]", highlight=False)


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("build/loop"), "--out", help="Where runs, reports and the timeline go."),
    port: int = typer.Option(None, "--port", help="Local endpoint port (default: settings; 0 = any free)."),
    rows: int = typer.Option(600, "--rows", min=50, help="Rows of traffic per phase (normal, drifted)."),
    cdk_validation: bool = typer.Option(
        False, "--cdk-validation/--no-cdk-validation", help="Run the CDK's CloudFormation validation too."
    ),
) -> None:
    """Run the closed retraining loop locally: train, deploy, drift, alarm, rule, retrain, redeploy."""
    from pipelines.local.loop import LoopError, LoopOptions, run_demo
    from pipelines.local.templates import TemplateError

    obj: CliContext = ctx.obj
    options = LoopOptions(out_dir=out, port=port, rows_per_phase=rows, cdk_validation=cdk_validation)
    started = time.perf_counter()
    try:
        result = run_demo(obj.settings, options, listener=_print_entry)
    except (LoopError, TemplateError) as err:
        raise CliError(
            str(err), "fix the stage named above; run records are under " + str(out), CliError.FAILED
        ) from err
    console.print(f"timeline: {result.summary_file}  ({time.perf_counter() - started:.0f}s)")
    console.print(result.final_line)
    if not result.closed:
        raise typer.Exit(CliError.FAILED)


def register(app: typer.Typer) -> None:
    app.command()(demo)
