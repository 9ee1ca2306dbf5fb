"""CloudWatch metrics from a check: what the drift alarms and dashboards read.

Published per run (all with the same dimensions, e.g. Endpoint and MonitoringSchedule, and the
window's end as timestamp): one ``<prefix><feature>`` per compared feature (the value its verdict
compared: the L-infinity distance, or the p-value for ChiSquared), the share of drifted features,
and the number of violations. A run with nothing to check publishes nothing: the drift alarm treats
missing data as notBreaching, so an idle endpoint neither alarms nor looks healthy by a fake zero.
A run that could not match the data to the baseline publishes only the violations count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processing_scripts.drift.engine import CHECKED, NOTHING_TO_CHECK, CheckResult

# PutMetricData accepts up to 1,000 metrics per call.
BATCH_SIZE = 1000


@dataclass(frozen=True)
class MetricNames:
    namespace: str
    feature_prefix: str
    share: str
    violations: str


def metric_data(
    result: CheckResult, names: MetricNames, dimensions: dict[str, str], timestamp: datetime
) -> list[dict[str, Any]]:
    """The MetricData entries for a result (empty when there was nothing to check)."""
    if result.verdict == NOTHING_TO_CHECK:
        return []
    data = [datum(names.violations, len(result.violations), dimensions, timestamp, "Count")]
    if result.verdict in CHECKED:
        data += [
            datum(f"{names.feature_prefix}{f.name}", f.distance.value, dimensions, timestamp)
            for f in result.compared
            if f.distance
        ]
        if result.drifted_share is not None:
            data.append(datum(names.share, result.drifted_share, dimensions, timestamp))
    return data


def datum(
    name: str, value: float, dimensions: dict[str, str], timestamp: datetime, unit: str = "None"
) -> dict[str, Any]:
    """One PutMetricData entry (the model-quality metrics are built with it too)."""
    return {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Timestamp": timestamp,
        "Value": float(value),
        "Unit": unit,
    }


def publish(cloudwatch: Any, namespace: str, data: list[dict[str, Any]], batch_size: int = BATCH_SIZE) -> int:
    """put_metric_data in batches; returns the number of calls made."""
    calls = 0
    for start in range(0, len(data), batch_size):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + batch_size])
        calls += 1
    return calls
