"""Prod's model quality closes the loop in the build account, in the local cloud with IAM enforced
from the three-account templates: labels uploaded with ``labels upload --stage prod`` are merged by
the monitoring run the prod schedule starts, judged against the evaluation of the version the
registry records as deployed to prod, and the prod quality alarm starts one retraining
(``TriggeredBy=quality-alarm``) through the synthesized rule and the retrain guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from localcloud.cloud import LocalCloud, Synthesized, synthesize
from localcloud.cloudwatch import AlarmState
from localcloud.eventbridge import PipelineStart
from localcloud.sagemaker.endpoint import CSV, capture_record
from localcloud.stories.monitoring_report import MonitoringReport
from localcloud.stories.traffic import TrafficKind, generate, labels, to_csv_lines
from pipelines import parameters
from processing_scripts import contract, dataset, s3_uri
from processing_scripts.drift import config, engine, sources
from processing_scripts.drift.storage import Storage
from tests.localcloud.stages import SETTINGS, STAGES, running_with_stages
from tests.pipelines.cli_runner import run

pytestmark = pytest.mark.slow  # the three accounts' app is synthesized once for the module (~20 s)

PROD_ENDPOINT = SETTINGS.stage_endpoint_name(STAGES[1])
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the prod schedule fires on the hour
ROWS = 200
EVALUATED_RMSE = 1.0  # what the version prod serves scored on its test split


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(SETTINGS, tmp_path_factory.mktemp("stages"), cdk_validation=False)


@pytest.fixture
def cloud(synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    with running_with_stages(synthesized, tmp_path / "runs", monkeypatch, clock=lambda: NOW) as running:
        yield running


def _register_prod_version(cloud: LocalCloud, tmp_path: Path) -> None:
    """A version as the training pipeline registers it (drift baseline of normal traffic, its
    evaluation), recorded as deployed to prod by the deploy function."""
    rows = generate(TrafficKind.NORMAL, 500, seed=7)
    train = tmp_path / "train.csv"
    train.write_text(
        "".join(
            f"{label},{line}\n"
            for label, line in zip(labels(TrafficKind.NORMAL, 500, seed=7), to_csv_lines(rows), strict=True)
        )
    )
    schema = tmp_path / contract.Preprocess.SCHEMA_FILE
    schema.write_text(json.dumps({"label": dataset.schema().target, "features": dataset.feature_names()}))
    source = sources.open_source(Storage(), str(train), schema_file=str(schema), header=False)
    baseline = engine.build_baseline(source, config.MonitoringConfig())
    s3, bucket = cloud.aws.clients.s3, SETTINGS.bucket_name("artifacts")
    uploads = {f"pipelines/training/v1/Baseline/{name}": text for name, text in baseline.outputs().items()}
    evaluation = {"regression_metrics": {"rmse": {"value": EVALUATED_RMSE, "standard_deviation": 0.1}}}
    uploads["pipelines/training/v1/Evaluate/evaluation.json"] = json.dumps(evaluation)
    for key, text in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode())

    def stored(key: str) -> dict[str, str]:
        return {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/pipelines/training/v1/{key}"}

    cloud.aws.clients.sagemaker.create_model_package(
        ModelPackageGroupName=SETTINGS.model_package_group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": SETTINGS.processing_image_uri}],
            "SupportedContentTypes": [CSV],
            "SupportedResponseMIMETypes": [CSV],
        },
        DriftCheckBaselines={
            "ModelDataQuality": {
                "Statistics": stored(f"Baseline/{contract.STATISTICS_FILE}"),
                "Constraints": stored(f"Baseline/{contract.CONSTRAINTS_FILE}"),
            }
        },
        ModelMetrics={"ModelQuality": {"Statistics": stored("Evaluate/evaluation.json")}},
        CustomerMetadataProperties={
            SETTINGS.stage_approval_key(STAGES[1], "deployed-at"): "2026-12-01T08:00:00+00:00"
        },
    )


def _prod_capture(cloud: LocalCloud, at: datetime, ids: list[str], predictions: np.ndarray) -> None:
    """What the prod endpoint's capture writes into the build account's capture bucket: normal
    features, the model's answers, the callers' InferenceIds."""
    lines = [
        json.dumps(
            capture_record(
                request_body=line.encode(),
                request_type=CSV,
                response_body=f"{prediction:.6f}".encode(),
                response_type=CSV,
                inference_time=at,
                inference_id=inference_id,
                csv_types=(CSV,),
            )
        )
        for inference_id, line, prediction in zip(
            ids, to_csv_lines(generate(TrafficKind.NORMAL, len(ids), seed=3)), predictions, strict=True
        )
    ]
    bucket, prefix = s3_uri.split(f"{SETTINGS.capture_uri}/{PROD_ENDPOINT}/AllTraffic/{at:%Y/%m/%d/%H}")
    cloud.aws.clients.s3.put_object(
        Bucket=bucket, Key=f"{prefix}/capture.jsonl", Body="\n".join(lines).encode()
    )


def test_prod_labels_move_the_prod_quality_alarm_and_start_one_retraining(
    cloud: LocalCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _register_prod_version(cloud, tmp_path)
    judged = NOW - timedelta(hours=1, minutes=30)  # one label delay back: the window the run judges
    ids = [f"prod-{i}" for i in range(ROWS)]
    served = labels(TrafficKind.NORMAL, ROWS, seed=3)  # the model's answers, right before the shift
    _prod_capture(cloud, judged, ids, served)
    _prod_capture(cloud, NOW - timedelta(minutes=30), [f"now-{i}" for i in range(ROWS)], served)
    # The reviewers' labels: the target's relation to the features changed (concept drift).
    truth = labels(TrafficKind.CONCEPT_DRIFTED, ROWS, seed=3)
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text(
        "inference_id,label\n" + "".join(f"{i},{y}\n" for i, y in zip(ids, truth, strict=True))
    )
    uploaded = (NOW - timedelta(minutes=50)).isoformat()
    code, out, err = run(capsys, "labels", "upload", str(reviewed), "--stage", "prod", "--at", uploaded)
    assert code == 0, err
    assert f"/{SETTINGS.model_quality.ground_truth_prefix}/{PROD_ENDPOINT}/" in out

    evaluator = cloud.alarm_evaluator()
    starts: list[PipelineStart] = []
    router = cloud.event_router(starts.append)
    fired = router.fire_schedules(SETTINGS.pipeline_arn(SETTINGS.monitoring_pipeline_name), NOW)
    (prod_run,) = [
        d.pipeline_start
        for d in fired
        if d.pipeline_start and d.pipeline_start.parameters.get(parameters.STAGE) == "prod"
    ]
    assert prod_run.parameters[parameters.ENDPOINT_NAME] == PROD_ENDPOINT
    record = cloud.run(prod_run.pipeline_name, prod_run.parameters)
    assert record.succeeded, record.failure_reason

    report = MonitoringReport.read(cloud.aws.clients.s3, record)
    assert (report.quality["merged"], report.quality["evaluation_reference"]) == (
        ROWS,
        {"rmse": EVALUATED_RMSE},
    )

    transitions = {e.alarm.name: e for e in evaluator.evaluate(NOW + timedelta(minutes=1)) if e.event}
    alarm = SETTINGS.stage_quality_alarm_name(STAGES[1])
    assert transitions[alarm].state is AlarmState.ALARM
    assert {name for name, e in transitions.items() if e.state is AlarmState.ALARM} == {alarm}
    deliveries = router.route(transitions[alarm].event)
    assert [(d.rule.name, d.result["action"]) for d in deliveries] == [
        (SETTINGS.retrain_rule_names["quality"], "started")
    ]
    sagemaker = cloud.aws.clients.sagemaker
    training = SETTINGS.training_pipeline_name
    [execution] = sagemaker.list_pipeline_executions(PipelineName=training)["PipelineExecutionSummaries"]
    given = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert {"Name": parameters.TRIGGERED_BY, "Value": "quality-alarm"} in given
    assert cloud.access.log.denied == []
