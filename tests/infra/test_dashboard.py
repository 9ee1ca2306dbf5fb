"""The deployed dashboard: one per environment, its widgets plot exactly the metrics the alarms
watch and the jobs, endpoint, pipelines and rules publish (names from settings, never retyped)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines import settings as project_settings
from processing_scripts import dataset
from tests.infra.conftest import Synthesized

SETTINGS = project_settings.load("dev")


@pytest.fixture(scope="module")
def body(synthesized: Synthesized) -> dict[str, Any]:
    (dashboard,) = synthesized.resources("monitoring", "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == SETTINGS.dashboard_name
    return json.loads(dashboard["Properties"]["DashboardBody"])


def _metrics(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """(namespace, metric name) -> its dimensions, over every widget."""
    found = {}
    for widget in body["widgets"]:
        for line in widget["properties"]["metrics"]:
            namespace, name, *rest = line
            pairs = [item for item in rest if isinstance(item, str)]
            found[namespace, name] = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return found


def test_the_drift_widgets_plot_what_the_drift_alarms_watch(
    synthesized: Synthesized, body: dict[str, Any]
) -> None:
    metrics = _metrics(body)
    alarms = synthesized.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    drift_alarms = [
        a["Properties"]
        for a in alarms
        if a["Properties"].get("Namespace") == SETTINGS.monitoring.metric_namespace
    ]
    assert len(drift_alarms) == 1 + len(dataset.feature_kinds())
    for alarm in drift_alarms:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert metrics[alarm["Namespace"], alarm["MetricName"]] == dimensions, alarm["AlarmName"]


def test_endpoint_quality_pipeline_and_retraining_widgets(body: dict[str, Any]) -> None:
    metrics = _metrics(body)
    endpoint = {"EndpointName": SETTINGS.endpoint_name, "VariantName": SETTINGS.serving.variant_name}
    for name in ("Invocations", "Invocation5XXErrors", "InvocationModelErrors", "ModelLatency"):
        assert metrics["AWS/SageMaker", name] == endpoint
    for name in SETTINGS.model_quality.metrics[SETTINGS.problem_type]:
        assert metrics[SETTINGS.model_quality.metric_namespace, name] == {"Endpoint": SETTINGS.endpoint_name}
    for metric in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed"):
        assert (
            metrics["AWS/Sagemaker/ModelBuildingPipeline", metric]["PipelineName"] in SETTINGS.pipeline_names
        )
    assert metrics["AWS/Events", "TriggeredRules"]["RuleName"] in SETTINGS.retrain_rule_names.values()


def test_widgets_sit_on_the_grid_without_overlapping(body: dict[str, Any]) -> None:
    cells = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        for dx in range(widget["width"]):
            for dy in range(widget["height"]):
                assert (widget["x"] + dx, widget["y"] + dy) not in cells
                cells.add((widget["x"] + dx, widget["y"] + dy))
