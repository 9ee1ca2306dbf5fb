"""Commands for the pipeline lifecycle: synth, validate, upsert, diff, start, status, list."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from pipelines.cli import upsert_command
from pipelines.cli.arguments import DefinitionFileOpt, ExecutionOpt, PipelineArg
from pipelines.cli.context import CliContext, CliError, console
from pipelines.cli.definitions import (
    compare_definitions,
    local_definition,
    parameter_error,
    read_definition_file,
    resolve_pipeline_name,
    unified_diff,
)
from pipelines.cli.deployed import (
    deployed_definition,
    execution_arn,
    execution_steps,
    executions,
    require_deployed,
)
from pipelines.cli.exit_codes import ExitCode
from pipelines.cli.watch import raise_unless_succeeded, watch
from pipelines.definition import ParameterError, parse_assignments, read_definition, render_value
from pipelines.settings import with_checkout_commit
from pipelines.synth import DEFAULT_OUT_DIR


def synth(
    ctx: typer.Context,
    out: Path = typer.Option(DEFAULT_OUT_DIR, "--out", help="Directory for <pipeline>.json files."),
) -> None:
    """Write every pipeline definition as canonical JSON (offline, byte-identical for identical input)."""
    from pipelines.synth import write_pipelines

    obj: CliContext = ctx.obj
    started = time.perf_counter()
    paths = write_pipelines(obj.settings, out)
    for path in paths:
        console.print(f"wrote [bold]{path}[/] ({path.stat().st_size:,} bytes)")
    console.print(f"[dim]{len(paths)} definitions in {time.perf_counter() - started:.1f}s[/]")


def validate(
    files: list[Path] = typer.Argument(..., help="Definition JSON files, e.g. build/pipelines/*.json."),
) -> None:
    """Check definitions against the schema and the graph rules; exit 3 on any error (warnings pass)."""
    failed = 0
    exit_code: int = CliError.INVALID
    for path in files:
        try:
            definition = read_definition(read_definition_file(path))
        except CliError as err:
            failed += 1
            exit_code = max(exit_code, err.exit_code)  # a missing file is NOT_FOUND, as everywhere
            console.print(f"[red]✗[/] {path}: {escape(err.message)}", highlight=False)
            continue
        for finding in definition.errors:
            console.print(f"[red]✗[/] {path}: {escape(str(finding))}", highlight=False)
        for finding in definition.warnings:
            console.print(f"[yellow]![/] {path}: warning: {escape(str(finding))}", highlight=False)
        if definition.errors:
            failed += 1
        else:
            warned = f" ({len(definition.warnings)} warnings)" if definition.warnings else ""
            console.print(f"[green]✓[/] {path}{warned}")
    if failed:
        raise CliError(
            f"{failed} of {len(files)} definitions failed validation",
            "fix the step/field named above (for this project's own pipelines: in the code, then synth again)",
            exit_code,
        )


def diff(
    ctx: typer.Context,
    pipeline: str = PipelineArg,
    definition_file: Path = DefinitionFileOpt,
) -> None:
    """Show the difference between the local definition and the deployed one (exit 1 if they differ)."""
    obj: CliContext = ctx.obj
    name = resolve_pipeline_name(obj.settings, pipeline)
    # What `upsert` would send: a synthesized definition carries the checkout's commit.
    settings = obj.settings if definition_file else with_checkout_commit(obj.settings)
    local = local_definition(settings, name, definition_file)
    deployed = require_deployed(obj.clients.sagemaker, name)
    change = compare_definitions(deployed, local)
    if change.empty:
        console.print(f"no differences: {name}")
        return
    for line in change.lines():
        console.print(line)
    console.print(unified_diff(deployed, local, name), markup=False, highlight=False)
    raise typer.Exit(ExitCode.DIFFERS)


def start(
    ctx: typer.Context,
    pipeline: str = PipelineArg,
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter override K=V (repeatable)."),
    display_name: str = typer.Option(None, "--display-name", help="Execution display name."),
    wait: bool = typer.Option(
        False, "--wait", help="Follow the steps until the execution ends; exit 5 unless it succeeded."
    ),
) -> None:
    """Start an execution of the deployed pipeline; parameter names and types are checked first."""
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    name = resolve_pipeline_name(obj.settings, pipeline)
    deployed = require_deployed(sagemaker, name)
    values = _start_parameters(param, deployed)
    request: dict[str, Any] = {
        "PipelineName": name,
        "PipelineParameters": [{"Name": k, "Value": v} for k, v in values.items()],
        "ClientRequestToken": str(uuid.uuid4()),
    }
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    arn = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    console.print(f"[green]started[/] {arn}")
    for key, value in values.items():
        console.print(f"  {key} = {value}")
    if wait:
        raise_unless_succeeded(watch(sagemaker, arn), pipeline, arn)


def status(
    ctx: typer.Context,
    pipeline: str = PipelineArg,
    execution: str = ExecutionOpt,
) -> None:
    """The latest (or given) execution of a pipeline and its steps."""
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    name = resolve_pipeline_name(obj.settings, pipeline)
    execution = execution_arn(obj.settings, sagemaker, name, execution)
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)
    console.print(f"[bold]{name}[/] {execution}")
    console.print(
        f"  status: {_styled(described.get('PipelineExecutionStatus', '?'))}   "
        f"started: {described.get('CreationTime', '?')}   "
        f"last modified: {described.get('LastModifiedTime', '?')}"
    )
    if described.get("FailureReason"):
        console.print(f"  failure: {described['FailureReason']}")
    steps = execution_steps(sagemaker, execution)
    if steps is None:
        console.print("  [dim]step details: this endpoint does not implement ListPipelineExecutionSteps[/]")
        return
    table = Table("step", "status", "started", "ended", "failure")
    for step in steps:
        table.add_row(
            step.get("StepName", "?"),
            _styled(step.get("StepStatus", "?")),
            str(step.get("StartTime", "")),
            str(step.get("EndTime", "")),
            step.get("FailureReason", ""),
        )
    console.print(table)


def list_executions(
    ctx: typer.Context,
    pipeline: str = typer.Argument(None, help="Pipeline (default: all of the environment's)."),
    max_results: int = typer.Option(10, "--max", min=1, max=100, help="Executions per pipeline."),
) -> None:
    """Recent executions of the environment's pipelines."""
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    names = [resolve_pipeline_name(obj.settings, pipeline)] if pipeline else list(obj.settings.pipeline_names)
    table = Table("pipeline", "execution", "status", "started")
    for name in names:
        if deployed_definition(sagemaker, name) is None:
            table.add_row(name, "[dim]not deployed[/]", "", "")
            continue
        for summary in executions(sagemaker, name, max_results):
            table.add_row(
                name,
                summary["PipelineExecutionArn"].rsplit("/", 1)[-1],
                _styled(summary.get("PipelineExecutionStatus", "?")),
                str(summary.get("StartTime", "")),
            )
    console.print(table)


def _start_parameters(pairs: list[str], deployed: dict[str, Any]) -> dict[str, str]:
    """The overrides to send, checked with the rules ``run-local`` applies.

    GitCommit is not filled from this checkout: the run executes the deployed definition, whose
    GitCommit default was baked in when it was deployed (``upsert``, ``cdk deploy``), not whatever
    is checked out where ``start`` happens to run.
    """
    definition = read_definition(deployed)
    try:
        overrides = parse_assignments(pairs)
        values = definition.resolve_parameters(overrides)  # every parameter must end up with a value
    except ParameterError as err:
        raise parameter_error(err) from err
    return {name: render_value(values[name]) for name in overrides}  # defaults stay SageMaker's


def _styled(state: str) -> str:
    colour = {"Succeeded": "green", "Failed": "red", "Executing": "yellow", "Stopped": "dim"}.get(state)
    return f"[{colour}]{state}[/]" if colour else state


def register(app: typer.Typer) -> None:
    app.command()(synth)
    app.command()(validate)
    app.command()(upsert_command.upsert)
    app.command()(diff)
    app.command()(start)
    app.command()(status)
    app.command("list")(list_executions)
