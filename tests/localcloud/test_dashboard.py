"""The deployed dashboard's widgets drawn from the local cloud's metrics: published the way the
endpoint, the monitoring job and the pipeline executor publish them, read back with GetMetricData,
one self-contained page that a real browser renders with a chart per widget that has data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.dashboard import widgets
from localcloud.sagemaker.endpoint import InvocationMetrics
from localcloud.stories.dashboard import read_widget, write_dashboard
from pipelines import settings as settings_module
from processing_scripts import dataset
from processing_scripts.drift import metrics
from tests.browser import drawn_images, remote_sources

SETTINGS = settings_module.load("dev")
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
DRIFT = {"length": 0.31, "diameter": 0.12, "height": 0.05}


@pytest.fixture(scope="module")
def published(local_aws):
    cloudwatch = local_aws.clients.cloudwatch
    invocations = InvocationMetrics(cloudwatch, SETTINGS.endpoint_name)
    variant = SETTINGS.serving.variant_name
    for minute in range(10):
        for request in range(5):
            invocations.record(NOW - timedelta(minutes=minute), variant, 200, False, 900.0 + 10 * request)
    invocations.record(NOW, variant, 500, False, 2000.0)
    invocations.flush()
    monitoring = SETTINGS.monitoring
    dimensions = [
        {"Name": monitoring.endpoint_dimension, "Value": SETTINGS.endpoint_name},
        {"Name": monitoring.schedule_dimension, "Value": SETTINGS.monitoring_schedule_name},
    ]
    data = [
        {"MetricName": SETTINGS.drift_metric_name(f), "Dimensions": dimensions, "Timestamp": NOW, "Value": v}
        for f, v in DRIFT.items()
    ]
    data.append(
        {
            "MetricName": monitoring.drifted_share_metric,
            "Dimensions": dimensions,
            "Timestamp": NOW,
            "Value": 0.375,
        }
    )
    metrics.publish(cloudwatch, monitoring.metric_namespace, data)
    return cloudwatch


def test_the_drift_ranking_reads_the_features_the_job_published(published):
    [by_feature] = [w for w in widgets(SETTINGS) if w.view == "bar"]
    assert {m.label for m in by_feature.metrics} == set(dataset.feature_kinds())

    series = read_widget(published, by_feature, NOW - timedelta(hours=2), NOW + timedelta(hours=1))

    assert {s.label: s.values for s in series if s.values} == {f: [v] for f, v in DRIFT.items()}


@pytest.mark.slow  # draws seven charts, then a browser
def test_the_page_renders_in_a_browser_with_a_chart_per_widget_with_data(published, tmp_path, open_page):
    path = write_dashboard(SETTINGS, published, NOW - timedelta(hours=2), NOW + timedelta(hours=1), tmp_path)
    page = path.read_text()

    errors, driver = open_page(path)

    assert errors == []
    assert remote_sources(page) == []
    assert driver.title == f"{SETTINGS.prefix} dashboard"
    # endpoint invocations, latency, drift share, drift by feature; nothing published the rest
    assert drawn_images(driver) == 4
    assert page.count("No data in this period.") == len(widgets(SETTINGS)) - 4
    assert "length: latest 0.31" in page and "invocations: total 51" in page and "5XX errors: total 1" in page
