"""`lineage`: where a model came from, in one command (docs/cli.md, "Lineage").

model version -> pipeline execution, its steps and jobs -> input data (S3 URI, version id, sha256)
-> code (git commit, images) -> baselines -> approval -> where it is deployed, and what triggered
the run. ``--json`` prints the stable document (:data:`pipelines.lineage.SCHEMA`) for tools.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Column, Table

from pipelines import lineage as lineage_module
from pipelines.cli.context import CliContext, CliError, console
from pipelines.lineage import Lineage, LineageError

TargetArg = typer.Argument(..., help="Model version number, model package ARN, or endpoint name.")


def lineage(
    ctx: typer.Context,
    target: str = TargetArg,
    *,
    as_json: bool = typer.Option(False, "--json", help=f"Print the {lineage_module.SCHEMA} JSON document."),
    runs_dir: Path = typer.Option(
        None,
        "--runs-dir",
        help="Local run records to read the steps from where the endpoint has no ListPipelineExecutionSteps.",
    ),
    demo_out: Path = typer.Option(
        None,
        "--demo-out",
        help="Read the lineage `pipelines demo --out DIR` saved (its emulator is gone once it ends).",
    ),
) -> None:
    """Where a model came from: run, steps, data versions, commit, images, baselines, approval, deployment."""
    obj: CliContext = ctx.obj
    if demo_out is not None:
        found = _saved(demo_out, target)
    else:
        try:
            found = lineage_module.trace(
                obj.clients.sagemaker, obj.clients.s3, obj.settings, target, runs_dir=runs_dir
            )
        except LineageError as err:
            raise CliError(str(err), err.hint, CliError.NOT_FOUND) from err
    if as_json:
        print(json.dumps(found.to_json(), indent=2, sort_keys=True))
        return
    show(found)


def _saved(out_dir: Path, target: str) -> Lineage:
    path = lineage_module.saved_file(out_dir, target)
    if not path.is_file():
        saved = sorted(p.stem for p in path.parent.glob("v*.json"))
        raise CliError(
            f"no saved lineage of model version {target} in {path.parent}",
            f"saved: {', '.join(saved)}"
            if saved
            else "run `pipelines demo` first (or name its --out folder)",
            CliError.NOT_FOUND,
        )
    try:
        return Lineage.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as err:
        raise CliError(f"{path}: {err}", "run the demo again to rewrite it", CliError.INVALID) from err


def show(found: Lineage) -> None:
    """The human view: the model, then one line per source (soft-wrapped: ARNs and URIs stay whole,
    so they can be copied)."""
    model, approval, trigger, code, data = found.model, found.approval, found.trigger, found.code, found.data
    decided = " ".join(str(v) for v in (approval["by"], approval["at"]) if v)
    deployed = ", ".join(f"{d['endpoint']}/{d['variant']}" for d in found.deployments)
    execution = found.execution or {}
    lines = [
        ("artifact", f"{model['model_data_url']}  (serving image {model['serving_image']})"),
        (
            "approval",
            f"{approval['status']}"
            + (f" by {decided}" if decided else "")
            + (f": {approval['note']}" if approval["note"] else ""),
        ),
        ("deployed", deployed or "not on the project's endpoint"),
        ("trigger", f"{trigger['triggered_by']}" + (f"  ({trigger['detail']})" if trigger["detail"] else "")),
        (
            "code",
            f"git commit {code['git_commit']}"
            + ("  (uncommitted changes)" if code["dirty"] else "")
            + f"; processing image tag {code['processing_image_tag']}",
        ),
        ("data", f"{data['input_url']} (snapshot {data['snapshot']}), sha256 {data['sha256'] or '?'}"),
        *[
            ("", f"{o['uri']}  version {o['version_id']}  sha256 {o['sha256']}  {o['bytes']} bytes")
            for o in data["objects"]
        ],
        ("baselines", f"{found.baselines['statistics']}  {found.baselines['constraints']}"),
        ("metrics", str(model["metrics"])),
        (
            "execution",
            f"{execution.get('arn')}  {execution.get('status') or ''}  started {execution.get('started')}",
        ),
        *[("image", image) for image in code["images"]],
    ]
    console.print(f"[bold]model version {model['version']}[/] {escape(str(model['package_arn']))}")
    for label, text in lines:
        console.print(f"  [bold]{label:<10}[/] {escape(text)}")
    if found.steps:
        table = Table("step", "status", Column("job", overflow="fold"), Column("inputs", overflow="fold"))
        for step in found.steps:
            job = (step.job_arn or "").rsplit("/", 1)[-1]
            if step.cache_hit_from:
                job += f" (cached from {step.cache_hit_from.rsplit('/', 1)[-1]})"
            table.add_row(step.name, step.status, job, "\n".join(step.inputs))
        console.print(table)
    for note in found.notes:
        console.print(f"[dim]note:[/] {escape(note)}")


def register(app: typer.Typer) -> None:
    app.command()(lineage)
