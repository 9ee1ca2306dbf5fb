"""simulate: would retraining fire? One prepared rig, the four scenarios on generated windows."""

from __future__ import annotations

import json

import pytest

from localcloud.cloudwatch import AlarmState
from localcloud.stories.simulate import Scenario, Simulator
from localcloud.stories.traffic import TrafficKind
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory, deployed_artifacts):
    work = tmp_path_factory.mktemp("simulate")
    with Simulator(SETTINGS, work, rows=200, synthesized=deployed_artifacts) as rig:
        yield rig


@pytest.mark.slow
def test_no_drift_triggers_nothing(simulator):
    result = simulator.run(Scenario.NO_DRIFT)
    assert result.retraining_starts == 0 and result.executions_in_emulator == 0
    assert {w.drift_alarm for w in result.windows} == {AlarmState.OK}
    assert all(w.violations == 0 for w in result.windows)
    # Each window ran the real monitoring definition; only the executor's clock moved, to the
    # window's end, so the step's --window-end (Execution.StartDateTime) is that end.
    for window in result.windows:
        record = json.loads(window.monitoring_record.read_text())
        assert (record["pipeline_name"], record["status"]) == (SETTINGS.monitoring_pipeline_name, "Succeeded")
        (step,) = record["steps"]
        arguments = step["arguments"]["AppSpecification"]["ContainerArguments"]
        assert arguments[arguments.index("--window-end") + 1] == f"{window.end:%Y-%m-%dT%H:%M:%S}.000Z"


@pytest.mark.slow
def test_drift_triggers_exactly_one_retraining_when_drift_starts(simulator):
    result = simulator.run(Scenario.DRIFT)
    assert result.retraining_starts == 1 and result.executions_in_emulator == 1
    first_drifted = next(w.index for w in result.windows if w.traffic is TrafficKind.DRIFTED)
    assert result.first_start.index == first_drifted
    assert all(w.drift_alarm is AlarmState.ALARM for w in result.windows[first_drifted:])


@pytest.mark.slow
def test_flapping_alarm_is_held_by_the_storm_guard(simulator):
    result = simulator.run(Scenario.FLAPPING)
    into_alarm = [
        w
        for w in result.windows
        if any(f"{SETTINGS.drift_alarm_name}: OK->ALARM" in t for t in w.transitions)
    ]
    assert len(into_alarm) >= 2  # the alarm really flapped
    assert result.retraining_starts == 1 and result.executions_in_emulator == 1
    skipped = [g for w in into_alarm[1:] for g in w.guard]
    assert skipped and all(g.startswith("skipped") for g in skipped)


@pytest.mark.slow
def test_bad_data_reports_violations_without_a_storm(simulator):
    result = simulator.run(Scenario.BAD_DATA)
    bad = [w for w in result.windows if w.traffic is TrafficKind.BAD]
    assert all(w.violations > 0 for w in bad)
    assert result.retraining_starts <= 1 and result.executions_in_emulator <= 1


@pytest.mark.slow
def test_concept_drift_is_caught_by_the_quality_alarm_alone_and_retrains_once(simulator):
    """Features unchanged, labels shifted: the data-drift alarm stays OK, the model-quality alarm
    (live RMSE against the served model's evaluation) enters ALARM when the first shifted window's
    labels are merged, one label delay later, and the guard starts one retraining, TriggeredBy
    quality-alarm."""
    result = simulator.run(Scenario.CONCEPT_DRIFT)
    assert {w.drift_alarm for w in result.windows} == {AlarmState.OK}
    assert all(w.verdict == "no_drift" for w in result.windows)
    delay = SETTINGS.model_quality.label_delay_hours // SETTINGS.monitoring.window_hours
    first_shifted = next(w.index for w in result.windows if w.traffic is TrafficKind.CONCEPT_DRIFTED)
    judged = result.windows[delay:]
    assert all(w.merged_labels == simulator.rows for w in judged)  # every request's label merged
    assert result.retraining_starts == 1 and result.executions_in_emulator == 1
    assert result.first_start.index == first_shifted + delay
    assert any(f"{SETTINGS.quality_alarm_name}: OK->ALARM" in t for t in result.first_start.transitions)
    before = [w.quality["rmse"] for w in judged if w.index < first_shifted + delay]
    after = [w.quality["rmse"] for w in judged if w.index >= first_shifted + delay]
    assert max(before) * (1 + SETTINGS.alarms.quality_rmse_worse_fraction) < min(after)
    training = SETTINGS.training_pipeline_name
    sagemaker = simulator.cloud.aws.clients.sagemaker
    [execution] = sagemaker.list_pipeline_executions(PipelineName=training)["PipelineExecutionSummaries"]
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert {"Name": "TriggeredBy", "Value": "quality-alarm"} in parameters
    assert simulator.cloud.access.log.denied == []  # every new call is granted (least privilege)
