"""``pipelines variants report|promote|rollback`` as a user runs them, against moto with the local
cloud's SageMaker and CloudWatch extensions: the deploy function puts a challenger or shadow next to
the champion, the local endpoint's own metrics publisher writes each variant's metrics, and the
commands read, promote and roll back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws

from infra.lambda_environment import environment_for
from localcloud.moto_extensions import cloudwatch_metrics, sagemaker_hosting, sagemaker_rules
from localcloud.sagemaker.endpoint import CaptureConfig, CaptureWriter, InvocationMetrics, capture_record
from localcloud.stories.traffic import TrafficKind, generate, to_csv_lines
from pipelines.cli.exit_codes import ExitCode
from processing_scripts import s3_uri
from processing_scripts.drift import engine, sources
from processing_scripts.drift.storage import Storage
from tests.infra.test_deploy_handler import SETTINGS, Aws, approval_event, step_event
from tests.pipelines.cli_runner import one_line_error, run

CHAMPION = SETTINGS.serving.variant_name


def env(new_model_as: str) -> dict[str, str]:
    serving = dataclasses.replace(SETTINGS.serving, new_model_as=new_model_as)
    return environment_for(dataclasses.replace(SETTINGS, serving=serving), "deploy")


@pytest.fixture
def aws() -> Iterator[Aws]:
    sagemaker_hosting.install()
    sagemaker_rules.install()
    cloudwatch_metrics.install()  # GetMetricData percentiles, as CloudWatch computes them
    with mock_aws():
        yield Aws()


def ab_test(aws: Aws, new_model_as: str = "challenger") -> tuple[dict, dict]:
    first = aws.deploy(step_event(aws.register_package("Approved")), env(new_model_as))
    second = aws.deploy(approval_event(aws.register_package("Approved")), env(new_model_as))
    return first, second


def publish(aws: Aws, variant: str, latencies_us: list[float], errors: int) -> None:
    """What the endpoint publishes per request: a 200 per latency, then ``errors`` model errors."""
    metrics = InvocationMetrics(aws.clients.cloudwatch, SETTINGS.endpoint_name)
    at = datetime.now(UTC) - timedelta(minutes=5)
    for latency in latencies_us:
        metrics.record(at, variant, 200, False, latency)
    for _ in range(errors):
        metrics.record(at, variant, 500, True, 1000.0)
    metrics.flush()


def test_report_compares_the_variants_on_their_metrics(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    ab_test(aws)
    publish(aws, CHAMPION, [float(1000 * (i + 1)) for i in range(100)], errors=0)  # 1..100 ms
    publish(aws, "Challenger", [5000.0] * 9, errors=1)
    code, out, err = run(capsys, "variants", "report", "--json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)["variants"]}
    champion, challenger = rows[CHAMPION], rows["Challenger"]
    assert (champion["champion"], champion["version"], champion["weight"]) == (True, 1, 0.9)
    assert (challenger["champion"], challenger["version"], challenger["weight"]) == (False, 2, 0.1)
    assert (champion["invocations"], champion["errors"]) == (100, 0)
    assert (challenger["invocations"], challenger["errors"]) == (10, 1)
    assert champion["latency_ms"] == {"p50": 50.0, "p99": 99.0}  # nearest rank over the raw values
    code, out, _ = run(capsys, "variants", "report")
    assert code == 0 and "challenger" in out and "10.0%" in out, out


def test_report_scores_each_variant_against_ground_truth(
    aws: Aws, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Captured predictions (the endpoint's capture format, each variant under its own prefix) are
    merged with ground truth by inference id: the champion is off by 1.0, the challenger by 0.5."""
    ab_test(aws)
    frame = generate(TrafficKind.NORMAL, 60, seed=6)
    (tmp_path / "train.csv").write_text(frame.to_csv(index=False))
    source = sources.open_source(Storage(), str(tmp_path / "train.csv"))
    baseline = engine.build_baseline(source, SETTINGS.monitoring.drift).outputs()
    bucket, prefix = s3_uri.split(SETTINGS.current_baseline_uri)
    for purpose in ("capture", "artifacts"):
        aws.clients.s3.create_bucket(Bucket=SETTINGS.bucket_name(purpose))
    for name, body in baseline.items():
        aws.clients.s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body.encode())
    writer = CaptureWriter(aws.clients.s3, SETTINGS.endpoint_name)
    capture = CaptureConfig(enabled=True, sampling_percentage=100, destination_uri=SETTINGS.capture_uri)
    at, truth = datetime.now(UTC) - timedelta(minutes=5), []
    for i, line in enumerate(to_csv_lines(frame)):
        label = float(i % 7)
        variant, error = (CHAMPION, 1.0) if i % 2 else ("Challenger", 0.5)
        record = capture_record(
            request_body=f"{line}\n".encode(),
            request_type="text/csv",
            response_body=f"{label + error}\n".encode(),
            response_type="text/csv",
            inference_time=at,
            inference_id=f"req-{i}",
            csv_types=("text/csv",),
        )
        writer.write(capture, variant, record, at)
        truth.append(
            {
                "groundTruthData": {"data": str(label), "encoding": "CSV"},
                "eventMetadata": {"eventId": f"req-{i}"},
                "eventVersion": "0",
            }
        )
    writer.flush()
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    code, out, err = run(
        capsys, "variants", "report", "--json", "--ground-truth", str(tmp_path / "truth.jsonl")
    )
    assert code == 0, err
    rows = {row["name"]: row["quality"] for row in json.loads(out)["variants"]}
    assert rows[CHAMPION] == {
        "metric": "regression_metrics.rmse.value",
        "value": pytest.approx(1.0),
        "matched": 30,
    }
    assert rows["Challenger"] == {
        "metric": "regression_metrics.rmse.value",
        "value": pytest.approx(0.5),
        "matched": 30,
    }
    code, out, _ = run(capsys, "variants", "report", "--ground-truth", str(tmp_path / "truth.jsonl"))
    assert (
        "rmse on ground truth: AllTraffic 1.000, Challenger 0.500 (labelled predictions: AllTraffic 30, "
        in out
    )
    code, _, err = run(capsys, "variants", "report", "--ground-truth", str(tmp_path / "missing"))
    message, _ = one_line_error(err)
    assert code == ExitCode.NOT_FOUND and "--ground-truth" in message and "no such file" in message


def test_rollback_then_promote(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    _, second = ab_test(aws)
    code, out, err = run(capsys, "variants", "rollback")
    assert code == 0, err
    assert "all traffic goes to AllTraffic (version 1); Challenger kept at weight 0" in out
    weights = {
        v["VariantName"]: v["CurrentWeight"]
        for v in aws.sagemaker.describe_endpoint(EndpointName=SETTINGS.endpoint_name)["ProductionVariants"]
    }
    assert weights == {CHAMPION: 1.0, "Challenger": 0.0}
    code, out, err = run(capsys, "variants", "promote")
    assert code == 0, err
    (only,) = aws.endpoint_config()["ProductionVariants"]
    assert (only["VariantName"], only["ModelName"]) == (CHAMPION, second["model_name"])
    assert f"{second['model_name']} is the champion" in out
    code, _, err = run(capsys, "variants", "promote")
    message, hint = one_line_error(err)
    assert code == ExitCode.NOT_FOUND and "no challenger or shadow variant to promote" in message
    assert "variants report" in hint


def test_a_shadow_is_promoted_or_removed(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = ab_test(aws, "shadow")
    code, out, err = run(capsys, "variants", "rollback")
    assert code == 0 and "the shadow is removed" in out, err
    config = aws.endpoint_config()
    assert "ShadowProductionVariants" not in config
    assert [v["ModelName"] for v in config["ProductionVariants"]] == [first["model_name"]]
    code, out, _ = run(capsys, "variants", "rollback")
    assert code == 0 and "already serves all traffic; nothing changed" in out


def test_no_endpoint_is_one_line(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "variants", "report")
    message, _ = one_line_error(err)
    assert code == ExitCode.NOT_FOUND and f"endpoint {SETTINGS.endpoint_name} does not exist" in message


def test_demo_refuses_an_unknown_mode_before_running_anything(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--new-model-as", "canary")
    message, hint = one_line_error(err)
    assert (
        code == ExitCode.USAGE
        and "new_model_as 'canary' is not one of replace, challenger, shadow" in message
    )
    assert "--new-model-as challenger" in hint
