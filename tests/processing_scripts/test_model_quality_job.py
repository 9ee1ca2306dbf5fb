"""The monitoring job's model-quality part as a job runs it: capture and late labels in S3 (moto),
the merge over the delayed window, Model Monitor's files and the CloudWatch metrics read back."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import numpy as np
import pytest

from pipelines import settings as settings_module
from processing_scripts import contract, model_quality
from processing_scripts.drift.capture import hour_folder
from processing_scripts.drift.storage import Storage
from tests.pipelines.cli_runner import run
from tests.processing_scripts import test_baseline_monitor as monitor_job
from tests.processing_scripts.conftest import exit_message, sandbox_path
from tests.processing_scripts.test_baseline_monitor import (
    DEPLOYED_KEY,
    END,
    PROD_ENDPOINT,
    SETTINGS,
    register,
    run_monitor,
    run_stage_monitor,
    split_rows,
)

# The monitoring job's fixtures: the baseline step's real output and moto with the buckets.
baseline_dir = monitor_job.baseline_dir
aws = monitor_job.aws

QUALITY = SETTINGS.model_quality
TRUTH_ROOT = SETTINGS.ground_truth_uri
BASELINE = f"s3://{SETTINGS.bucket_name('artifacts')}/baseline"
QUALITY_OPTIONS = (
    "--ground-truth-uri", TRUTH_ROOT,
    "--quality-namespace", QUALITY.metric_namespace, "--quality-endpoint-dimension", QUALITY.endpoint_dimension,
    "--quality-metrics", "rmse,mae,r2", "--merged-labels-metric", QUALITY.merged_labels_metric,
    "--label-delay-hours", "1", "--quality-window-hours", "1", "--no-report",
)  # fmt: skip
QUALITY_ARGS = ("--baseline-uri", BASELINE, *QUALITY_OPTIONS)


def _capture(
    s3,
    rows: list[list[str]],
    predictions: np.ndarray,
    at,
    prefix: str,
    *,
    endpoint: str = SETTINGS.endpoint_name,
) -> None:
    """SageMaker capture lines whose caller sent an InferenceId (what labels are keyed by)."""
    lines = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": ",".join(row), "encoding": "CSV"},
                    "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": f"{p:.6f}", "encoding": "CSV"},
                },
                "eventMetadata": {"eventId": f"event-{prefix}{i}", "inferenceId": f"{prefix}{i}", "inferenceTime": at.isoformat()},
                "eventVersion": "0",
            }
        )
        for i, (row, p) in enumerate(zip(rows, predictions, strict=True))
    ]  # fmt: skip
    key = f"datacapture/{endpoint}/AllTraffic/{hour_folder(at)}/{prefix}.jsonl"
    s3.put_object(Bucket=SETTINGS.bucket_name("capture"), Key=key, Body="\n".join(lines).encode())


def _labels(s3, labels: dict[str, float], at, name: str) -> None:
    lines = [
        json.dumps(
            {"groundTruthData": {"data": f"{y:.6f}", "encoding": "CSV"}, "eventMetadata": {"eventId": i}, "eventVersion": "0"}
        )
        for i, y in labels.items()
    ]  # fmt: skip
    key = f"{QUALITY.ground_truth_prefix}/{SETTINGS.endpoint_name}/{hour_folder(at)}/{name}"
    s3.put_object(Bucket=SETTINGS.bucket_name("data"), Key=key, Body="\n".join(lines).encode())


def _metric(name: str, endpoint: str = SETTINGS.endpoint_name) -> list[float]:
    cloudwatch = boto3.client("cloudwatch", region_name=SETTINGS.region)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": QUALITY.metric_namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": QUALITY.endpoint_dimension, "Value": endpoint}],
                    },
                    "Period": 3600,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=END - timedelta(hours=3),
        EndTime=END + timedelta(hours=1),
    )
    return answer["MetricDataResults"][0]["Values"]


@pytest.mark.slow  # a monitoring job run on moto: ~5 s on the shared machine
def test_late_labels_merge_with_the_delayed_windows_predictions_and_every_row_is_counted(
    aws, abalone_splits, tmp_path
):
    aws.create_bucket(Bucket=SETTINGS.bucket_name("data"))
    rng = np.random.default_rng(0)
    rows = split_rows(abalone_splits, 50)
    predictions = rng.normal(10, 2, 50)
    truth = predictions + rng.normal(0, 1.5, 50)
    judged = END - timedelta(hours=1, minutes=30)  # in [END - 2h, END - 1h): the delayed window
    _capture(aws, rows, predictions, judged, "q")
    _capture(aws, rows, predictions, END - timedelta(minutes=10), "now")  # too recent to judge
    # 40 of the 50 labelled, uploaded in the next hour; 5 labels for requests of no window here.
    labelled = {f"q{i}": float(y) for i, y in enumerate(truth[:40])}
    _labels(
        aws, labelled | {f"elsewhere-{i}": 1.0 for i in range(5)}, END - timedelta(minutes=50), "late.jsonl"
    )
    unreadable = {"groundTruthData": {"data": "n/a", "encoding": "CSV"}, "eventMetadata": {"eventId": "q45"}}
    key = f"{QUALITY.ground_truth_prefix}/{SETTINGS.endpoint_name}/{hour_folder(END - timedelta(minutes=40))}/bad.jsonl"
    aws.put_object(Bucket=SETTINGS.bucket_name("data"), Key=key, Body=json.dumps(unreadable).encode())
    _labels(aws, {"q0": 99.0}, END - timedelta(hours=5), "older.jsonl")  # before the window: never read
    _labels(
        aws, {"q1": 99.0}, END + timedelta(minutes=5), "after-the-run.jsonl"
    )  # a replay reads what had arrived
    assert run_monitor(tmp_path, *QUALITY_ARGS) == 0

    folder = sandbox_path(tmp_path, contract.Monitor.REPORT) / model_quality.OUTPUT_FOLDER
    summary = json.loads((folder / model_quality.MERGE_SUMMARY_FILE).read_text())
    assert summary["window"] == {
        "start": (END - timedelta(hours=2)).isoformat(),
        "end": (END - timedelta(hours=1)).isoformat(),
    }
    assert (summary["label_files"], summary["merged"], summary["unreadable_labels"]) == (2, 40, 1)
    assert (summary["unmatched_predictions"], summary["unmatched_labels"]) == (10, 5)
    rmse = float(np.sqrt(np.mean(np.square(predictions[:40].round(6) - truth[:40].round(6)))))
    statistics = json.loads((folder / model_quality.STATISTICS_FILE).read_text())
    assert statistics["dataset"]["item_count"] == 40
    assert statistics["regression_metrics"]["rmse"]["value"] == pytest.approx(rmse)
    assert _metric("rmse") == [pytest.approx(rmse)]
    assert _metric(QUALITY.merged_labels_metric) == [40.0]
    assert (
        _metric(f"{QUALITY.evaluation_metric_prefix}rmse") == []
    )  # --baseline-uri: no package, no reference


@pytest.mark.slow
def test_no_labels_yet_publishes_a_zero_merged_count_and_no_quality(aws, abalone_splits, tmp_path):
    aws.create_bucket(Bucket=SETTINGS.bucket_name("data"))
    _capture(aws, split_rows(abalone_splits, 20), np.full(20, 9.0), END - timedelta(hours=1, minutes=30), "q")
    assert run_monitor(tmp_path, *QUALITY_ARGS) == 0
    folder = sandbox_path(tmp_path, contract.Monitor.REPORT) / model_quality.OUTPUT_FOLDER
    summary = json.loads((folder / model_quality.MERGE_SUMMARY_FILE).read_text())
    assert (summary["merged"], summary["unmatched_predictions"], summary["label_files"]) == (0, 20, 0)
    assert _metric(QUALITY.merged_labels_metric) == [0.0]
    assert _metric("rmse") == []


def test_a_negative_label_delay_is_one_line(aws, tmp_path):
    args = [
        a if a != "1" or i != QUALITY_ARGS.index("--label-delay-hours") + 1 else "-1"
        for i, a in enumerate(QUALITY_ARGS)
    ]
    assert run_monitor(tmp_path, *args) == 1
    assert exit_message(tmp_path) == "--label-delay-hours -1: must be 0 or more"


class _Registry:
    """describe_model_package as SageMaker answers it for a package registered with ModelMetrics."""

    def __init__(self, statistics_uri: str | None) -> None:
        self.statistics_uri = statistics_uri

    def describe_model_package(self, ModelPackageName: str) -> dict[str, object]:  # noqa: N803
        if self.statistics_uri is None:
            return {"ModelPackageArn": ModelPackageName}
        source = {"ContentType": "application/json", "S3Uri": self.statistics_uri}
        return {"ModelPackageArn": ModelPackageName, "ModelMetrics": {"ModelQuality": {"Statistics": source}}}


def test_the_reference_is_the_served_packages_registered_evaluation(tmp_path):
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(
        json.dumps(
            {"regression_metrics": {"rmse": {"value": 2.1, "standard_deviation": 0.1}, "r2": {"value": None}}}
        )
    )
    storage = Storage()
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/models/3"
    assert model_quality.evaluation_reference(_Registry(str(evaluation)), storage, package) == {"rmse": 2.1}
    assert (
        model_quality.evaluation_reference(_Registry(None), storage, package) == {}
    )  # no evaluation: no reference
    assert (
        model_quality.evaluation_reference(_Registry(str(evaluation)), storage, None) == {}
    )  # --baseline-uri given


@pytest.mark.slow  # a monitoring job run on moto: ~5 s on the shared machine
def test_prod_quality_is_judged_against_the_version_the_registry_records_in_prod(
    aws, abalone_splits, tmp_path, capsys, monkeypatch
):
    """Prod's endpoint is in the prod account: the run for Stage=prod takes the served version (and
    so the alarm's reference) from the registry's prod-deployed-at records, not DescribeEndpoint;
    the labels are uploaded as a user does (``labels upload --stage prod``) and the metrics carry
    the prod endpoint, which the prod quality alarm watches."""
    monkeypatch.setenv(settings_module.STAGES_ENV, "staging:111111111111,prod:222222222222")
    aws.create_bucket(Bucket=SETTINGS.bucket_name("data"))
    sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
    sagemaker.create_model_package_group(ModelPackageGroupName=SETTINGS.model_package_group)
    artifacts = f"s3://{SETTINGS.bucket_name('artifacts')}"
    for version, rmse in (("v1", 2.0), ("v2", 1.0)):
        body = json.dumps({"regression_metrics": {"rmse": {"value": rmse, "standard_deviation": 0.1}}})
        aws.put_object(Bucket=SETTINGS.bucket_name("artifacts"), Key=f"{version}/evaluation.json", Body=body)
    # prod serves v1 (recorded there); v2 is newer and in staging only: its evaluation is not prod's.
    register(
        sagemaker,
        f"{artifacts}/baseline",
        {DEPLOYED_KEY: "2026-02-28T09:00:00+00:00"},
        f"{artifacts}/v1/evaluation.json",
    )
    register(sagemaker, f"{artifacts}/baseline", {"staging-deployed-at": "2026-03-01T08:00:00+00:00"}, f"{artifacts}/v2/evaluation.json")  # fmt: skip
    rng = np.random.default_rng(1)
    predictions = rng.normal(10, 2, 50)
    truth = predictions + rng.normal(0, 3, 50)
    _capture(
        aws,
        split_rows(abalone_splits, 50),
        predictions,
        END - timedelta(hours=1, minutes=30),
        "p",
        endpoint=PROD_ENDPOINT,
    )
    labels = tmp_path / "reviewed.csv"
    labels.write_text("inference_id,label\n" + "".join(f"p{i},{y:.6f}\n" for i, y in enumerate(truth[:40])))
    uploaded_at = (END - timedelta(minutes=50)).isoformat()
    code, _, err = run(capsys, "labels", "upload", str(labels), "--stage", "prod", "--at", uploaded_at)
    assert code == 0, err

    assert run_stage_monitor(tmp_path / "job", *QUALITY_OPTIONS) == 0
    folder = sandbox_path(tmp_path / "job", contract.Monitor.REPORT) / model_quality.OUTPUT_FOLDER
    summary = json.loads((folder / model_quality.MERGE_SUMMARY_FILE).read_text())
    assert (summary["merged"], summary["unmatched_predictions"], summary["evaluation_reference"]) == (
        40,
        10,
        {"rmse": 2.0},
    )
    rmse = float(np.sqrt(np.mean(np.square(predictions[:40].round(6) - truth[:40].round(6)))))
    assert _metric("rmse", PROD_ENDPOINT) == [pytest.approx(rmse)]
    assert _metric(f"{QUALITY.evaluation_metric_prefix}rmse", PROD_ENDPOINT) == [2.0]  # v1's, not v2's 1.0
    assert _metric(QUALITY.merged_labels_metric, PROD_ENDPOINT) == [40.0]
    assert _metric(QUALITY.merged_labels_metric) == []  # nothing under the build endpoint
