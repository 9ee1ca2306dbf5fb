"""Commands on one execution of a deployed pipeline: ``stop``, ``retry`` and ``logs``.

The execution is the latest unless ``--execution`` names one (its id, as ``list`` shows it, or its
ARN). ``logs`` reads the jobs' CloudWatch Logs for an execution in AWS, or the files a ``run-local``
execution wrote (``--local``), so the failed step's output is one command away either way.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import typer

from pipelines.cli.arguments import ExecutionOpt, PipelineArg
from pipelines.cli.context import CliContext, CliError, console
from pipelines.cli.definitions import resolve_pipeline_name
from pipelines.cli.deployed import execution_arn, execution_steps
from pipelines.cli.watch import TERMINAL_STATUSES, raise_unless_succeeded, watch

WaitOpt = typer.Option(False, "--wait", help="Follow the steps until the execution ends.")

# Where SageMaker writes each job type's logs: log group, and the job's name starts each stream
# (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
JOB_LOG_GROUPS = {
    "ProcessingJob": "/aws/sagemaker/ProcessingJobs",
    "TrainingJob": "/aws/sagemaker/TrainingJobs",
    "TransformJob": "/aws/sagemaker/TransformJobs",
}


def _execution(ctx: typer.Context, pipeline: str, execution: str | None) -> tuple[Any, str, str]:
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    name = resolve_pipeline_name(obj.settings, pipeline)
    return sagemaker, name, execution_arn(obj.settings, sagemaker, name, execution)


def stop(ctx: typer.Context, pipeline: str = PipelineArg, execution: str = ExecutionOpt) -> None:
    """Stop a running execution (the latest by default); its running jobs are stopped too."""
    sagemaker, _, arn = _execution(ctx, pipeline, execution)
    status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    if status in TERMINAL_STATUSES:
        console.print(f"nothing to stop: {arn} already ended {status}", highlight=False)
        return
    sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))
    console.print(f"stopping {arn} (it ends Stopped once its running steps have stopped)", highlight=False)


def retry(
    ctx: typer.Context, pipeline: str = PipelineArg, execution: str = ExecutionOpt, wait: bool = WaitOpt
) -> None:
    """Run a failed execution again from its failed steps (the succeeded ones are not rerun)."""
    sagemaker, _, arn = _execution(ctx, pipeline, execution)
    status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    # RetryPipelineExecution accepts a Failed execution only (API_RetryPipelineExecution).
    if status != "Failed":
        raise CliError(
            f"{arn.rsplit('/', 1)[-1]} is {status}; only a failed execution can be retried",
            f"start a new one with `pipelines start {pipeline}`",
        )
    sagemaker.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))
    console.print(f"retrying {arn}", highlight=False)
    if wait:
        raise_unless_succeeded(watch(sagemaker, arn), pipeline, arn)


def logs(
    ctx: typer.Context,
    pipeline: str = PipelineArg,
    *,
    execution: str = ExecutionOpt,
    step: str = typer.Option(None, "--step", help="Only this step's log (default: every step's)."),
    local: bool = typer.Option(False, "--local", help="A run-local execution's logs, from --runs-dir."),
    runs_dir: Path = typer.Option(Path("build/runs"), "--runs-dir", help="run-local's --runs-dir."),
) -> None:
    """The log of each step's job: CloudWatch Logs for an execution in AWS, files for a local run."""
    if local:
        obj: CliContext = ctx.obj
        _local_logs(resolve_pipeline_name(obj.settings, pipeline), execution, step, runs_dir)
        return
    sagemaker, _, arn = _execution(ctx, pipeline, execution)
    steps = execution_steps(sagemaker, arn)
    if steps is None:
        raise CliError(
            "this endpoint does not list an execution's steps (ListPipelineExecutionSteps)",
            "for a run-local execution pass --local",
            CliError.AWS,
        )
    chosen = [s for s in reversed(steps) if step is None or s.get("StepName") == step]
    if not chosen:
        raise CliError(
            f"no step {step!r} in {arn.rsplit('/', 1)[-1]}",
            "`pipelines status` lists the steps",
            CliError.NOT_FOUND,
        )
    cloudwatch_logs = ctx.obj.clients.client("logs")
    for entry in chosen:
        _print_job_log(cloudwatch_logs, entry)


def _print_job_log(cloudwatch_logs: Any, step: dict[str, Any]) -> None:
    name = step.get("StepName", "?")
    metadata = step.get("Metadata") or {}
    job = next(((kind, metadata[kind]["Arn"]) for kind in JOB_LOG_GROUPS if kind in metadata), None)
    if job is None:
        console.print(f"== {name}: {step.get('StepStatus', '?')} (no job, so no job log)", highlight=False)
        return
    kind, arn = job
    job_name = arn.rsplit("/", 1)[-1]
    console.print(f"== {name}: {kind} {job_name} ({JOB_LOG_GROUPS[kind]})", highlight=False)
    paginator = cloudwatch_logs.get_paginator("filter_log_events")
    try:
        for page in paginator.paginate(logGroupName=JOB_LOG_GROUPS[kind], logStreamNamePrefix=job_name):
            for event in page.get("events", []):
                console.print(event["message"].rstrip("\n"), markup=False, highlight=False)
    except cloudwatch_logs.exceptions.ResourceNotFoundException:
        console.print("   (no log yet: the job has not started writing)", highlight=False)


def _local_logs(name: str, execution: str | None, step: str | None, runs_dir: Path) -> None:
    """A run-local execution's step logs: ``<runs dir>/<execution id>/logs/<step>.log``."""
    records = sorted(runs_dir.glob("*/record.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    runs = [json.loads(p.read_text()) | {"run_dir": p.parent} for p in records]
    runs = [r for r in runs if r["pipeline_name"] == name]
    wanted = execution.rsplit("/", 1)[-1] if execution else None
    run = next((r for r in runs if wanted in (None, r["execution_id"])), None)
    if run is None:
        raise CliError(
            f"no run-local execution {wanted or 'of ' + name} under {runs_dir}",
            "run one with `pipelines run-local`, or point --runs-dir at its folder",
            CliError.NOT_FOUND,
        )
    chosen = [entry for entry in run["steps"] if step in (None, entry["name"])]
    if not chosen:
        raise CliError(
            f"no step {step!r} in {run['execution_id']}", "omit --step for every step", CliError.NOT_FOUND
        )
    for entry in chosen:
        console.print(f"== {entry['name']}: {entry['status']}", highlight=False)
        if entry.get("log_file"):
            log = Path(run["run_dir"]) / entry["log_file"]
            console.print(log.read_text().rstrip("\n"), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(stop)
    app.command()(retry)
    app.command()(logs)
