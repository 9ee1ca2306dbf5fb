"""Bring your own model: the synthesized training pipeline with a scikit-learn script-mode model
(examples/credit/model/train.py) on a synthetic binary-classification dataset, run locally:
trained in script mode, evaluated through the model's own serving hooks (AUC gate), registered with
the scikit-learn serving image, deployed, and answered by the local endpoint with the same hooks.

Preprocessing is the abalone dataset's, so it is stubbed: the splits and schema.json it would write
for a binary dataset are seeded instead (what ``run-local --seed/--stub`` does).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from localcloud import ExecutionStatus, LocalAws, LocalPipelineRunner, StepStatus
from localcloud.sagemaker.endpoint import LocalEndpoint, RuntimeClient
from pipelines import settings as settings_module
from pipelines.model_code import source_archive
from processing_scripts import s3_uri

BASE = settings_module.load("dev")
SETTINGS = dataclasses.replace(
    BASE,
    training=dataclasses.replace(
        BASE.training,
        script=settings_module.ScriptModel(
            source_dir="examples/credit/model", hyperparameters={"max_iter": "60", "learning_rate": "0.1"}
        ),
    ),
    quality_gate=settings_module.QualityGate(
        metric_path="binary_classification_metrics.auc.value",
        comparison="GreaterThanOrEqualTo",
        threshold=0.8,
    ),
)
FEATURES = ["x1", "x2", "x3", "x4"]
SPLITS = {"train": 600, "validation": 150, "test": 250}


def _binary_rows(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Label first, then four features; the label depends on two of them (an AUC near 0.9)."""
    features = rng.normal(size=(rows, len(FEATURES)))
    label = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(0, 0.5, rows) > 0).astype(float)
    return np.column_stack([label, features])


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(SETTINGS) as local_aws:
        yield local_aws


def _seed_splits(aws: LocalAws, tmp_path: Path) -> dict[str, str]:
    """The splits and schema in the emulator's S3; the Preprocess stub pointing at them."""
    rng = np.random.default_rng(7)
    bucket = SETTINGS.bucket_name("artifacts")
    uris = {}
    for split, rows in SPLITS.items():
        body = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in _binary_rows(rows, rng))
        aws.clients.s3.put_object(Bucket=bucket, Key=f"seeded/{split}/part-algo-1.csv", Body=body.encode())
        uris[split] = f"s3://{bucket}/seeded/{split}"
    schema = {"label": "default", "features": FEATURES, "problem_type": "binary_classification"}
    aws.clients.s3.put_object(
        Bucket=bucket, Key="seeded/schema/schema.json", Body=json.dumps(schema).encode()
    )
    uris["schema"] = f"s3://{bucket}/seeded/schema"
    return {
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": name, "S3Output": {"S3Uri": uri}} for name, uri in uris.items()]
        },
    }


@pytest.mark.slow
def test_a_script_mode_model_trains_evaluates_registers_deploys_and_serves(aws, tmp_path):
    from pipelines.synth import render_pipelines

    name = SETTINGS.training_pipeline_name
    definition = json.loads(render_pipelines(SETTINGS)[name])
    runner = LocalPipelineRunner(SETTINGS, aws, tmp_path / "runs")

    record = runner.run(
        definition,
        {"GitCommit": "byom"},
        pipeline_name=name,
        stubs={"Preprocess": _seed_splits(aws, tmp_path)},
    )

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    assert record.steps["QualityGateFailed"].status == StepStatus.SKIPPED
    train = record.steps["Train"].properties
    assert train["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert train["HyperParameters"]["sagemaker_submit_directory"] == source_archive(SETTINGS)[0]
    sagemaker, s3 = aws.clients.sagemaker, aws.clients.s3
    package = sagemaker.describe_model_package(ModelPackageName=record.model_package_arn)
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("/sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == source_archive(SETTINGS)[0]
    bucket, key = s3_uri.split(package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"])
    metrics = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())[
        "binary_classification_metrics"
    ]
    assert metrics["auc"]["value"] >= SETTINGS.quality_gate.threshold
    for metric in (
        "accuracy",
        "precision",
        "recall",
        "f1",
        "confusion_matrix",
        "receiver_operating_characteristic_curve",
    ):
        assert metric in metrics
    assert sum(sum(row.values()) for row in metrics["confusion_matrix"].values()) == SPLITS["test"]

    with LocalEndpoint(SETTINGS, aws.clients) as endpoint:
        assert endpoint.reconcile() is not None
        answer = RuntimeClient(endpoint.url).invoke_endpoint(
            EndpointName=SETTINGS.endpoint_name, ContentType="text/csv", Body=b"2,1,0,0\n-2,-1,0,0\n"
        )
        endpoint.flush()
    high, low = (float(line) for line in answer["Body"].decode().split())
    assert 0.5 < high <= 1 and 0 <= low < 0.5  # predict_fn's probability of class 1, one per line
