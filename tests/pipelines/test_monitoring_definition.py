"""The monitoring pipeline: one uncached job calling the monitor script with exactly its interface,
or, with monitoring.instance_count > 1, a sharded profile job and a merge job."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from pipelines import parameters as p
from pipelines import settings as settings_module
from pipelines.monitoring import MONITOR, PARTIALS_OUTPUT, PROFILE
from processing_scripts import contract
from tests.pipelines.cli_runner import run
from tests.pipelines.synthesized import definition

DEV = settings_module.load("dev")


def _get(target: str) -> dict[str, str]:
    return {"Get": target}


def test_parameters_default_to_the_settings_and_the_ground_truth_root():
    doc = definition("dev", "monitoring")
    assert {param["Name"]: (param["Type"], param["DefaultValue"]) for param in doc["Parameters"]} == {
        p.ENDPOINT_NAME: ("String", DEV.endpoint_name),
        p.WINDOW_HOURS: ("Integer", DEV.monitoring.window_hours),
        p.BASELINE_URI: ("String", ""),
        p.GROUND_TRUTH_URI: ("String", DEV.ground_truth_uri),
        p.MONITORING_INSTANCE_TYPE: ("String", DEV.monitoring.instance_type),
        p.STAGE: ("String", ""),  # the build account's endpoint (docs/multi-account.md)
    }


def test_one_uncached_retried_job_runs_the_monitor_module_from_the_project_image():
    [step] = definition("dev", "monitoring")["Steps"]
    assert (step["Name"], step["Type"]) == ("MonitorDataQuality", "Processing")
    app = step["Arguments"]["AppSpecification"]
    assert app["ImageUri"].rpartition(":")[0] == DEV.processing_image_uri.rpartition(":")[0]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "processing_scripts.monitor"]
    assert "CacheConfig" not in step
    assert "ProcessingInputs" not in step["Arguments"]  # the script reads capture and baseline from S3
    assert step["Arguments"]["Environment"] == {"AWS_DEFAULT_REGION": DEV.region}
    assert step["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == _get(
        f"Parameters.{p.MONITORING_INSTANCE_TYPE}"
    )
    assert {e for policy in step["RetryPolicies"] for e in policy["ExceptionType"]} >= {"Step.THROTTLING"}


def test_container_arguments_are_exactly_the_monitor_interface():
    [step] = definition("dev", "monitoring")["Steps"]
    args = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    mon = DEV.monitoring
    endpoint = _get(f"Parameters.{p.ENDPOINT_NAME}")
    assert flags == {
        "--capture-uri": {"Std:Join": {"On": "/", "Values": [DEV.capture_uri, endpoint]}},
        "--endpoint-name": endpoint,
        "--window-hours": {"Std:Join": {"On": "", "Values": [_get(f"Parameters.{p.WINDOW_HOURS}")]}},
        "--window-end": _get("Execution.StartDateTime"),
        "--baseline-uri": _get(f"Parameters.{p.BASELINE_URI}"),
        "--ground-truth-uri": _get(f"Parameters.{p.GROUND_TRUTH_URI}"),
        "--metric-namespace": mon.metric_namespace,
        "--endpoint-dimension": mon.endpoint_dimension,
        "--schedule-dimension": mon.schedule_dimension,
        "--schedule-name": DEV.monitoring_schedule_name,
        "--feature-metric-prefix": mon.feature_drift_metric_prefix,
        "--share-metric": mon.drifted_share_metric,
        "--violations-metric": mon.violations_metric,
        "--share-threshold": str(DEV.alarms.drift_share_threshold),
        "--execution-id": _get("Execution.PipelineExecutionId"),
        "--stage": _get(f"Parameters.{p.STAGE}"),  # without stages, no --monitored-stage: only empty works
        "--quality-namespace": DEV.model_quality.metric_namespace,
        "--quality-endpoint-dimension": DEV.model_quality.endpoint_dimension,
        "--quality-metrics": "rmse,mae,r2",
        "--merged-labels-metric": DEV.model_quality.merged_labels_metric,
        "--evaluation-metric-prefix": DEV.model_quality.evaluation_metric_prefix,
        "--label-delay-hours": str(DEV.model_quality.label_delay_hours),
        "--quality-window-hours": str(DEV.model_quality.window_hours),
    }
    assert len(flags) == len(args) // 2  # no flag given twice


def test_the_report_lands_under_the_endpoint_and_execution():
    [step] = definition("dev", "monitoring")["Steps"]
    [output] = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == contract.Monitor.REPORT
    assert output["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                DEV.reports_uri,
                _get(f"Parameters.{p.ENDPOINT_NAME}"),
                _get("Execution.PipelineExecutionId"),
            ],
        }
    }


def _sharded(env: str, instances: int) -> dict[str, Any]:
    from pipelines.synth import render_pipelines

    settings = settings_module.load(env)
    sharded = dataclasses.replace(
        settings, monitoring=dataclasses.replace(settings.monitoring, instance_count=instances)
    )
    rendered = render_pipelines(sharded)
    assert render_pipelines(sharded) == rendered  # synthesis is deterministic
    return json.loads(rendered[settings.monitoring_pipeline_name])


def test_more_than_one_instance_profiles_shards_then_merges_them_in_a_second_step():
    profile, merge = _sharded("dev", 3)["Steps"]
    assert (profile["Name"], merge["Name"]) == (PROFILE, MONITOR)
    assert profile["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    assert merge["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    single_args = definition("dev", "monitoring")["Steps"][0]["Arguments"]["AppSpecification"][
        "ContainerArguments"
    ]
    for step, mode in ((profile, contract.Monitor.PROFILE_MODE), (merge, contract.Monitor.MERGE_MODE)):
        assert step["Arguments"]["AppSpecification"]["ContainerArguments"] == [*single_args, "--mode", mode]
        assert "CacheConfig" not in step and step["RetryPolicies"]
    [partials] = profile["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert (partials["OutputName"], partials["S3Output"]["LocalPath"]) == (
        PARTIALS_OUTPUT,
        contract.Monitor.PARTIALS,
    )
    [merged_in] = merge["Arguments"]["ProcessingInputs"]
    assert merged_in["S3Input"]["LocalPath"] == contract.Monitor.PARTIALS_INPUT
    assert merged_in["S3Input"]["S3Uri"] == _get(
        f"Steps.{PROFILE}.ProcessingOutputConfig.Outputs['{PARTIALS_OUTPUT}'].S3Output.S3Uri"
    )
    [report] = merge["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert (
        report
        == definition("dev", "monitoring")["Steps"][0]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    )


@pytest.mark.parametrize("count", [0, 101])
def test_an_instance_count_outside_sagemakers_range_is_refused(count):
    with pytest.raises(
        settings_module.SettingsError, match=f"monitoring.instance_count {count} must be 1 to 100"
    ):
        dataclasses.replace(DEV.monitoring, instance_count=count)


def test_the_sharded_definition_passes_validate_as_a_user_runs_it(capsys, tmp_path):
    path = tmp_path / "sharded-monitoring.json"
    path.write_text(json.dumps(_sharded("dev", 3)))
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0, out + err
