"""The monitoring pipeline: one uncached job calling the monitor script with exactly its interface."""

from __future__ import annotations

from pipelines import parameters as p
from pipelines import settings as settings_module
from processing_scripts import contract
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
