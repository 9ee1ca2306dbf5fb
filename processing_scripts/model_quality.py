"""The monitoring job's model-quality part: captured predictions merged with labels that came later.

Data drift is not the only failure: when the target's relation to the features changes (concept
drift), the inputs look as before and only a comparison with ground truth shows it. Labels usually
arrive hours or days after the prediction (human review), so this part does not judge the drift
window: it judges the predictions captured in ``[window end - delay - hours, window end - delay)``
(Model Monitor's model-quality jobs have the same offsets, ``StartTimeOffset``/``EndTimeOffset``:
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-schedule.html), merged
with the ground-truth files uploaded from that window's start to the run's end under ``<ground truth>/<endpoint>/
yyyy/mm/dd/hh/`` (Model Monitor's layout, "the same path format as captured data":
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html).

The merge and the metrics are the drift engine's (:mod:`processing_scripts.drift.ground_truth`,
:mod:`processing_scripts.quality_metrics`, the evaluate job's): ids are the capture's
``inferenceId`` (else ``eventId``), matched row by row. Nothing is lost silently: matched,
unmatched predictions (no label yet), unmatched labels (another window's, or an unknown id) and
unreadable label lines are counted in ``model_quality/merge_summary.json``.

Published under the quality namespace with the ``Endpoint`` dimension, stamped with the run's window
end (the alarm judges each run once, as it does the drift metrics): the merged count, the configured
metrics of what matched and, when the served model package has an evaluation, that evaluation's value
of each metric under ``<evaluation prefix><metric>``. The quality alarm compares the two (see
infra/alarms.py), so its threshold follows the model that served the window.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from processing_scripts import job
from processing_scripts.drift import engine, metrics, sources
from processing_scripts.drift.capture import TimeWindow, list_capture_files
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage, StoredFile, join
from processing_scripts.quality_metrics import QualityInputError

log = logging.getLogger(__name__)

OUTPUT_FOLDER = "model_quality"  # below the job's report output, beside the drift files
STATISTICS_FILE = "statistics.json"  # Model Monitor's model-quality statistics shape
MERGE_SUMMARY_FILE = "merge_summary.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job's model-quality options (all from settings.model_quality in the pipeline)."""
    parser.add_argument(
        "--ground-truth-uri",
        default="",
        help="root of the labels; the job reads <root>/<endpoint>/yyyy/mm/dd/hh/*.jsonl (empty: no model quality)",
    )
    parser.add_argument("--quality-namespace", default="", help="CloudWatch namespace; empty: no metrics")
    parser.add_argument("--quality-endpoint-dimension", default="Endpoint")
    parser.add_argument("--quality-metrics", default="", help="comma-separated metric keys to publish")
    parser.add_argument("--merged-labels-metric", default="merged_labels")
    parser.add_argument("--evaluation-metric-prefix", default="evaluation_")
    parser.add_argument("--label-delay-hours", type=float, default=0.0)
    parser.add_argument("--quality-window-hours", type=float, default=1.0)


@dataclass(frozen=True)
class QualityCheck:
    """One run's merge: the window judged, its counts and metrics, and the evaluation reference."""

    window: TimeWindow
    label_files: int
    merged: int
    unmatched_predictions: int
    unmatched_labels: int
    unreadable_labels: int
    metrics: dict[str, float]  # scalar metric values (None-valued ones left out)
    document: dict[str, Any]  # the merge's JSON (quality_metrics' shape plus the counts)
    reference: dict[str, float]  # the served package's evaluation values, when known

    def summary(self, delay_hours: float) -> dict[str, Any]:
        return {
            "version": 1,
            "window": self.window.to_json(),
            "label_delay_hours": delay_hours,
            "label_files": self.label_files,
            "merged": self.merged,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_labels": self.unmatched_labels,
            "unreadable_labels": self.unreadable_labels,
            "evaluation_reference": self.reference,
            "model_quality": self.document,
        }

    def statistics(self) -> dict[str, Any]:
        """Model Monitor's model-quality ``statistics.json``: the item count and the metrics."""
        metrics_key = {k: v for k, v in self.document.items() if k.endswith("_metrics")}
        return {
            "version": 0.0,
            "dataset": {"item_count": self.merged, "evaluation_time": self.window.end.isoformat()},
            **metrics_key,
        }


def quality_window(run_end: datetime, delay_hours: float, hours: float) -> TimeWindow:
    """The predictions judged by the run ending at ``run_end``: those old enough to have labels."""
    if delay_hours < 0:
        raise job.JobInputError(f"--label-delay-hours {delay_hours:g}: must be 0 or more")
    try:
        return TimeWindow.ending(run_end - timedelta(hours=delay_hours), hours)
    except (DriftInputError, OverflowError) as err:
        raise job.JobInputError(
            f"--quality-window-hours {hours:g} --label-delay-hours {delay_hours:g}: {err}"
        ) from err


def label_files(storage: Storage, uri: str, window: TimeWindow, run_end: datetime) -> list[StoredFile]:
    """Ground-truth JSON Lines under ``uri`` uploaded from the judged window's start to the run's
    end: labels come after their predictions, and by the run they have had the delay to arrive.

    Only those hour folders are listed (months of labels cost nothing to skip), and a later upload
    is not read, so a run replayed for a past window end reads what had arrived by then.
    """
    return list_capture_files(storage, uri, TimeWindow(window.start, run_end))


def evaluation_reference(sagemaker: Any, storage: Storage, package: str | None) -> dict[str, float]:
    """The scalar metrics of the package's registered evaluation (``ModelMetrics.ModelQuality``),
    empty when there is no package or no evaluation: the alarm then has no reference and stays quiet."""
    if not package:
        return {}
    described = sagemaker.describe_model_package(ModelPackageName=package)
    uri = (((described.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}).get(
        "S3Uri"
    )
    if not uri:
        return {}
    try:
        evaluation = json.loads(storage.read_bytes(uri))
    except ValueError as err:
        raise job.JobInputError(f"the evaluation of {package} at {uri} is not JSON: {err}") from err
    return scalar_metrics(evaluation)


def check(
    baseline: engine.Baseline,
    storage: Storage,
    *,
    capture_uri: str,
    truth_uri: str,
    window: TimeWindow,
    run_end: datetime,
    problem_type: str,
) -> tuple[list[StoredFile], engine.CheckResult]:
    """Merge the window's captured predictions with the labels that arrived since it began."""
    files = label_files(storage, truth_uri, window, run_end)
    source = sources.open_source(storage, capture_uri, window=window)
    # The engine's check reads the window's capture (and its predictions) the one way it is read
    # everywhere; only its model quality is used here.
    return files, engine.run_check(baseline, source, ground_truth=files, problem_type=problem_type)


def run(
    args: argparse.Namespace,
    *,
    baseline: engine.Baseline,
    storage: Storage,
    clients: Any,
    package: str | None,
    run_end: datetime,
    out_dir: Path,
) -> QualityCheck | None:
    """The model-quality part of a monitoring run: files in ``out_dir/model_quality``, metrics
    published; None (and nothing done) without ``--ground-truth-uri``."""
    if not args.ground_truth_uri:
        return None
    window = quality_window(run_end, args.label_delay_hours, args.quality_window_hours)
    truth_uri = join(args.ground_truth_uri, args.endpoint_name)
    try:
        files, result = check(
            baseline, storage, capture_uri=args.capture_uri, truth_uri=truth_uri, window=window, run_end=run_end,
            problem_type=args.problem_type,
        )  # fmt: skip
    except (DriftInputError, QualityInputError, ClientError) as err:
        raise job.JobInputError(
            f"model quality for {window.start:%Y-%m-%d %H:%M}-{window.end:%H:%M} UTC: {err}"
        ) from err
    try:
        reference = evaluation_reference(clients.sagemaker, storage, package)
    except (DriftInputError, ClientError) as err:
        raise job.JobInputError(f"the evaluation of {package}, the quality alarm's reference: {err}") from err
    quality = _from_result(window, files, result, reference)
    folder = out_dir / OUTPUT_FOLDER
    job.write_all_or_nothing(
        {
            folder / STATISTICS_FILE: json.dumps(quality.statistics(), indent=2),
            folder / MERGE_SUMMARY_FILE: json.dumps(quality.summary(args.label_delay_hours), indent=2),
        }
    )
    if args.quality_namespace:
        data = metric_data(args, quality, run_end)
        metrics.publish(clients.cloudwatch, args.quality_namespace, data)
    log.info(
        "model quality %s to %s: %d merged, %d predictions without a label yet, %d labels without a "
        "prediction, %d unreadable label lines (%s)",
        window.start.isoformat(), window.end.isoformat(), quality.merged, quality.unmatched_predictions,
        quality.unmatched_labels, quality.unreadable_labels,
        ", ".join(f"{k}={v:.4g}" for k, v in quality.metrics.items()) or "no metrics",
    )  # fmt: skip
    return quality


def metric_data(args: argparse.Namespace, quality: QualityCheck, timestamp: datetime) -> list[dict[str, Any]]:
    """The merged count always; each configured metric and its evaluation reference when known."""
    dimensions = {args.quality_endpoint_dimension: args.endpoint_name}
    data = [metrics.datum(args.merged_labels_metric, quality.merged, dimensions, timestamp, "Count")]
    for name in (n for n in args.quality_metrics.split(",") if n):
        if name in quality.metrics:
            data.append(metrics.datum(name, quality.metrics[name], dimensions, timestamp))
        if name in quality.reference:
            data.append(
                metrics.datum(
                    f"{args.evaluation_metric_prefix}{name}", quality.reference[name], dimensions, timestamp
                )
            )
    return data


def _from_result(
    window: TimeWindow, files: list[StoredFile], result: engine.CheckResult, reference: dict[str, float]
) -> QualityCheck:
    merge = result.quality
    # No label file: every prediction read (one per row) is still waiting for its label.
    predictions = result.reading["rows"] if merge is None else merge.unmatched_predictions
    document = {} if merge is None else merge.to_json()
    return QualityCheck(
        window=window,
        label_files=len(files),
        merged=0 if merge is None else merge.matched,
        unmatched_predictions=predictions,
        unmatched_labels=0 if merge is None else merge.unmatched_labels,
        unreadable_labels=_unreadable_labels(result.reading),
        metrics=scalar_metrics(document),
        document=document,
        reference=reference,
    )


def _unreadable_labels(reading: dict[str, Any]) -> int:
    """Ground-truth lines the reader counted as bad (their reasons name the ground truth)."""
    return sum(n for reason, n in reading["malformed_by_reason"].items() if "ground" in reason)


def scalar_metrics(document: dict[str, Any]) -> dict[str, float]:
    """``{"<problem>_metrics": {"rmse": {"value": v}, ...}}`` -> ``{"rmse": v, ...}`` (nulls left out)."""
    found: dict[str, float] = {}
    for key, group in document.items():
        if key.endswith("_metrics") and isinstance(group, dict):
            for name, entry in group.items():
                if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
                    found[name] = float(entry["value"])
    return found
