"""CloudWatch ``GetMetricData`` as AWS answers it for metric queries, where moto 5.2.5 does not.

Two gaps of moto's ``get_metric_data`` change what an alarm sees:

- with dimensions in the query, it matches datapoints of *any namespace* with that name and those
  dimensions, so two namespaces publishing the same metric name leak into each other's alarms;
- it computes no percentile (``p99``) and answers nothing for one.

:func:`install` wraps the backend's method: a request made only of ``MetricStat`` queries (what the
local alarm evaluator sends) is answered here, matching namespace, name, exact dimension set and
unit, per period from ``StartTime``; anything else (metric math, Metrics Insights) goes to moto
unchanged. Percentiles follow "CloudWatch statistics definitions"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html): they
need the raw values (``Value``/``Values``+``Counts``); a statistic set only counts when its
``SampleCount`` is 1 or its ``Minimum`` equals its ``Maximum``, otherwise the period has no percentile;
and none exists when any value is negative. AWS does not document its interpolation; this uses
the nearest rank (the smallest value with at least p% of the samples at or below it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")  # p99, p99.9, p0.1, p100

_STANDARD: dict[str, Callable[[list[float], float, float], float]] = {
    # (values, total, count) -> statistic; statistic sets expand into ``values`` as their min and max.
    "Sum": lambda values, total, count: total,
    "SampleCount": lambda values, total, count: count,
    "Average": lambda values, total, count: total / count,
    "Minimum": lambda values, total, count: min(values),
    "Maximum": lambda values, total, count: max(values),
}


def percentile_of(stat: str) -> float | None:
    """``p99`` -> 0.99; None for every other statistic."""
    match = PERCENTILE.fullmatch(stat)
    return float(match.group(1)) / 100 if match else None


def _statistic(stat: str, data: list[Any]) -> float | None:
    """One period's statistic over moto's datapoints (a ``MetricDatum`` has a ``value``, a
    ``MetricAggregatedDatum`` a statistic set); None where CloudWatch has no value."""
    raw = [d.value for d in data if hasattr(d, "value")]
    sets = [d for d in data if hasattr(d, "sample_count")]
    total = math.fsum(raw) + math.fsum(s.sum for s in sets)
    count = len(raw) + sum(s.sample_count for s in sets)
    if stat in _STANDARD:
        extremes = raw + [v for s in sets for v in (s.min, s.max)]
        return _STANDARD[stat](extremes, total, count) if count else None
    percentile = percentile_of(stat)
    if percentile is None:
        return None
    if any(s.sample_count != 1 and s.min != s.max for s in sets):
        return None  # a statistic set hides its values: no percentile
    values = sorted(raw + [s.min for s in sets for _ in range(int(s.sample_count))])
    if not values or values[0] < 0:
        return None
    rank = max(1, math.ceil(percentile * len(values)))
    return values[rank - 1]


def _matches(
    datum: Any, namespace: str, name: str, dimensions: set[tuple[str, str]], unit: str | None
) -> bool:
    return (
        datum.namespace == namespace
        and datum.name == name
        and {(d.name, d.value) for d in datum.dimensions} == dimensions
        and (unit is None or datum.unit == unit)
    )


def _metric_stat_results(
    backend: Any, queries: list[dict[str, Any]], start: datetime, end: datetime, scan_by: str
) -> list[dict[str, Any]]:
    start, end = start.replace(microsecond=0), end.replace(microsecond=0)
    in_range = [d for d in backend.get_all_metrics() if start <= d.timestamp < end]
    results = []
    for query in queries:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        dimensions = {(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])}
        wanted = [
            d
            for d in in_range
            if _matches(d, metric["Namespace"], metric["MetricName"], dimensions, stat.get("Unit"))
        ]
        period = timedelta(seconds=int(stat["Period"]))
        timestamps, values = [], []
        moment = start
        while moment < end:
            value = _statistic(stat["Stat"], [d for d in wanted if moment <= d.timestamp < moment + period])
            if value is not None:
                timestamps.append(moment)
                values.append(value)
            moment += period
        if scan_by == "TimestampDescending":
            timestamps.reverse()
            values.reverse()
        if query.get("ReturnData", True):
            label = query.get("Label") or f"{metric['MetricName']} {stat['Stat']}"
            results.append(
                {
                    "id": query["Id"],
                    "label": label,
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    return results


def install() -> None:
    """Answer MetricStat-only GetMetricData requests as above (idempotent, process-wide)."""
    from moto.cloudwatch.models import CloudWatchBackend  # moto is heavy: only when installed

    original = CloudWatchBackend.get_metric_data
    if getattr(original, "_localcloud", False):
        return

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if start_time >= end_time or not all("MetricStat" in q for q in queries):
            return original(self, queries, start_time, end_time, scan_by)  # moto's checks and math
        return _metric_stat_results(self, queries, start_time, end_time, scan_by)

    get_metric_data._localcloud = True  # type: ignore[attr-defined]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
