"""A/B and shadow tests on the endpoint: what each variant serves, how it does, and ending the test.

The deploy function puts a new approved model next to the champion (``settings.serving.new_model_as``);
this module is what an operator (``pipelines variants``) and the local demo do afterwards:

* :func:`variants` reads the endpoint's variants (model, package version, current weight, shadow);
* :func:`variant_metrics` reads each variant's ``AWS/SageMaker`` metrics (dimension ``VariantName``):
  invocations, errors, ModelLatency p50/p99, in one GetMetricData request;
* :func:`variant_quality` scores each variant's captured predictions against ground truth (Model
  Monitor's ground-truth JSON Lines, merged by inference id), with the drift engine that ``monitor
  check --ground-truth`` runs, on the metric of the training pipeline's quality gate;
* :func:`promote` makes a challenger's or shadow's model the champion by deploying its package alone
  with the deploy function's own code (the champion's variant name, so the endpoint alarms keep
  watching it, and the current drift baseline becomes the new champion's);
* :func:`rollback` sends all traffic back to the champion: a challenger's weight goes to 0 with
  UpdateEndpointWeightsAndCapacities, which takes effect without provisioning anything; a shadow
  is removed by deploying the champion alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.lambda_environment import environment_for
from infra.lambdas import deploy
from pipelines.settings import Settings

if TYPE_CHECKING:
    from processing_scripts.drift.capture import TimeWindow
    from processing_scripts.drift.storage import Storage

NAMESPACE = "AWS/SageMaker"
ERROR_METRICS = ("Invocation4XXErrors", "Invocation5XXErrors")
LATENCY_PERCENTILES = ("p50", "p99")


class VariantsError(RuntimeError):
    """The endpoint is not in a state the request needs; the message says which and what to do."""


@dataclass(frozen=True)
class Variant:
    name: str
    model_name: str
    model_package_arn: str
    version: int | None
    weight: float  # current weight (production variants); 0 for a shadow
    shadow: bool
    champion: bool


@dataclass(frozen=True)
class VariantMetrics:
    invocations: float
    errors: float  # 4XX + 5XX
    latency_ms: dict[str, float | None]  # p50, p99 of ModelLatency; None without data


def variants(sagemaker: Any, settings: Settings) -> list[Variant]:
    """The endpoint's production variants (config order), then its shadow."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=settings.endpoint_name)
    except sagemaker.exceptions.ClientError as err:
        if "Could not find" in str(err):
            raise VariantsError(
                f"endpoint {settings.endpoint_name} does not exist; deploy a model first"
            ) from None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    found = []
    for shadow, group in (
        (False, config["ProductionVariants"]),
        (True, config.get("ShadowProductionVariants")),
    ):
        for variant in group or []:
            model = sagemaker.describe_model(ModelName=variant["ModelName"])
            arn = (model.get("PrimaryContainer") or {}).get("ModelPackageName", "")
            version = (
                sagemaker.describe_model_package(ModelPackageName=arn).get("ModelPackageVersion")
                if arn
                else None
            )
            found.append(
                Variant(
                    name=variant["VariantName"],
                    model_name=variant["ModelName"],
                    model_package_arn=arn,
                    version=version,
                    weight=0.0 if shadow else current_weight(endpoint, variant),
                    shadow=shadow,
                    champion=not shadow and variant["VariantName"] == settings.serving.variant_name,
                )
            )
    return found


def current_weight(endpoint: Mapping[str, Any], variant: Mapping[str, Any]) -> float:
    """A production variant's weight now: DescribeEndpoint's CurrentWeight (which
    UpdateEndpointWeightsAndCapacities moves), else its config's InitialVariantWeight."""
    for current in endpoint.get("ProductionVariants") or []:
        if current["VariantName"] == variant["VariantName"] and current.get("CurrentWeight") is not None:
            return float(current["CurrentWeight"])
    return float(variant.get("InitialVariantWeight", 1.0))


def variant_metrics(
    cloudwatch: Any, settings: Settings, names: list[str], start: datetime, end: datetime
) -> dict[str, VariantMetrics]:
    """Each variant's totals over [start, end): one period spanning the window (whole minutes)."""
    period = max(60, int((end - start).total_seconds()) // 60 * 60)
    queries: list[dict[str, Any]] = []
    keys: dict[str, tuple[str, str, str]] = {}  # query id -> (variant, metric, statistic)
    for index, name in enumerate(names):
        dimensions = [
            {"Name": "EndpointName", "Value": settings.endpoint_name},
            {"Name": "VariantName", "Value": name},
        ]
        stats = [("Invocations", "Sum"), *((m, "Sum") for m in ERROR_METRICS)]
        stats += [("ModelLatency", p) for p in LATENCY_PERCENTILES]
        for number, (metric, stat) in enumerate(stats):
            keys[f"m{index}_{number}"] = (name, metric, stat)
            queries.append(
                {
                    "Id": f"m{index}_{number}",
                    "MetricStat": {
                        "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                        "Period": period,
                        "Stat": stat,
                    },
                }
            )
    by_key: dict[tuple[str, str, str], list[float]] = {key: [] for key in keys.values()}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end
    ):
        for result in page["MetricDataResults"]:
            by_key[keys[result["Id"]]].extend(result.get("Values", []))
    return {
        name: VariantMetrics(
            invocations=sum(by_key[(name, "Invocations", "Sum")]),
            errors=sum(sum(by_key[(name, m, "Sum")]) for m in ERROR_METRICS),
            latency_ms={
                p: (
                    max(by_key[(name, "ModelLatency", p)]) / 1000
                    if by_key[(name, "ModelLatency", p)]
                    else None
                )
                for p in LATENCY_PERCENTILES
            },
        )
        for name in names
    }


@dataclass(frozen=True)
class VariantQuality:
    metric: str  # the quality gate's metric path, e.g. regression_metrics.rmse.value
    value: float | None  # None: no prediction matched a label
    matched: int  # predictions with a label (by inference id and row)


def variant_quality(
    storage: Storage, settings: Settings, names: list[str], ground_truth_uri: str, window: TimeWindow
) -> dict[str, VariantQuality]:
    """Each variant's quality over the window: its capture (``<capture>/<endpoint>/<variant>/``)
    against the ground truth, on ``settings.quality_gate.metric_path``. The baseline the check needs
    for the feature names is the served one (``current_baseline_uri``)."""
    from processing_scripts.drift import engine, sources

    truth = storage.list_files(ground_truth_uri)
    if not truth:
        raise VariantsError(f"--ground-truth {ground_truth_uri}: no files there")
    baseline = engine.load_baseline(storage, settings.current_baseline_uri)
    path = settings.quality_gate.metric_path
    found = {}
    for name in names:
        capture = f"{settings.capture_uri}/{settings.endpoint_name}/{name}"
        source = sources.open_source(storage, capture, window=window)
        result = engine.run_check(baseline, source, ground_truth=truth, problem_type=settings.problem_type)
        quality = result.quality
        found[name] = VariantQuality(
            metric=path,
            value=_at_path(quality.quality.to_json(), path) if quality else None,
            matched=quality.matched if quality else 0,
        )
    return found


def _at_path(document: Any, path: str) -> float | None:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return float(document) if isinstance(document, int | float) else None


def window(end: datetime, hours: float) -> tuple[datetime, datetime]:
    """[end - hours, end), on whole minutes (CloudWatch's periods)."""
    end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return end - timedelta(hours=hours), end


def promote(client: Callable[[str], Any], settings: Settings, variant: str | None = None) -> dict[str, Any]:
    """Deploy the challenger's (or shadow's, or ``variant``'s) package alone, as the champion."""
    current = variants(client("sagemaker"), settings)
    candidates = [v for v in current if not v.champion and (variant is None or v.name == variant)]
    if not candidates:
        named = f"no variant {variant!r}" if variant else "no challenger or shadow variant"
        raise VariantsError(
            f"endpoint {settings.endpoint_name} has {named} to promote (it has {[v.name for v in current]})"
        )
    if len(candidates) > 1:
        raise VariantsError(f"several variants could be promoted ({[v.name for v in candidates]}); name one")
    return _deploy_alone(client, settings, candidates[0])


def rollback(client: Callable[[str], Any], settings: Settings) -> str:
    """All traffic back to the champion; returns what was done, in a sentence."""
    sagemaker = client("sagemaker")
    current = variants(sagemaker, settings)
    champion = next((v for v in current if v.champion), None)
    others = [v for v in current if not v.champion]
    if champion is None:
        raise VariantsError(
            f"endpoint {settings.endpoint_name} has no champion variant {settings.serving.variant_name!r}"
        )
    if not others:
        return f"{champion.name} already serves all traffic; nothing changed"
    if any(v.shadow for v in others):
        result = _deploy_alone(client, settings, champion)
        return f"{champion.name} (version {champion.version}) now serves alone ({result['status']}); the shadow is removed"
    # UpdateEndpointWeightsAndCapacities: "Updates variant weight of one or more variants associated
    # with an existing endpoint ... without redeploying" (SageMaker API reference).
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=settings.endpoint_name,
        DesiredWeightsAndCapacities=[
            {"VariantName": v.name, "DesiredWeight": 1.0 if v.champion else 0.0}
            for v in current
            if not v.shadow
        ],
    )
    names = ", ".join(v.name for v in others)
    return f"all traffic goes to {champion.name} (version {champion.version}); {names} kept at weight 0"


def _deploy_alone(client: Callable[[str], Any], settings: Settings, variant: Variant) -> dict[str, Any]:
    if not variant.model_package_arn:
        raise VariantsError(
            f"variant {variant.name}'s model {variant.model_name} has no model package to deploy"
        )
    serving = dataclasses.replace(settings.serving, new_model_as=deploy.REPLACE)
    env: Mapping[str, str] = environment_for(dataclasses.replace(settings, serving=serving), "deploy")
    event = {"model_package_arn": variant.model_package_arn, "endpoint_name": settings.endpoint_name}
    return deploy.handle(event, client, env)
