"""The CloudWatch dashboard the monitoring stack deploys, drawn from the local cloud's metrics as one
self-contained HTML page (``make demo`` ends with its ``file://`` link).

The widgets are the deployed ones (:func:`infra.dashboard.widgets`, which also writes the dashboard
body), read with the same GetMetricData a console would make, so a widget that stays empty here
(a metric nobody publishes, a wrong dimension) is empty in AWS too. Charts are PNGs drawn with
matplotlib into the page (:mod:`processing_scripts.reporting`): it opens offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from matplotlib import dates

from infra.dashboard import Widget, widgets
from pipelines.settings import Settings
from processing_scripts import reporting

DASHBOARD_FILE = "dashboard.html"


@dataclass(frozen=True)
class Series:
    label: str
    stat: str
    timestamps: list[datetime]
    values: list[float]


def read_widget(cloudwatch: Any, widget: Widget, start: datetime, end: datetime) -> list[Series]:
    """Each metric of the widget between ``start`` and ``end``, oldest first (one GetMetricData call
    per 500 metrics, CloudWatch's limit per request)."""
    queries: list[dict[str, Any]] = [
        {
            "Id": f"m{index}",
            "Label": metric.label,
            "MetricStat": {
                "Metric": {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in metric.dimensions],
                },
                "Period": widget.period,
                "Stat": metric.stat,
            },
        }
        for index, metric in enumerate(widget.metrics)
    ]
    stats = {query["Id"]: query["MetricStat"]["Stat"] for query in queries}
    results: dict[str, Series] = {}
    for first in range(0, len(queries), 500):
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=queries[first : first + 500],
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
        )
        for result in answer["MetricDataResults"]:
            points = sorted(zip(result["Timestamps"], result["Values"], strict=True))
            results[result["Id"]] = Series(
                result.get("Label") or result["Id"],
                stats[result["Id"]],
                [t for t, _ in points],
                [v for _, v in points],
            )
    return [results[query["Id"]] for query in queries if query["Id"] in results]


def render_dashboard(settings: Settings, cloudwatch: Any, start: datetime, end: datetime) -> str:
    """The whole page: one section per widget, a chart where its metrics have data."""
    sections = [
        reporting.facts_html(
            [
                ("CloudWatch dashboard", settings.dashboard_name),
                ("metrics from", f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (the local cloud)"),
            ]
        )
    ]
    for widget in widgets(settings):
        series = [s for s in read_widget(cloudwatch, widget, start, end) if s.values]
        body = _chart(widget, series, start, end) if series else "<p>No data in this period.</p>"
        sections.append(reporting.section_html(widget.title, body))
    return reporting.page_html(f"{settings.prefix} dashboard", *sections)


def write_dashboard(
    settings: Settings, cloudwatch: Any, start: datetime, end: datetime, folder: Path
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DASHBOARD_FILE
    path.write_text(render_dashboard(settings, cloudwatch, start, end))
    return path


def _chart(widget: Widget, series: list[Series], start: datetime, end: datetime) -> str:
    figure = reporting.new_figure(8.0, 3.2)
    axes = figure.subplots()
    if widget.view == "bar":
        # The latest value of each metric, largest on top: the most drifted feature first.
        latest = sorted(((s.values[-1], s.label) for s in series), reverse=True)
        axes.barh([label for _, label in latest][::-1], [value for value, _ in latest][::-1], color="#1f77b4")
        axes.set_xlabel(widget.unit_label, fontsize=8)
        alt = "latest value of " + ", ".join(f"{label} {value:.3g}" for value, label in latest)
    else:
        for s in series:
            axes.plot(
                dates.date2num(s.timestamps), s.values, marker="o", markersize=3, linewidth=1.2, label=s.label
            )
        if widget.threshold is not None:
            axes.axhline(
                widget.threshold, color="#b00020", linestyle="--", linewidth=1, label="alarm threshold"
            )
        axes.set_xlim(dates.date2num(start), dates.date2num(end))  # the page's period, as a console's range
        axes.xaxis_date()
        axes.set_ylabel(widget.unit_label, fontsize=8)
        axes.legend(fontsize=7, loc="upper left")
        figure.autofmt_xdate()
        alt = f"{widget.title}: " + ", ".join(s.label for s in series)
    axes.tick_params(labelsize=7)
    return reporting.figure_html(figure, alt) + f"<p>{html.escape(_summary(series))}</p>"


def _summary(series: list[Series]) -> str:
    """The numbers behind the chart in words (what a screen reader or a grep finds): counts as their
    total over the page's period, any other statistic as its latest value."""
    return "; ".join(
        f"{s.label}: total {sum(s.values):.4g}"
        if s.stat == "Sum"
        else f"{s.label}: latest {s.values[-1]:.4g}"
        for s in series
    )
