"""What a person looks at after a run, one click away: ``file://`` links to every report and the
metric against the gate that decides.

The evaluation report of a local run lives in the step cache
(``<runs>/cache/<pipeline>/Evaluate/<key>/objects/<bucket>/.../<execution id>/Evaluate/...``), which
nobody finds by hand; the drift report sits in a folder the run printed. ``demo``, ``run-local`` and
``monitor check`` end with these lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.cli.context import console
from pipelines.parameters import QUALITY_THRESHOLD
from pipelines.settings import Settings
from processing_scripts import contract, quality_gate
from processing_scripts.drift.report_context import share_verdict


def show_runs(
    settings: Settings, runs_dir: Path, records: Iterable[Any], downloaded: Path | None = None
) -> None:
    """The reports of local executions, each judged with that execution's parameters.

    A report is found in the step cache (S3 keys carry the id of the execution that wrote them, so a
    step served from the cache is found under the id of the execution it came from) or, for reports
    a story downloaded, under ``downloaded/<execution id>/``."""
    from localcloud.sagemaker.executor.caching import OBJECTS_DIR  # localcloud loads only when asked

    for record in records:
        ids = {record.execution_id} | {
            step.cache_hit.source_execution_arn.rsplit("/", 1)[-1]
            for step in record.steps.values()
            if step.cache_hit
        }
        cached = (runs_dir / "cache" / record.pipeline_name).glob(
            f"*/*/{OBJECTS_DIR}/**/{contract.REPORT_FILE}"
        )
        reports = sorted(p for p in cached if ids & set(p.parts))
        if downloaded is not None:
            reports += sorted((downloaded / record.execution_id).glob(f"**/{contract.REPORT_FILE}"))
        show(settings, reports, record.parameters)


def quality_gate_line(settings: Settings, evaluation_report: Path, parameters: dict[str, Any]) -> str | None:
    """The gate's metric from the ``evaluation.json`` next to the evaluation report, judged against
    the ``QualityThreshold`` the execution ran with; None when either is missing."""
    evaluation = evaluation_report.with_name(contract.Evaluate.EVALUATION_FILE)
    threshold = parameters.get(QUALITY_THRESHOLD)
    gate = settings.quality_gate
    if not evaluation.is_file() or threshold is None or gate.comparison not in quality_gate.COMPARISONS:
        return None
    value = quality_gate.metric_at(json.loads(evaluation.read_text()), gate.metric_path)
    if value is None:
        return None
    return quality_gate.verdict(gate.metric_path, value, gate.comparison, float(threshold), QUALITY_THRESHOLD)


def drift_gate_line(settings: Settings, share: float | None) -> str | None:
    """The drifted-feature share against the retrain alarm's threshold."""
    if share is None:
        return None
    threshold = settings.alarms.drift_share_threshold
    return f"drifted feature share {share:.2f} vs alarm threshold {threshold:g}: {share_verdict(share, threshold)}"


def show(settings: Settings, reports: Iterable[Path], parameters: dict[str, Any] | None = None) -> None:
    """One line per report: what it is, its ``file://`` link, then the number it is judged by."""
    for report in reports:
        evaluation = report.with_name(contract.Evaluate.EVALUATION_FILE)
        summary = report.with_name(contract.DRIFT_SUMMARY_FILE)
        if evaluation.is_file():
            kind, gate = "evaluation report", quality_gate_line(settings, report, parameters or {})
        elif summary.is_file():
            share = json.loads(summary.read_text()).get("drifted_feature_share")
            kind, gate = "drift report", drift_gate_line(settings, share)
        else:
            kind, gate = "report", None
        console.print(f"{kind}: {report.resolve().as_uri()}", highlight=False, soft_wrap=True)
        if gate:
            console.print(f"  {gate}", highlight=False)
