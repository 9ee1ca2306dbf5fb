"""The executor's clock: execution variables and record timestamps come from it."""

from __future__ import annotations

from datetime import UTC, datetime

from localcloud import LocalPipelineRunner
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")

MOMENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_execution_variables_and_timestamps_come_from_the_clock(local_aws, tmp_path, pipeline):
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", clock=lambda: MOMENT)
    times = pipeline.join(
        pipeline.get("Execution.StartDateTime"), pipeline.get("Execution.CurrentDateTime"), on=" "
    )
    pipeline.fail("Stop", times)
    record = runner.run(pipeline.definition(), pipeline_name="p")
    assert record.failure_reason == "2030-01-02T03:04:05.000Z 2030-01-02T03:04:05.000Z"
    step = record.steps["Stop"]
    assert record.started_at == record.ended_at == step.started_at == step.ended_at == MOMENT


def test_the_default_clock_is_the_wall_clock(local_aws, tmp_path, pipeline):
    before = datetime.now(UTC)
    pipeline.fail("Stop", pipeline.get("Execution.StartDateTime"))
    record = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs").run(
        pipeline.definition(), pipeline_name="p"
    )
    assert before <= record.started_at <= record.ended_at <= datetime.now(UTC)
