"""``variants report|promote|rollback``: an A/B or shadow test of a new model, from the terminal.

With ``serving.new_model_as = challenger`` (or ``shadow``) an approved model joins the champion
instead of replacing it (docs/variants.md). ``report`` compares the variants on their own CloudWatch
metrics; ``promote`` makes the challenger (or shadow) the champion; ``rollback`` sends all traffic
back to the champion. The work is :mod:`infra.variants`, shared with the local demo.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Column, Table

from pipelines.cli.context import CliContext, CliError, console

if TYPE_CHECKING:  # imported by each command, so the CLI starts without the drift engine (pyarrow)
    from infra import variants as ab

GROUND_TRUTH_HINT = (
    "Model Monitor's ground-truth JSON Lines (groundTruthData, eventMetadata.eventId = the request's "
    "InferenceId), a file, a folder or an s3:// prefix"
)
VariantOpt = typer.Option(
    None, "--variant", help="The variant to promote (default: the only challenger or shadow)."
)


def report(
    ctx: typer.Context,
    hours: float = typer.Option(24.0, "--hours", min=0.02, help="Metrics of the last this many hours."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (for scripts) instead of a table."),
    ground_truth: str = typer.Option(
        None,
        "--ground-truth",
        help="Ground-truth JSONL (file, folder or s3://): adds each variant's quality gate metric.",
    ),
) -> None:
    """Compare the endpoint's variants: weight, invocations, errors, latency p50/p99 (and quality)."""
    from infra import variants as ab

    obj: CliContext = ctx.obj
    found = _variants(obj)
    names = [v.name for v in found]
    start, end = ab.window(datetime.now(UTC), hours)
    metrics = ab.variant_metrics(obj.clients.cloudwatch, obj.settings, names, start, end)
    quality = _quality(obj, names, ground_truth, hours, end) if ground_truth else {}
    if as_json:
        rows = [
            {
                **asdict(v),
                **asdict(metrics[v.name]),
                **({"quality": asdict(quality[v.name])} if quality else {}),
            }
            for v in found
        ]
        console.print_json(json.dumps({"endpoint": obj.settings.endpoint_name, "variants": rows}))
        return
    metric = obj.settings.quality_gate.metric_path.split(".")[-2]  # regression_metrics.rmse.value: rmse
    columns = ["version", "weight", "requests", "errors", "p50 ms", "p99 ms"]
    # No box, and names never wrap: the table fits 80 columns; quality goes on a line of its own.
    table = Table(Column("variant", no_wrap=True), Column("role", no_wrap=True), *columns, box=None)
    for v in found:
        m = metrics[v.name]
        rate = f" ({m.errors / m.invocations:.1%})" if m.invocations else ""
        table.add_row(
            v.name,
            "champion" if v.champion else "shadow" if v.shadow else "challenger",
            str(v.version),
            "copy of all" if v.shadow else f"{v.weight:g}",
            f"{m.invocations:g}",
            f"{m.errors:g}{rate}",
            *(
                f"{m.latency_ms[p]:.2f}" if m.latency_ms[p] is not None else "-"
                for p in ab.LATENCY_PERCENTILES
            ),
        )
    console.print(
        f"{obj.settings.endpoint_name}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC", highlight=False
    )
    console.print(table)
    if quality:
        scores = ", ".join(
            f"{name} {q.value:.3f}" if q.value is not None else f"{name} -" for name, q in quality.items()
        )
        labelled = ", ".join(f"{name} {q.matched}" for name, q in quality.items())
        console.print(
            f"{metric} on ground truth: {scores} (labelled predictions: {labelled})", highlight=False
        )


def promote(ctx: typer.Context, variant: str = VariantOpt) -> None:
    """Make the challenger (or shadow) the champion: its model alone serves all traffic."""
    from infra import variants as ab

    obj: CliContext = ctx.obj
    try:
        result = ab.promote(obj.clients.client, obj.settings, variant)
    except ab.VariantsError as err:
        raise CliError(
            str(err), "`pipelines variants report` shows the variants", CliError.NOT_FOUND
        ) from None
    console.print(
        f"{obj.settings.endpoint_name}: {result['model_name']} is the champion "
        f"({obj.settings.serving.variant_name}, {result['status']}, config {result['endpoint_config_name']})",
        highlight=False,
    )


def rollback(ctx: typer.Context) -> None:
    """Send all traffic back to the champion (a challenger's weight goes to 0; a shadow is removed)."""
    from infra import variants as ab

    obj: CliContext = ctx.obj
    try:
        done = ab.rollback(obj.clients.client, obj.settings)
    except ab.VariantsError as err:
        raise CliError(
            str(err), "`pipelines variants report` shows the variants", CliError.NOT_FOUND
        ) from None
    console.print(f"{obj.settings.endpoint_name}: {done}", highlight=False)


def _quality(
    obj: CliContext, names: list[str], ground_truth: str, hours: float, end: datetime
) -> dict[str, ab.VariantQuality]:
    """Each variant's quality metric; the engine's input errors are one line naming the input."""
    from infra import variants as ab
    from processing_scripts.drift.capture import TimeWindow
    from processing_scripts.drift.errors import DriftInputError
    from processing_scripts.drift.storage import Storage, is_s3

    storage = Storage(lambda: obj.clients.s3)
    if not is_s3(ground_truth) and not Path(ground_truth).exists():
        raise CliError(
            f"--ground-truth {ground_truth}: no such file or folder", GROUND_TRUTH_HINT, CliError.NOT_FOUND
        )
    try:
        return ab.variant_quality(storage, obj.settings, names, ground_truth, TimeWindow.ending(end, hours))
    except ab.VariantsError as err:
        raise CliError(str(err), GROUND_TRUTH_HINT, CliError.NOT_FOUND) from None
    except DriftInputError as err:
        raise CliError(str(err), GROUND_TRUTH_HINT, CliError.INVALID) from None


def _variants(obj: CliContext) -> list[ab.Variant]:
    from infra import variants as ab

    try:
        return ab.variants(obj.clients.sagemaker, obj.settings)
    except ab.VariantsError as err:
        raise CliError(
            str(err), "approve a model version, or run `pipelines demo` locally", CliError.NOT_FOUND
        ) from None


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="A/B and shadow tests of a new model: compare the variants, promote or roll back.",
        no_args_is_help=True,
    )
    group.command("report")(report)
    group.command("promote")(promote)
    group.command("rollback")(rollback)
    app.add_typer(group, name="variants")
