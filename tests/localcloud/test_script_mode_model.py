"""Bring your own model: the synthesized training pipeline with a scikit-learn script-mode model
(examples/credit/model/train.py) on a synthetic binary-classification dataset, run locally:
trained in script mode, evaluated through the model's own serving hooks (AUC gate), registered with
the scikit-learn serving image, deployed, and answered by the local endpoint with the same hooks.

Preprocessing is the abalone dataset's, so it is stubbed: the splits and schema.json it would write
for a binary dataset are seeded instead (what ``run-local --seed/--stub`` does). IAM is enforced
with the deployed templates' policies (the roles' grants do not depend on the model): every call of
the jobs, the deploy function and the endpoint is allowed.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from localcloud import ExecutionRecord, ExecutionStatus, LocalAws, StepStatus
from localcloud.cloud import LocalCloud
from localcloud.sagemaker.endpoint import RuntimeClient
from pipelines import settings as settings_module
from pipelines.model_code import source_archive
from pipelines.settings import JOB_ROLE, MODEL_ROLE
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


def _seed_splits(aws: LocalAws) -> dict[str, object]:
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
def test_a_script_mode_model_trains_evaluates_registers_deploys_and_serves(deployed_artifacts, tmp_path):
    from pipelines.synth import render_pipelines

    name = SETTINGS.training_pipeline_name
    definition = json.loads(render_pipelines(SETTINGS)[name])
    cloud = LocalCloud(SETTINGS, {name: definition}, cdk_out=deployed_artifacts.cdk_out, runs_dir=tmp_path)
    with cloud:
        aws = cloud.aws
        record = cloud.run(name, {"GitCommit": "byom"}, stubs={"Preprocess": _seed_splits(aws)})
        _check_run(aws, record)
        with cloud.endpoint() as endpoint:
            assert endpoint.reconcile() is not None
            answer = RuntimeClient(endpoint.url).invoke_endpoint(
                EndpointName=SETTINGS.endpoint_name, ContentType="text/csv", Body=b"2,1,0,0\n-2,-1,0,0\n"
            )
            assert endpoint.flush()  # the request was captured
        assert cloud.access.log.denied == []
        code_readers = {
            call.principal
            for call in cloud.access.log.calls
            if call.action == "s3:GetObject" and "/code/sourcedir-" in call.resource
        }
    # the training job, the evaluate job and the endpoint each read the code as their own role
    assert code_readers == {SETTINGS.role_arn(JOB_ROLE), SETTINGS.role_arn(MODEL_ROLE)}
    high, low = (float(line) for line in answer["Body"].decode().split())
    assert 0.5 < high <= 1 and 0 <= low < 0.5  # predict_fn's probability of class 1, one per line


def _check_run(aws: LocalAws, record: ExecutionRecord) -> None:
    """Trained in the scikit-learn image, gated on AUC, registered for the scikit-learn serving image."""
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
