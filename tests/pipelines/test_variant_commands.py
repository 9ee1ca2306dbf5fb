"""``pipelines variants report|promote|rollback`` as a user runs them, against moto with the local
cloud's SageMaker and CloudWatch extensions: the deploy function puts a challenger or shadow next to
the champion, the local endpoint's own metrics publisher writes each variant's metrics, and the
commands read, promote and roll back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from infra.lambda_environment import environment_for
from localcloud.moto_extensions import cloudwatch_metrics, sagemaker_hosting, sagemaker_rules
from localcloud.sagemaker.endpoint import InvocationMetrics
from pipelines.cli.exit_codes import ExitCode
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
