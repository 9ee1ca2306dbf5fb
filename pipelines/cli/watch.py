"""Follow a pipeline execution to its end, one line per step change, and say why it failed.

``start --wait`` and ``retry --wait`` polled behind a spinner and ended with "execution ended
Failed": the user then had to run ``status`` to learn which step failed and why. Here each step's
start and end is printed as it happens, and the end names the failed steps and their reasons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pipelines.cli.context import CliError, console
from pipelines.cli.deployed import execution_steps

TERMINAL_STATUSES = {"Succeeded", "Failed", "Stopped"}
POLL_SECONDS = 15.0  # a pipeline step takes minutes; DescribePipelineExecution is throttled per account


@dataclass(frozen=True)
class Outcome:
    status: str
    failure_reason: str


def watch(sagemaker: Any, arn: str) -> Outcome:
    """Poll until the execution ends, printing each step whose status changed."""
    seen: dict[str, str] = {}
    while True:
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = execution_steps(sagemaker, arn) or []
        for step in reversed(steps):  # the service lists the newest first
            name, status = step.get("StepName", "?"), step.get("StepStatus", "?")
            if seen.get(name) != status:
                seen[name] = status
                reason = f"  {step['FailureReason']}" if step.get("FailureReason") else ""
                console.print(f"  {time.strftime('%H:%M:%S')}  {name:28} {status}{reason}", highlight=False)
        state = described["PipelineExecutionStatus"]
        if state in TERMINAL_STATUSES:
            failed = [f"{s['StepName']}: {s['FailureReason']}" for s in steps if s.get("FailureReason")]
            reason = described.get("FailureReason") or "; ".join(failed)
            return Outcome(state, reason)
        time.sleep(POLL_SECONDS)


def raise_unless_succeeded(outcome: Outcome, pipeline: str, arn: str) -> None:
    console.print(f"execution ended: {outcome.status}", highlight=False)
    if outcome.status != "Succeeded":
        execution = arn.rsplit("/", 1)[-1]
        raise CliError(
            f"execution {execution} ended {outcome.status}: {outcome.failure_reason or 'no reason given'}",
            f"`pipelines logs {pipeline} --execution {execution}` shows the failed step's log",
            CliError.FAILED,
        )
