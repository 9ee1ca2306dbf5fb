"""`callback succeed` / `callback fail`: answer a Callback step that a local run is waiting on.

The local twins of SendPipelineExecutionStepSuccess and SendPipelineExecutionStepFailure, run from
another terminal while ``run-local`` waits. The token is the one the step logged (and sent to its
SQS queue); the answer is checked against what the step declares (output names and types, the
reason's length) before it is handed over, so a typo is refused here instead of failing the run.
See :mod:`localcloud.sagemaker.executor.steps.callback` for how the two processes meet.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli.context import CliError, console
from pipelines.definition import parse_assignments

callback_app = typer.Typer(help="Answer a Callback step a local run is waiting on.", no_args_is_help=True)
RunsDirOpt = typer.Option(Path("build/runs"), "--runs-dir", help="The runs directory of the waiting run.")


@callback_app.command("succeed")
def succeed(
    token: str = typer.Argument(..., help="The callback token the step logged."),
    output: list[str] = typer.Option([], "--output", "-o", help="Output parameter NAME=VALUE (repeatable)."),
    runs_dir: Path = RunsDirOpt,
) -> None:
    """Complete the step successfully with these outputs (SendPipelineExecutionStepSuccess)."""
    try:
        values = parse_assignments(output)
    except ValueError as err:
        raise CliError(str(err), "write each output as -o NAME=VALUE") from err
    _answer(token, runs_dir, outputs=values)


@callback_app.command("fail")
def fail(
    token: str = typer.Argument(..., help="The callback token the step logged."),
    reason: str = typer.Option(..., "--reason", help="Why the step failed (at most 256 characters)."),
    runs_dir: Path = RunsDirOpt,
) -> None:
    """Fail the step with this reason (SendPipelineExecutionStepFailure)."""
    _answer(token, runs_dir, failure=reason)


def _answer(
    token: str, runs_dir: Path, *, outputs: dict[str, str] | None = None, failure: str | None = None
) -> None:
    from localcloud.sagemaker.executor.steps.callback import CallbackError, answer, find_pending

    try:
        pending = find_pending(runs_dir, token)
        answer(pending, outputs=outputs, failure=failure)
    except CallbackError as err:
        raise CliError(str(err), "the waiting step's log names its token and declared outputs") from err
    verb = "failed" if failure is not None else "completed"
    console.print(f"{verb} step {pending.step} of {pending.execution_arn}")


def register(app: typer.Typer) -> None:
    app.add_typer(callback_app, name="callback")
