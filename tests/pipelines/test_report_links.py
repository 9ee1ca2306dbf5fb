"""The end of a run names every report as a file:// link, with the number the gate judges."""

from __future__ import annotations

import json
from pathlib import Path

from localcloud.sagemaker.executor.caching import OBJECTS_DIR
from localcloud.sagemaker.executor.records import CacheHit, ExecutionRecord, StepRecord, StepStatus
from pipelines import settings as settings_module
from pipelines.cli import report_links
from pipelines.parameters import QUALITY_THRESHOLD
from processing_scripts import contract

SETTINGS = settings_module.load("dev")
TRAINING = SETTINGS.training_pipeline_name


def evaluation_output(runs: Path, execution_id: str, rmse: float) -> Path:
    """Where the step cache keeps the Evaluate step's S3 output of ``execution_id``."""
    folder = (
        runs / "cache" / TRAINING / "Evaluate" / "3c85ef4c" / OBJECTS_DIR / SETTINGS.bucket_name("artifacts")
        / "pipelines" / TRAINING / execution_id / "Evaluate" / "evaluation"
    )  # fmt: skip
    folder.mkdir(parents=True)
    (folder / contract.REPORT_FILE).write_text("<html></html>")
    evaluation = {"regression_metrics": {"rmse": {"value": rmse, "standard_deviation": 0.1}}}
    (folder / contract.Evaluate.EVALUATION_FILE).write_text(json.dumps(evaluation))
    return folder / contract.REPORT_FILE


def record(
    runs: Path, execution_id: str, threshold: float, cached_from: str | None = None
) -> ExecutionRecord:
    run = ExecutionRecord(TRAINING, execution_id, f"{SETTINGS.pipeline_arn(TRAINING)}/execution/{execution_id}",
                          runs / execution_id, {QUALITY_THRESHOLD: threshold})  # fmt: skip
    hit = (
        CacheHit(f"{SETTINGS.pipeline_arn(TRAINING)}/execution/{cached_from}", "k", "t")
        if cached_from
        else None
    )
    run.steps["Evaluate"] = StepRecord("Evaluate", "Processing", StepStatus.SUCCEEDED, cache_hit=hit)
    return run


def test_the_evaluation_report_and_the_gate_of_each_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    first = evaluation_output(runs, "run1", rmse=2.339)
    evaluation_output(runs, "other", rmse=9.0)  # another execution's: not shown
    report_links.show_runs(
        SETTINGS, runs, [record(runs, "run1", 3.0), record(runs, "run2", 2.0, cached_from="run1")]
    )
    assert capsys.readouterr().out.splitlines() == [
        f"evaluation report: {first.resolve().as_uri()}",
        "  regression_metrics.rmse.value 2.339 <= 3 (QualityThreshold): passes the gate",
        f"evaluation report: {first.resolve().as_uri()}",  # run2 reused run1's result from the cache
        "  regression_metrics.rmse.value 2.339 <= 2 (QualityThreshold): fails the gate",
    ]


def test_a_drift_report_with_the_share_against_the_alarm(tmp_path, capsys):
    folder = tmp_path / "reports" / "mon1"
    folder.mkdir(parents=True)
    (folder / contract.REPORT_FILE).write_text("<html></html>")
    (folder / contract.DRIFT_SUMMARY_FILE).write_text(json.dumps({"drifted_feature_share": 0.375}))
    threshold = SETTINGS.alarms.drift_share_threshold
    report_links.show(SETTINGS, [folder / contract.REPORT_FILE])
    assert capsys.readouterr().out.splitlines() == [
        f"drift report: {(folder / contract.REPORT_FILE).resolve().as_uri()}",
        f"  drifted feature share 0.38 vs alarm threshold {threshold:g}: the retrain alarm would fire",
    ]
