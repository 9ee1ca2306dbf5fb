"""The local endpoint with several variants: weighted routing (seeded, so a run repeats),
TargetVariant, a shadow that gets a copy of each request and answers none, per-variant metrics and
capture, and weights moved by UpdateEndpointWeightsAndCapacities without reloading a model."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from moto import mock_aws

from localcloud.moto_extensions import sagemaker_hosting
from localcloud.sagemaker.endpoint import (
    CaptureConfig,
    Deployment,
    Fleet,
    InvocationError,
    LocalEndpoint,
    RuntimeClient,
    Served,
)
from localcloud.stories.traffic import TrafficKind, generate, to_csv_lines
from pipelines.settings import Settings
from processing_scripts.aws_clients import AwsClients, AwsTarget
from tests.localcloud.test_endpoint import SETTINGS, _capture_lines, _endpoint, _predict

CHAMPION = SETTINGS.serving.variant_name
ROW = to_csv_lines(generate(TrafficKind.NORMAL, 1, seed=9))[0] + "\n"


@pytest.fixture
def aws() -> Iterator[AwsClients]:
    sagemaker_hosting.install()  # UpdateEndpoint and shadow variants
    with mock_aws():
        yield AwsClients(AwsTarget(region=SETTINGS.region))


def settings_with(new_model_as: str, weight: float = 0.1) -> Settings:
    serving = dataclasses.replace(SETTINGS.serving, new_model_as=new_model_as, challenger_weight=weight)
    return dataclasses.replace(SETTINGS, serving=serving)


def invocations(aws: Any, variant: str) -> float:
    stats = aws.cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[
            {"Name": "EndpointName", "Value": SETTINGS.endpoint_name},
            {"Name": "VariantName", "Value": variant},
        ],
        StartTime=datetime(2000, 1, 1, tzinfo=UTC),
        EndTime=datetime(2100, 1, 1, tzinfo=UTC),
        Period=60,
        Statistics=["Sum"],
    )
    return sum(p["Sum"] for p in stats["Datapoints"])


def captured_by_variant(aws: Any, settings: Settings) -> Counter[str]:
    prefix = f"{settings.capture_uri.split('/', 3)[3]}/{settings.endpoint_name}/"
    return Counter(key.removeprefix(prefix).split("/")[0] for key, _ in _capture_lines(aws, settings))


@pytest.mark.slow  # 400 requests
def test_weights_split_the_traffic_and_each_variant_answers_with_its_model(aws: Any) -> None:
    settings = settings_with("challenger", weight=0.2)
    endpoint, registry = _endpoint(aws, settings)
    lines = to_csv_lines(generate(TrafficKind.NORMAL, 400, seed=3))
    with endpoint:
        champion, challenger = registry.deploy(1), registry.deploy(2)
        endpoint.reconcile()
        client = RuntimeClient(endpoint.url)
        by_variant: dict[str, list[tuple[str, float]]] = {}
        for line in lines:
            answer = client.invoke_endpoint(Body=line + "\n")
            by_variant.setdefault(answer["InvokedProductionVariant"], []).append(
                (line, float(answer["Body"]))
            )
    for variant, model in ((CHAMPION, champion), ("Challenger", challenger)):
        sent, predicted = zip(*by_variant[variant], strict=True)
        assert list(predicted) == pytest.approx(_predict(model, list(sent)), rel=1e-5)
    answered = Counter({variant: len(pairs) for variant, pairs in by_variant.items()})
    # 400 draws at p = 0.2: mean 80, standard deviation 8; the seeded draw lands within 4 of them.
    assert abs(answered["Challenger"] - 80) < 4 * math.sqrt(400 * 0.2 * 0.8)
    assert answered["Challenger"] + answered[CHAMPION] == 400
    assert invocations(aws, "Challenger") == answered["Challenger"]
    assert invocations(aws, CHAMPION) == answered[CHAMPION]
    assert captured_by_variant(aws, settings) == answered  # s3://.../<endpoint>/<variant>/yyyy/mm/dd/hh/


def test_the_same_seed_routes_the_same_way(aws: Any) -> None:
    settings = settings_with("challenger", weight=0.5)
    first, registry = _endpoint(aws, settings)
    registry.deploy(1), registry.deploy(2)
    routes = []
    for endpoint in (first, LocalEndpoint(settings, aws, port=0, seed=7)):  # the same seed as _endpoint's
        with endpoint:
            endpoint.reconcile()
            client = RuntimeClient(endpoint.url)
            routes.append([client.invoke_endpoint(Body=ROW)["InvokedProductionVariant"] for _ in range(30)])
    assert routes[0] == routes[1] and len(set(routes[0])) == 2


def test_target_variant_wins_over_the_weights(aws: Any) -> None:
    endpoint, registry = _endpoint(aws, settings_with("challenger", weight=0.1))
    lines = to_csv_lines(generate(TrafficKind.NORMAL, 20, seed=4))
    with endpoint:
        registry.deploy(1), registry.deploy(2)
        endpoint.reconcile()
        client = RuntimeClient(endpoint.url)
        variants = {
            client.invoke_endpoint(Body=line + "\n", TargetVariant="Challenger")["InvokedProductionVariant"]
            for line in lines
        }
        assert variants == {"Challenger"}
        with pytest.raises(InvocationError, match="TargetVariant 'Nope' is not a production variant") as err:
            client.invoke_endpoint(Body=lines[0] + "\n", TargetVariant="Nope")
        assert err.value.status == 400


def test_a_shadow_gets_a_copy_of_every_request_and_answers_none(aws: Any) -> None:
    settings = settings_with("shadow")
    endpoint, registry = _endpoint(aws, settings)
    lines = to_csv_lines(generate(TrafficKind.NORMAL, 12, seed=5))
    with endpoint:
        champion, shadow = registry.deploy(1), registry.deploy(2)
        endpoint.reconcile()
        client = RuntimeClient(endpoint.url)
        for line in lines:
            answer = client.invoke_endpoint(Body=line + "\n", InferenceId=f"id-{line[:8]}")
            assert answer["InvokedProductionVariant"] == CHAMPION
            assert float(answer["Body"]) == pytest.approx(_predict(champion, [line])[0], rel=1e-5)
    assert invocations(aws, CHAMPION) == invocations(aws, "Shadow") == len(lines)
    records = [(key, record) for key, record in _capture_lines(aws, settings) if "/Shadow/" in key]
    assert len(records) == len(lines)
    shadow_answers = sorted(float(r["captureData"]["endpointOutput"]["data"]) for _, r in records)
    assert shadow_answers == pytest.approx(sorted(_predict(shadow, lines)), rel=1e-5)


def test_a_weight_change_moves_traffic_without_reloading_a_model(aws: Any) -> None:
    endpoint, registry = _endpoint(aws, settings_with("challenger", weight=0.5))
    with endpoint:
        registry.deploy(1), registry.deploy(2)
        endpoint.reconcile()
        loaded = dict(endpoint._loaded)
        aws.sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=SETTINGS.endpoint_name,
            DesiredWeightsAndCapacities=[
                {"VariantName": CHAMPION, "DesiredWeight": 1.0},
                {"VariantName": "Challenger", "DesiredWeight": 0.0},
            ],
        )
        endpoint.reconcile()
        client = RuntimeClient(endpoint.url)
        answered = {client.invoke_endpoint(Body=ROW)["InvokedProductionVariant"] for _ in range(20)}
        assert answered == {CHAMPION}
        assert all(endpoint._loaded[key] is model for key, model in loaded.items())
        assert [d.model_version for d in endpoint.swaps] == [1]


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=4),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_routing_picks_a_production_variant_with_weight(weights: list[float], draw: float) -> None:
    """Whatever the weights and the draw: a variant with weight answers, or (all 0) the reason is given."""
    capture = CaptureConfig(enabled=False, sampling_percentage=0, destination_uri="")
    served = tuple(
        Served(Deployment("c", f"V{i}", f"m{i}", None, None, "s3://b/k", capture, weight=w), model=None)
        for i, w in enumerate(weights)
    )
    chosen = Fleet(champion=served[0], production=served, shadow=None).route(lambda: draw, None)
    if len(weights) > 1 and sum(weights) == 0:
        assert isinstance(chosen, str) and "weight 0" in chosen
    else:
        assert isinstance(chosen, Served)
        assert len(weights) == 1 or chosen.deployment.weight > 0
