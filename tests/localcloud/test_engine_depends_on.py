"""``DependsOn``: the executor waits for what a step names there, whatever the step types, and
refuses the SDK 3.x run conditions it does not emulate instead of running them the wrong way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud import DefinitionError, ExecutionStatus, StepStatus

SDK3_CLEANUP = Path(__file__).parents[1] / "pipelines" / "fixtures" / "sdk3" / "cleanup.json"


def test_depends_on_alone_orders_steps_of_every_kind_written_in_reverse(runner, pipeline):
    """No data reference links these steps: only DependsOn, written last step first."""
    pipeline.fail("Stop", "reached the end")["DependsOn"] = ["Check"]
    pipeline.condition("Check", [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}], [], [])[
        "DependsOn"
    ] = ["Second"]
    pipeline.processing("Second", "pass", DependsOn=["First"])
    pipeline.processing("First", "pass")

    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert list(record.steps) == ["First", "Second", "Check", "Stop"]
    assert [step.status for step in record.steps.values()] == [
        StepStatus.SUCCEEDED,
        StepStatus.SUCCEEDED,
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
    ]
    starts = [step.started_at for step in record.steps.values()]
    assert starts == sorted(starts)
    assert record.status == ExecutionStatus.FAILED and record.failure_reason == "reached the end"


def test_a_run_condition_is_refused_before_anything_runs_not_run_as_completed(runner):
    """SDK 3.x ``StepDependency(train, TriggerCondition.FAILED)``: run only when Train fails. The
    engine runs a step after what it depends on completed, so it would do the opposite."""
    definition = json.loads(SDK3_CLEANUP.read_text())
    stubs = {name: {} for name in ("Prepare", "Train", "DeleteScratch")}
    with pytest.raises(DefinitionError) as raised:
        runner.run(definition, pipeline_name="cleanup", stubs=stubs)
    assert raised.value.problems == [
        "NotifyTrainingFailed: DependsOn[0]: the run condition Trigger 'Failed' on Train is not emulated "
        "(a step runs here only once what it depends on completed); pass --stub NotifyTrainingFailed=outputs.json"
    ]
    assert not runner.runs_dir.exists()
