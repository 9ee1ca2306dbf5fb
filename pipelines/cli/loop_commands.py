"""Commands for the closed loop: ``demo`` (the whole loop, locally) and ``simulate`` (tune thresholds)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pipelines.cli import report_links
from pipelines.cli.context import CliContext, CliError, console
from pipelines.settings import SettingsError, with_checkout_commit

if TYPE_CHECKING:
    from localcloud.stories.loop import Entry


def _story_errors() -> tuple[type[Exception], ...]:
    """What a story reports as one line: a failed stage, a bad template, the cloud or emulator refusing."""
    from localcloud import EmulatorError, LocalCloudError
    from localcloud.cloudformation import TemplateError
    from localcloud.stories import StoryError

    return (StoryError, LocalCloudError, TemplateError, EmulatorError)


def _print_entry(entry: Entry) -> None:
    why = f"  [dim]{entry.why}[/]" if entry.why else ""
    console.print(f"[cyan]{entry.elapsed:7.1f}s[/] {entry.what}{why}", highlight=False)
    for path in entry.paths:
        console.print(f"          [dim]{path}[/]", highlight=False)


def demo(
    ctx: typer.Context,
    *,
    out: Path = typer.Option(Path("build/loop"), "--out", help="Where runs, reports and the timeline go."),
    port: int = typer.Option(None, "--port", help="Local endpoint port (default: settings; 0 = any free)."),
    rows: int = typer.Option(600, "--rows", min=50, help="Rows of traffic per phase (normal, drifted)."),
    cdk_validation: bool = typer.Option(
        False, "--cdk-validation/--no-cdk-validation", help="Run the CDK's CloudFormation validation too."
    ),
    cdk_out: Path = typer.Option(
        None,
        "--cdk-out",
        help="Run on this existing cloud assembly as is (no synth), e.g. a hand-edited policy.",
    ),
    new_model_as: str = typer.Option(
        None,
        "--new-model-as",
        help="replace | challenger | shadow: how the retrained model enters the endpoint (default: "
        "settings.serving.new_model_as); challenger and shadow report the variants, then promote.",
    ),
) -> None:
    """Run the closed retraining loop locally: train, deploy, drift, alarm, rule, retrain, redeploy."""
    from localcloud.stories.loop import LoopOptions, run_demo

    obj: CliContext = ctx.obj
    obj.emulated_stage_accounts = True  # `make demo STAGES=staging,prod`: the emulated accounts
    settings = obj.settings
    if new_model_as:
        try:
            serving = dataclasses.replace(settings.serving, new_model_as=new_model_as)
        except SettingsError as err:
            raise CliError(
                f"--new-model-as: {err}", "e.g. --new-model-as challenger", CliError.USAGE
            ) from None
        settings = dataclasses.replace(settings, serving=serving)
    options = LoopOptions(
        out_dir=out, port=port, rows_per_phase=rows, cdk_validation=cdk_validation, cdk_out=cdk_out
    )
    started = time.perf_counter()
    console.print(
        "[dim]synthesizing the pipeline JSON and the CDK app; the timeline starts when they are ready[/]"
    )
    try:
        # The demo deploys what it synthesizes, so it bakes in the checkout's commit like `upsert`.
        result = run_demo(with_checkout_commit(settings), options, listener=_print_entry)
    except _story_errors() as err:
        raise CliError(
            str(err), "fix the stage named above; run records are under " + str(out), CliError.FAILED
        ) from err
    console.print(f"timeline: {result.summary_file}  ({time.perf_counter() - started:.0f}s)")
    report_links.show_runs(settings, out / "runs", result.runs, downloaded=out / "reports")
    if result.dashboard is not None:
        console.print(f"dashboard: {result.dashboard.resolve().as_uri()}")
    console.print(result.final_line)
    if not result.closed:
        raise typer.Exit(CliError.FAILED)


def simulate(
    ctx: typer.Context,
    scenario: list[str] = typer.Option(
        ..., "--scenario", "-s", help="no-drift | drift | flapping | bad-data | concept-drift (repeatable)."
    ),
    rows: int = typer.Option(300, "--rows", min=50, help="Rows of traffic per window."),
    out: Path = typer.Option(Path("build/simulate"), "--out", help="Work folder (runs, synth output)."),
    cooldown_minutes: int = typer.Option(
        None, "--cooldown-minutes", min=0, help="The storm guard's cooldown to try (default: settings)."
    ),
) -> None:
    """Would retraining fire? Play generated traffic over monitoring windows; count retraining starts."""
    from localcloud.stories.simulate import Scenario, Simulator, WindowOutcome

    try:
        scenarios = [Scenario(name) for name in scenario]
    except ValueError as err:
        raise CliError(str(err), f"choose from {', '.join(s.value for s in Scenario)}") from err

    def show(w: WindowOutcome) -> None:
        share = "-" if w.drifted_share is None else f"{w.drifted_share:.2f}"
        guard = "; ".join(w.guard) or "-"
        labels = (
            ""
            if not w.merged_labels
            else f"labels={w.merged_labels} "
            + " ".join(f"{name}={value:.3g}" for name, value in w.quality.items())
        )
        console.print(
            f"  window {w.index} (ends {w.end:%m-%d %H:%M}Z) {w.traffic.value:8} verdict={w.verdict:16} "
            f"share={share:5} violations={w.violations:<3} drift alarm={w.drift_alarm.value:17} "
            f"quality alarm={w.quality_alarm.value:17} {labels + ' ' if labels else ''}guard: {guard}",
            highlight=False,
        )

    obj: CliContext = ctx.obj
    settings = obj.settings
    if cooldown_minutes is not None:  # the guard reads it from its environment, built from settings
        retraining = dataclasses.replace(settings.retraining, cooldown_minutes=cooldown_minutes)
        settings = dataclasses.replace(settings, retraining=retraining)
    console.print(f"storm guard cooldown: {settings.retraining.cooldown_minutes} minutes of simulated time")
    console.print("[dim]preparing: synthesis, the local cloud, one training run and the endpoint[/]")
    try:
        with Simulator(settings, out, rows=rows) as simulator:
            for chosen in scenarios:
                console.print(f"[bold]{chosen.value}[/]")
                result = simulator.run(chosen, progress=show)
                first = result.first_start
                when = f" (window {first.index}, ending {first.end:%m-%d %H:%M}Z)" if first else ""
                console.print(
                    f"  -> {result.retraining_starts} retraining start(s){when}; "
                    f"{result.executions_in_emulator} execution(s) recorded by the emulator"
                )
    except _story_errors() as err:
        raise CliError(str(err), "see the stage named above", CliError.FAILED) from err


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(simulate)
