"""``report.html`` for a check: the verdict first, then each feature's baseline vs current
distribution (CDFs for numbers, frequencies for categories) with its distance and threshold, then the
violations and what reading found. Built on ``processing_scripts.reporting`` (one self-contained file,
PNG embedded), and imported only when a report is written, so matplotlib never slows a check that
does not render one.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from processing_scripts import dataset, reporting
from processing_scripts.drift.formats import BASELINE_DRIFT_CHECK
from processing_scripts.drift.report_context import ReportContext, share_verdict

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from processing_scripts.drift.checks import FeatureResult
    from processing_scripts.drift.engine import CheckResult
    from processing_scripts.drift.formats import FeatureStatistics

_COLUMNS = 3
_PLOT_POINTS = 300
_COLORS = {"drift": "#b00020", "no_drift": "#1b7f3b"}


def render_report(result: CheckResult, context: ReportContext | None = None) -> str:
    context = context or ReportContext()
    color = _COLORS.get(result.verdict, "#8a6d00")
    banner = (
        f'<p style="font-size:1.3rem;padding:.8rem;border-left:.5rem solid {color};background:#f7f7f7">'
        f"<strong>{html.escape(result.verdict.replace('_', ' ').upper())}</strong>: {html.escape(result.message)}</p>"
    )
    window = result.window
    run = [
        *context.facts(),
        *(
            []
            if window is None
            else [("window", f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC")]
        ),
    ]
    facts = reporting.facts_html(
        [
            ("drifted feature share", _share_text(result.drifted_share, context.share_threshold)),
            ("features compared", len(result.compared)),
            ("violations", len(result.violations)),
            ("rows checked", result.reading.get("rows", 0)),
            ("malformed lines", result.reading.get("malformed_lines", 0)),
        ]
    )
    parts = [reporting.facts_html(run)] if run else []
    parts += [banner, facts, reporting.section_html("Features", _feature_table(result))]
    plotted = [f for f in result.features if f.current_count]
    if plotted:
        parts.append(
            reporting.section_html("Baseline vs current distributions", _distribution_figure(result, plotted))
        )
    parts.append(
        reporting.section_html(
            "Violations",
            reporting.table_html(
                ["feature", "check", "description"],
                [[v.feature_name, v.constraint_check_type, v.description] for v in result.violations],
            )
            if result.violations
            else "<p>None.</p>",
        )
    )
    if result.quality is not None:
        merge = result.quality
        rows: list[list[object]] = [list(row) for row in merge.quality.metric_rows()]
        rows += [
            ["matched rows", merge.matched, ""],
            ["unmatched predictions", merge.unmatched_predictions, ""],
            ["unmatched labels", merge.unmatched_labels, ""],
            ["rows left out (label or prediction missing)", merge.quality.missing, ""],
        ]
        parts.append(
            reporting.section_html(
                f"Model quality ({merge.quality.problem_type})",
                reporting.table_html(["metric", "value", "standard deviation"], rows),
            )
        )
    examples = result.reading.get("malformed_examples") or []
    if examples or result.warnings:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in [*examples, *result.warnings])
        parts.append(reporting.section_html("Input problems", f"<ul>{items}</ul>"))
    return reporting.page_html("Data drift report", *parts)


def _share_text(share: float | None, threshold: float | None) -> str:
    """The share, and beside it the alarm threshold and what the alarm makes of it, when known."""
    if share is None:
        return "n/a (no feature compared)"
    if threshold is None:
        return f"{share:.0%}"
    return f"{share:.0%} vs alarm threshold {threshold:.0%}: {share_verdict(share, threshold)}"


def _feature_verdict(feature: FeatureResult, violated: list[str]) -> str:
    """``ok`` only for a feature that was compared and broke no constraint; otherwise each check it
    failed by name (a completeness or type violation is not ``ok`` just because the distance is small)."""
    named = ["drift" if check == BASELINE_DRIFT_CHECK else check for check in violated]
    if feature.drifted and "drift" not in named:
        named.insert(0, "drift")
    if named:
        return ", ".join(named)
    d = feature.distance
    return "ok" if d is not None and not math.isnan(d.value) else feature.note or "not compared"


def _feature_table(result: CheckResult) -> str:
    """One row per feature; a categorical feature the model sees as one-hot 0/1 columns is one row
    (as in the plots), with its value shares on both sides and the statistic of its worst column."""
    violated: dict[str, list[str]] = {}
    for v in result.violations:
        found = violated.setdefault(v.feature_name, [])
        if v.constraint_check_type not in found:
            found.append(v.constraint_check_type)
    baseline, current, groups, in_group = _grouping(result, result.features)
    by_name = {f.name: f for f in result.features}
    rows = []
    for f in result.features:
        category = in_group.get(f.name)
        if category is None:
            verdict = _feature_verdict(f, violated.get(f.name, []))
            rows.append(
                [*_distance_cells(f, f.name, f.inferred_type), verdict, "", f.baseline_count, f.current_count]
            )
        elif f.name == next(iter(groups[category].values())):  # the group's row, once
            members = groups[category]
            columns = [by_name[column] for column in members.values()]
            verdicts = {c.name: _feature_verdict(c, violated.get(c.name, [])) for c in columns}
            failed = [f"{name}: {verdict}" for name, verdict in verdicts.items() if verdict != "ok"]
            rows.append(
                [
                    *_distance_cells(
                        _worst(columns), category, f"categorical ({len(members)} one-hot columns)"
                    ),
                    "; ".join(failed) or "ok",
                    _share_changes(_one_hot_counts(members, baseline), _one_hot_counts(members, current)),
                    f.baseline_count,
                    f.current_count,
                ]
            )
    return reporting.table_html(
        [
            "feature",
            "type",
            "method",
            "distance",
            "threshold",
            # The plain L-infinity distance: for numbers the two-sample KS statistic. The robust
            # distance shrinks it by the sample sizes and reads 0 on small windows; this does not.
            "KS / L\u221e (raw)",
            "verdict",
            "category shares (baseline \u2192 current)",
            "baseline values",
            "current values",
        ],
        rows,
    )


def _distance_cells(feature: FeatureResult, name: str, kind: str) -> list[object]:
    """feature, type, method, distance, threshold and raw L-infinity cells of one table row."""
    d = feature.distance
    value, linf = (math.nan, math.nan) if d is None else (d.value, d.linf)
    method = "" if d is None else d.method if name == feature.name else f"{d.method} ({feature.name}, worst)"
    return [
        name,
        kind,
        method,
        "" if math.isnan(value) else round(value, 4),
        "" if d is None else d.threshold,
        "" if math.isnan(value) or math.isnan(linf) else round(linf, 4),
    ]


def _worst(columns: list[FeatureResult]) -> FeatureResult:
    """The column that decides a one-hot group's verdict: a drifted one first, then the largest
    distance (the one-hot columns are 0/1 numbers, compared by a numeric distance)."""

    def severity(column: FeatureResult) -> tuple[bool, float]:
        d = column.distance
        return column.drifted, -math.inf if d is None or math.isnan(d.value) else d.value

    return max(columns, key=severity)


def _share_changes(base_counts: Mapping[str, float], now_counts: Mapping[str, float]) -> str:
    """``F 31% → 20%, I 32% → 24%, ...``: each value's share of rows, baseline then current."""
    base_total, now_total = sum(base_counts.values()) or 1, sum(now_counts.values()) or 1
    values = [*base_counts, *(value for value in now_counts if value not in base_counts)]
    return ", ".join(
        f"{value} {base_counts.get(value, 0) / base_total:.0%} \u2192 {now_counts.get(value, 0) / now_total:.0%}"
        for value in values
    )


@dataclass(frozen=True)
class _Panel:
    """One plot: a feature, or a categorical feature drawn from its one-hot columns."""

    title: str
    drifted: bool
    draw: Callable[[Axes], None]


def _panels(result: CheckResult, features: list[FeatureResult]) -> list[_Panel]:
    baseline, current, groups, in_group = _grouping(result, features)
    panels: list[_Panel] = []
    for feature in features:
        base, now = baseline.get(feature.name), current.get(feature.name)
        if base is None or now is None:
            continue
        category = in_group.get(feature.name)
        if category is None:
            draw = partial(
                _plot_cdfs
                if base.numeric is not None and now.numeric is not None
                else _plot_feature_categories,
                base=base,
                now=now,
            )
            panels.append(_Panel(f"{feature.name}{_subtitle(feature)}", feature.drifted, draw))
        elif feature.name == next(iter(groups[category].values())):  # the group's panel, once
            members = groups[category]
            drifted = [f.name for f in features if f.name in members.values() and f.drifted]
            panels.append(
                _Panel(
                    f"{category} (one-hot)\n{'drift in ' + ', '.join(drifted) if drifted else 'no drift'}",
                    bool(drifted),
                    partial(
                        _plot_categories,
                        base_counts=_one_hot_counts(members, baseline),
                        now_counts=_one_hot_counts(members, current),
                    ),
                )
            )
    return panels


def _grouping(
    result: CheckResult, features: list[FeatureResult]
) -> tuple[
    dict[str, FeatureStatistics], dict[str, FeatureStatistics], dict[str, dict[str, str]], dict[str, str]
]:
    """Both sides' statistics by name, the one-hot groups shown as one feature, and column -> group."""
    baseline = result.baseline.statistics.by_name()
    current = result.statistics.by_name()
    groups = _one_hot_groups(features, baseline, current)
    in_group = {column: category for category, members in groups.items() for column in members.values()}
    return baseline, current, groups, in_group


def _one_hot_groups(
    features: list[FeatureResult],
    baseline: dict[str, FeatureStatistics],
    current: dict[str, FeatureStatistics],
) -> dict[str, dict[str, str]]:
    """The dataset schema's one-hot groups whose every column is here as numbers on both sides."""
    here = {f.name for f in features}

    def numeric(column: str) -> bool:
        return all(column in side and side[column].numeric is not None for side in (baseline, current))

    return {
        category: members
        for category, members in dataset.one_hot_columns().items()
        if all(column in here and numeric(column) for column in members.values())
    }


def _one_hot_counts(members: dict[str, str], stats: dict[str, FeatureStatistics]) -> dict[str, float]:
    """value -> rows with that value: the sum of its 0/1 column."""
    return {value: stats[column].numeric.sum for value, column in members.items()}  # type: ignore[union-attr]


def _subtitle(feature: FeatureResult) -> str:
    d = feature.distance
    return (
        ""
        if d is None or math.isnan(d.value)
        else f"\n{d.method} {d.value:{d.statistic.value_format}} vs {d.threshold:g}"
    )


def _distribution_figure(result: CheckResult, features: list[FeatureResult]) -> str:
    panels = _panels(result, features)
    if not panels:
        return "<p>No feature has values on both sides.</p>"
    columns = min(_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / _COLUMNS)
    # Not reporting.new_figure: its constrained layout draws the whole grid twice (seconds for a
    # dozen panels); fixed spacing draws once.
    figure = Figure(figsize=(3.3 * columns, 2.5 * rows))
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=0.06, right=0.98, top=1 - 0.45 / rows, bottom=0.25 / rows, wspace=0.3, hspace=0.75
    )
    grid = figure.add_gridspec(rows, columns)
    for position, panel in enumerate(panels):
        ax = figure.add_subplot(grid[divmod(position, columns)])
        panel.draw(ax)
        # y=1.0 is where matplotlib puts it anyway (no tick labels on top); saying so spares it
        # measuring every tick label of the panel to check, a sixth of the figure's drawing time.
        ax.set_title(panel.title, fontsize=9, color="#b00020" if panel.drifted else "#222", y=1.0)
        ax.tick_params(labelsize=7)
    names = ", ".join(panel.title.split("\n")[0] for panel in panels)
    return reporting.figure_html(figure, f"baseline vs current distribution of {names}")


def _plot_cdfs(ax: Axes, *, base: FeatureStatistics, now: FeatureStatistics) -> None:
    assert base.numeric is not None and now.numeric is not None
    for stats, label, color in ((base, "baseline", "#555"), (now, "current", "#1f77b4")):
        cdf = stats.numeric.sketch.cdf()  # type: ignore[union-attr]
        if cdf.points.size:
            # A few hundred steps draw the same picture as thousands, several times faster.
            keep = np.unique(
                np.linspace(0, cdf.points.size - 1, min(cdf.points.size, _PLOT_POINTS)).astype(int)
            )
            ax.step(
                cdf.points[keep], cdf.cumulative[keep], where="post", label=label, color=color, linewidth=1.2
            )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("CDF", fontsize=7)
    ax.legend(fontsize=7, loc="lower right")


def _plot_feature_categories(ax: Axes, *, base: FeatureStatistics, now: FeatureStatistics) -> None:
    _plot_categories(ax, base_counts=base.categories or {}, now_counts=now.categories or {})


def _plot_categories(ax: Axes, *, base_counts: Mapping[str, float], now_counts: Mapping[str, float]) -> None:
    """Each side's value shares, side by side per value (the 12 most frequent in the baseline)."""
    names = sorted(base_counts.keys() | now_counts.keys(), key=lambda v: -base_counts.get(v, 0))[:12]
    x = np.arange(len(names))
    for offset, counts, label, color in (
        (-0.2, base_counts, "baseline", "#555"),
        (0.2, now_counts, "current", "#1f77b4"),
    ):
        total = sum(counts.values()) or 1
        ax.bar(x + offset, [counts.get(n, 0) / total for n in names], width=0.4, label=label, color=color)
    ax.set_xticks(x, names, rotation=45 if len(names) > 5 else 0)
    ax.set_ylabel("share", fontsize=7)
    ax.legend(fontsize=7)
