"""Deploy an approved model package to the project's endpoint, in its serving mode.

One handler serves three callers, so a model reaches production the same way however it was approved:

* the training pipeline's Deploy LambdaStep: ``{"model_package_arn": ..., "endpoint_name": ...}``;
* EventBridge "SageMaker Model Package State Change" (a human approved a package in the registry);
* EventBridge "SageMaker Endpoint State Change" to InService: applies auto scaling, which Application
  Auto Scaling only accepts for an endpoint that is in service (a new endpoint takes minutes).

Deploying is idempotent because events arrive at least once: model and endpoint-config names are
derived from the package (version and ARN) and the serving settings, so a duplicate finds the endpoint
already on its config and answers ``unchanged``. Packages that are not Approved are ``skipped``; the
package's current status is read from the registry, never trusted from a possibly stale event.
The endpoint config is built per serving mode (``SERVING_MODE``: realtime, serverless, async; one
function each, see :func:`endpoint_config_request`), and so is auto scaling (:data:`AUTOSCALING`).
Serving mode ``batch`` has no endpoint: the approved package becomes the batch pipeline's model
(:func:`_point_batch_model`) and its baseline the current one.
Updates use SageMaker's blue/green deployment (all at once, or a canary with 2+ instances) and roll
back automatically when an endpoint health alarm fires. Two callers may deploy the same package at
once (the approval event and the pipeline's Deploy step): a Create that finds its resource already
created by the other is success, not an error.

With ``NEW_MODEL_AS`` ``challenger`` or ``shadow`` (settings.serving.new_model_as) a new package
joins the champion instead of replacing it: as a weighted challenger variant (an A/B test) or as a
shadow variant that gets a copy of every request and answers none; ``pipelines variants
promote|rollback`` ends the test (docs/variants.md).

With deployment stages (docs/multi-account.md) a fourth event, ``{"model_package_arn": ...,
"stage": "staging"}``, deploys to a stage's account: the function assumes the stage's deploy role
(``STAGES``, one entry per stage) and creates the stage's model, endpoint config and endpoint
there, as that role, from the build account's registry. A stage after the first (prod) deploys
only a version whose approval for it is recorded in the registry (``pipelines approve V --stage
prod``); the same event with an older version is the rollback.

This module runs in the Lambda runtime (stdlib, boto3 and the project's ``processing_scripts.s3_uri``,
which the code asset carries; see ``infra/functions.py``); :func:`handle` takes its clients and
environment as arguments so the local executor and the tests run exactly this code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from processing_scripts import s3_uri

PACKAGE_EVENT = "SageMaker Model Package State Change"
ENDPOINT_EVENT = "SageMaker Endpoint State Change"
APPROVED = "Approved"
IN_SERVICE = "InService"
BUSY_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed")
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
REALTIME, SERVERLESS, ASYNC, BATCH = "realtime", "serverless", "async", "batch"
SERVING_MODES = (
    REALTIME,
    SERVERLESS,
    ASYNC,
    BATCH,
)  # settings.SERVING_MODES (the handler imports no settings)
ENDPOINT_NAMESPACE = "AWS/SageMaker"
MAX_NAME_LENGTH = 63  # SageMaker model, endpoint-config and endpoint names
# DriftCheckBaselines.ModelDataQuality part -> file name under the current-baseline URI (Model
# Monitor's names; the job definition and the IAM grant name exactly these objects).
CURRENT_BASELINE_FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}
# How a new model enters the endpoint (settings.serving.new_model_as).
REPLACE, CHALLENGER, SHADOW = "replace", "challenger", "shadow"


STAGES_ENV = "STAGES"  # JSON list of StageTarget fields; absent without deployment stages
STAGE_FIELD = "stage"


class DeployError(RuntimeError):
    """The event or the endpoint's state does not allow a deployment; the message says why."""


@dataclass(frozen=True)
class StageTarget:
    """A deployment stage as the function deploys to it (from ``settings.stages``)."""

    name: str
    region: str
    deploy_role_arn: str  # assumed by this function (the stage role trusts only it)
    model_role_arn: str  # the stage endpoint's execution role
    endpoint_name: str
    # The package's CustomerMetadataProperties key that records the stage's approval; empty for
    # the first stage, which any Approved version reaches.
    approval_key: str
    # The key this function records each deployment to the stage under (an ISO time): the
    # registry's history of what the stage served, read by `pipelines rollback` and by the
    # monitoring of the stage's endpoint, whoever started the deployment (a rule or a user).
    deployed_key: str

    @classmethod
    def all_from_env(cls, env: Mapping[str, str]) -> dict[str, StageTarget]:
        raw = env.get(STAGES_ENV)
        if not raw:
            return {}
        try:
            return {item["name"]: cls(**item) for item in json.loads(raw)}
        except (ValueError, TypeError, KeyError) as err:
            raise DeployError(
                f"deploy function misconfigured: {STAGES_ENV} is not a list of stages ({err})"
            ) from err

    @staticmethod
    def to_env(stages: list[StageTarget]) -> dict[str, str]:
        return {STAGES_ENV: json.dumps([asdict(s) for s in stages], sort_keys=True)} if stages else {}


@dataclass(frozen=True)
class DeployConfig:
    """Everything the handler needs besides the event; the Lambda environment, one field per variable."""

    model_package_group: str
    endpoint_name: str
    model_role_arn: str
    variant_name: str
    instance_type: str
    initial_instance_count: int
    capture_uri: str
    capture_sampling_percentage: int
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: int
    traffic_routing: str  # ALL_AT_ONCE or CANARY
    canary_size_percent: int
    canary_wait_seconds: int
    termination_wait_seconds: int
    rollback_alarm_names: tuple[str, ...]
    current_baseline_uri: str  # s3://bucket/prefix the served package's baseline is copied to
    tags: tuple[tuple[str, str], ...]  # cost allocation: on the model, endpoint config and endpoint
    # settings.isolation: empty/false = off
    kms_key_arn: str  # the endpoint's volumes and its data capture
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    network_isolation: bool
    # settings.serving.mode and what that mode needs (the other modes' fields are unused)
    serving_mode: str
    serverless_memory_size_mb: int
    serverless_max_concurrency: int
    serverless_provisioned_concurrency: int  # 0: none
    async_output_uri: str
    async_failure_uri: str
    async_success_topic_arn: str
    async_error_topic_arn: str
    async_max_concurrent_invocations: int
    async_max_capacity: int
    async_target_backlog_per_instance: float
    async_backlog_alarm_name: str
    batch_model_name: str  # settings.batch_model_name: the model the batch pipeline scores with

    # A/B and shadow tests (docs/variants.md)
    new_model_as: str  # replace | challenger | shadow
    challenger_weight: float
    challenger_variant_name: str
    shadow_variant_name: str

    def __post_init__(self) -> None:
        if self.serving_mode not in SERVING_MODES:
            raise DeployError(
                f"deploy function misconfigured: SERVING_MODE={self.serving_mode!r} is not one of "
                f"{', '.join(SERVING_MODES)}"
            )

    def to_env(self) -> dict[str, str]:
        """Environment variables (upper-case field names; lists comma-separated, the tags a JSON
        object, booleans true/false)."""
        env = {}
        for name, value in asdict(self).items():
            if name == "tags":
                env[name.upper()] = json.dumps(dict(self.tags), sort_keys=True)
            elif isinstance(value, (tuple, list)):
                env[name.upper()] = ",".join(value)
            elif isinstance(value, bool):
                env[name.upper()] = str(value).lower()
            else:
                env[name.upper()] = str(value)
        return env

    @property
    def resource_tags(self) -> list[dict[str, str]]:
        """The tags as SageMaker's Create calls take them."""
        return [{"Key": key, "Value": value} for key, value in self.tags]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeployConfig:
        missing = [name.upper() for name in cls.__dataclass_fields__ if name.upper() not in env]
        if missing:
            raise DeployError(f"deploy function misconfigured: environment lacks {', '.join(missing)}")
        values: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            raw = env[name.upper()]
            if name == "tags":
                values[name] = _tags(raw)
            elif spec.type == "tuple[str, ...]":
                values[name] = tuple(item for item in raw.split(",") if item)
            elif spec.type == "bool":
                if raw not in ("true", "false"):
                    raise DeployError(f"environment {name.upper()}={raw!r} is not true or false")
                values[name] = raw == "true"
            elif spec.type in ("int", "float"):
                number = int if spec.type == "int" else float
                try:
                    values[name] = number(raw)
                except ValueError:
                    raise DeployError(
                        f"environment {name.upper()}={raw!r} is not a number ({spec.type})"
                    ) from None
            else:
                values[name] = raw
        return cls(**values)

    @property
    def fingerprint(self) -> str:
        """What the endpoint config is built from, so changing a serving setting makes a new config."""
        fields = (
            self.variant_name,
            self.instance_type,
            self.initial_instance_count,
            self.capture_uri,
            self.capture_sampling_percentage,
            self.model_role_arn,
            *([self.kms_key_arn] if self.kms_key_arn else []),  # absent when off: names stay the same
            *self._mode_fields,  # absent for realtime: names from before the modes stay the same
        )
        return json.dumps(fields)

    @property
    def _mode_fields(self) -> tuple[object, ...]:
        if self.serving_mode == SERVERLESS:
            return (
                SERVERLESS,
                self.serverless_memory_size_mb,
                self.serverless_max_concurrency,
                self.serverless_provisioned_concurrency,
            )
        if self.serving_mode == ASYNC:
            return (
                ASYNC,
                self.async_output_uri,
                self.async_failure_uri,
                self.async_success_topic_arn,
                self.async_error_topic_arn,
                self.async_max_concurrent_invocations,
            )
        return ()

    @property
    def model_fingerprint(self) -> str:
        """What the model is built from besides the package: its network, so a change makes a new
        model. Empty when off, so names from before the setting existed stay the same."""
        network = [list(self.subnet_ids), list(self.security_group_ids), self.network_isolation]
        return json.dumps(network) if any(network) else ""


def _tags(raw: str) -> tuple[tuple[str, str], ...]:
    try:
        tags = json.loads(raw)
    except ValueError:
        tags = None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise DeployError(f"environment TAGS={raw!r} is not a JSON object of strings")
    return tuple(sorted(tags.items()))


def handle(event: dict[str, Any], client: Callable[[str], Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Deploy (or skip, or confirm) per the event; returns ``status`` and ``endpoint_name`` at least."""
    config = DeployConfig.from_env(env)
    if not isinstance(event, dict):
        raise DeployError(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("detail-type") == ENDPOINT_EVENT:
        return _on_endpoint_in_service(event, client, config)
    if STAGE_FIELD in event:
        return deploy_to_stage(event, client, config, StageTarget.all_from_env(env))
    package_arn = _package_arn(event, config)
    sagemaker = client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    result = {"endpoint_name": config.endpoint_name, "model_package_arn": package_arn}
    status = package.get("ModelApprovalStatus")
    if status != APPROVED:
        return {**result, "status": "skipped", "reason": f"model package is {status}, not {APPROVED}"}
    if package.get("ModelPackageGroupName") != config.model_package_group:
        reason = f"package belongs to group {package.get('ModelPackageGroupName')!r}, not {config.model_package_group!r}"
        return {**result, "status": "skipped", "reason": reason}

    if config.serving_mode == BATCH:
        return {
            **result,
            **_point_batch_model(sagemaker, config, package_arn),
            "current_baseline": publish_current_baseline(client("s3"), config, package),
        }
    model_name, config_name = resource_names(config, package)
    _ensure_model(sagemaker, config, model_name, package_arn)
    current = current_variants(sagemaker, config)
    if current is not None and current.serves(model_name, config):
        config_name, blue_green = current.config_name, False  # a redelivery: nothing to change
    else:
        variants = endpoint_variants(config, model_name, current.champion if current else None)
        if len(variants["ProductionVariants"]) > 1 or "ShadowProductionVariants" in variants:
            config_name = variant_config_name(config, package, variants)
        _ensure_endpoint_config(sagemaker, config, config_name, variants)
        blue_green = current is not None and current.names == variant_names(variants)
    deployed = _deploy(sagemaker, client, config, config_name, blue_green=blue_green)
    baseline = publish_current_baseline(client("s3"), config, package)
    return {
        **result,
        "status": deployed,
        "endpoint_config_name": config_name,
        "model_name": model_name,
        "current_baseline": baseline,
    }


def deploy_to_stage(
    event: dict[str, Any], client: Callable[..., Any], config: DeployConfig, stages: Mapping[str, StageTarget]
) -> dict[str, Any]:
    """Deploy the event's package to its stage's account, as the stage's deploy role.

    The role is assumed with this function's own credentials; the stage role's trust names only
    this function's role, and the registry's group policy lets only that stage role read the
    package (docs/multi-account.md). The stage endpoint is a plain real-time endpoint replaced
    whole: auto scaling, variants tests and the isolation settings are the build account's.
    """
    name = event.get(STAGE_FIELD)
    stage = stages.get(name) if isinstance(name, str) else None
    if stage is None:
        raise DeployError(
            f"event.stage {name!r} is not a configured stage (stages: {', '.join(stages) or 'none'})"
        )
    package_arn = _package_arn({k: v for k, v in event.items() if k != STAGE_FIELD}, config)
    credentials = client("sts").assume_role(
        RoleArn=stage.deploy_role_arn, RoleSessionName=f"deploy-{stage.name}"
    )["Credentials"]

    def stage_client(service: str) -> Any:
        return client(
            service,
            region_name=stage.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    sagemaker = stage_client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    result = {"stage": stage.name, "endpoint_name": stage.endpoint_name, "model_package_arn": package_arn}
    status = package.get("ModelApprovalStatus")
    if status != APPROVED:
        return {**result, "status": "skipped", "reason": f"model package is {status}, not {APPROVED}"}
    if package.get("ModelPackageGroupName") != config.model_package_group:
        reason = f"package belongs to group {package.get('ModelPackageGroupName')!r}, not {config.model_package_group!r}"
        return {**result, "status": "skipped", "reason": reason}
    approved_by = (package.get("CustomerMetadataProperties") or {}).get(stage.approval_key)
    if stage.approval_key and not approved_by:
        reason = f"no {stage.name} approval recorded ({stage.approval_key}); `pipelines approve VERSION --stage {stage.name}`"
        return {**result, "status": "skipped", "reason": reason}
    target = dataclasses.replace(
        config,
        endpoint_name=stage.endpoint_name,
        model_role_arn=stage.model_role_arn,
        serving_mode=REALTIME,
        new_model_as=REPLACE,
        rollback_alarm_names=(),
        kms_key_arn="",
        subnet_ids=(),
        security_group_ids=(),
        network_isolation=False,
    )
    model_name, config_name = resource_names(target, package)
    _ensure_model(sagemaker, target, model_name, package_arn)
    _ensure_endpoint_config(sagemaker, target, config_name, endpoint_variants(target, model_name, None))
    deployed = _deploy(sagemaker, stage_client, target, config_name, blue_green=False, autoscale=False)
    record_stage_deployment(client("sagemaker"), package_arn, {stage.deployed_key: deployed_at()})
    return {
        **result,
        "status": deployed,
        "endpoint_config_name": config_name,
        "model_name": model_name,
        **({"approved_by": approved_by} if approved_by else {}),
    }


def record_stage_deployment(sagemaker: Any, package_arn: str, record: Mapping[str, str]) -> None:
    """Add ``record`` to the package's ``CustomerMetadataProperties``, in the build account's
    registry with this function's own credentials. The properties are sent whole (the existing
    ones plus ``record``), which is right whether UpdateModelPackage merges or replaces them."""
    properties = sagemaker.describe_model_package(ModelPackageName=package_arn).get(
        "CustomerMetadataProperties", {}
    )
    sagemaker.update_model_package(
        ModelPackageArn=package_arn, CustomerMetadataProperties={**properties, **record}
    )


def deployed_at() -> str:
    """Now, to the microsecond: two deployments within one second still sort in the order they
    happened (a rollback right after a promotion)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda runtime's entry point: real boto3 clients (cached across warm starts), os.environ."""
    return handle(event, _client, os.environ)


_client = functools.cache(boto3.client)


def resource_names(config: DeployConfig, package: Mapping[str, Any]) -> tuple[str, str]:
    """(model name, endpoint-config name), deterministic from the package and the serving settings."""
    arn = package["ModelPackageArn"]
    base = f"{config.endpoint_name}-v{package['ModelPackageVersion']}"
    model = _bounded(base, _digest(arn + config.model_fingerprint))
    return model, _bounded(base, _digest(arn + config.model_fingerprint + config.fingerprint))


def _package_arn(event: dict[str, Any], config: DeployConfig) -> str:
    if event.get("detail-type") == PACKAGE_EVENT:
        arn = _detail(event).get("ModelPackageArn")
        if not isinstance(arn, str) or not arn:
            raise DeployError(f"{PACKAGE_EVENT} event has no detail.ModelPackageArn")
        return arn
    arn = event.get("model_package_arn")
    if arn is not None and (not isinstance(arn, str) or not arn):
        raise DeployError(f"event.model_package_arn must be a model package ARN, got {arn!r}")
    if not arn:
        raise DeployError(
            "event has neither detail-type "
            f"{PACKAGE_EVENT!r}/{ENDPOINT_EVENT!r} nor a 'model_package_arn' field "
            f"(got keys: {', '.join(map(repr, sorted(event))) or 'none'})"  # repr: a key may hold a newline
        )
    endpoint = event.get("endpoint_name", config.endpoint_name)
    if endpoint != config.endpoint_name:
        raise DeployError(f"this function deploys to {config.endpoint_name!r} only, not {endpoint!r}")
    return arn


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event's ``detail``, which AWS always sends as an object (absent: empty)."""
    detail = event.get("detail")
    if detail is None:
        return {}
    if not isinstance(detail, dict):
        raise DeployError(f"event.detail must be a JSON object, got {type(detail).__name__}")
    return detail


def _point_batch_model(sagemaker: Any, config: DeployConfig, package_arn: str) -> dict[str, str]:
    """Serving mode batch has no endpoint: make ``batch_model_name`` the approved package's model.

    A SageMaker model cannot be updated, so a model of another package is deleted and created
    again under the same name (CreateModel, DeleteModel:
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteModel.html); a transform
    job already running keeps the model it was created with. Idempotent: a redelivered event finds
    the model on this package and answers ``unchanged``.
    """
    name = config.batch_model_name
    result = {"model_name": name}
    try:
        model = sagemaker.describe_model(ModelName=name)
    except Exception as err:
        if not _is_not_found(err):
            raise
        model = None
    if model is not None:
        if (model.get("PrimaryContainer") or {}).get("ModelPackageName") == package_arn:
            return {**result, "status": "unchanged"}
        sagemaker.delete_model(ModelName=name)
    _ensure_model(sagemaker, config, name, package_arn)
    return {**result, "status": "created" if model is None else "updated"}


def _ensure_model(sagemaker: Any, config: DeployConfig, model_name: str, package_arn: str) -> None:
    if _exists(sagemaker, "describe_model", ModelName=model_name):
        return
    _create(
        sagemaker.create_model,
        ModelName=model_name,
        ExecutionRoleArn=config.model_role_arn,
        PrimaryContainer={"ModelPackageName": package_arn},
        Tags=config.resource_tags,
        **(
            {
                "VpcConfig": {
                    "Subnets": list(config.subnet_ids),
                    "SecurityGroupIds": list(config.security_group_ids),
                }
            }
            if config.subnet_ids
            else {}
        ),
        **({"EnableNetworkIsolation": True} if config.network_isolation else {}),
    )


@dataclass(frozen=True)
class CurrentVariants:
    """What the endpoint serves now, as far as a deploy cares: its config, each variant's model."""

    config_name: str
    models: dict[str, str]  # variant name -> model name (production and shadow variants)
    champion: str | None  # the model of the champion variant (settings.serving.variant_name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.models))

    def serves(self, model_name: str, config: DeployConfig) -> bool:
        """The model is already the challenger or shadow this deploy would make it (a redelivered
        event). As the champion it goes through the usual path, where a changed serving setting
        makes a new config."""
        return (
            config.new_model_as != REPLACE
            and model_name in self.models.values()
            and model_name != self.champion
        )


def current_variants(sagemaker: Any, config: DeployConfig) -> CurrentVariants | None:
    """The endpoint's current variants; None when there is no endpoint yet (or its config is gone)."""
    endpoint = _describe_endpoint(sagemaker, config.endpoint_name)
    if endpoint is None or not endpoint.get("EndpointConfigName"):
        return None
    name = endpoint["EndpointConfigName"]
    try:
        described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    except sagemaker.exceptions.ClientError as err:
        if _is_not_found(err):  # deleted while in use (SageMaker allows it): its variants are unknown
            return None
        raise
    models = {
        v["VariantName"]: v["ModelName"]
        for v in [*described.get("ProductionVariants", []), *described.get("ShadowProductionVariants", [])]
    }
    return CurrentVariants(name, models, models.get(config.variant_name))


def endpoint_variants(
    config: DeployConfig, model_name: str, champion: str | None
) -> dict[str, list[dict[str, Any]]]:
    """The variants of the endpoint config that serves ``model_name``: alone (it replaces the champion,
    or there is none yet), next to the champion as a weighted challenger, or behind it as its shadow.

    CreateEndpointConfig: with ShadowProductionVariants "you can only specify one variant for
    ProductionVariants and one variant for ShadowProductionVariants"
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html).
    """
    if champion is None or champion == model_name or config.new_model_as == REPLACE:
        return {"ProductionVariants": [production_variant(config, config.variant_name, model_name, 1.0)]}
    if config.new_model_as == CHALLENGER:
        weight = config.challenger_weight
        return {
            "ProductionVariants": [
                production_variant(config, config.variant_name, champion, round(1 - weight, 6)),
                production_variant(config, config.challenger_variant_name, model_name, weight),
            ]
        }
    if config.new_model_as == SHADOW:
        return {
            "ProductionVariants": [production_variant(config, config.variant_name, champion, 1.0)],
            "ShadowProductionVariants": [
                production_variant(config, config.shadow_variant_name, model_name, 1.0)
            ],
        }
    raise DeployError(
        f"environment NEW_MODEL_AS={config.new_model_as!r} is not one of {REPLACE}, {CHALLENGER}, {SHADOW}"
    )


def production_variant(config: DeployConfig, name: str, model_name: str, weight: float) -> dict[str, Any]:
    """One variant: instance-backed (real-time and async endpoints) or serverless."""
    if config.serving_mode == SERVERLESS:
        return {
            "VariantName": name,
            "ModelName": model_name,
            "ServerlessConfig": serverless_config(config),
            "InitialVariantWeight": weight,
        }
    return {
        "VariantName": name,
        "ModelName": model_name,
        "InstanceType": config.instance_type,
        "InitialInstanceCount": config.initial_instance_count,
        "InitialVariantWeight": weight,
    }


def variant_names(variants: Mapping[str, list[dict[str, Any]]]) -> tuple[str, ...]:
    return tuple(sorted(v["VariantName"] for group in variants.values() for v in group))


def variant_config_name(config: DeployConfig, package: Mapping[str, Any], variants: Mapping[str, Any]) -> str:
    """A challenger's or shadow's endpoint-config name: the package's, plus the variants it runs next to."""
    base = f"{config.endpoint_name}-v{package['ModelPackageVersion']}-{config.new_model_as}"
    _, single = resource_names(config, package)
    return _bounded(base, _digest(single + json.dumps(variants, sort_keys=True)))


def _ensure_endpoint_config(
    sagemaker: Any, config: DeployConfig, config_name: str, variants: Mapping[str, list[dict[str, Any]]]
) -> None:
    if _exists(sagemaker, "describe_endpoint_config", EndpointConfigName=config_name):
        return
    _create(sagemaker.create_endpoint_config, **endpoint_config_request(config, config_name, variants))


def endpoint_config_request(
    config: DeployConfig, config_name: str, variants: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """CreateEndpointConfig's arguments: the variants (:func:`endpoint_variants`) and what the
    serving mode adds to them (:data:`ENDPOINT_CONFIGS`)."""
    build = ENDPOINT_CONFIGS[config.serving_mode]
    return {"EndpointConfigName": config_name, **build(config, variants), "Tags": config.resource_tags}


def data_capture_config(config: DeployConfig) -> dict[str, Any]:
    """Inputs and outputs captured to ``capture_uri`` (real-time and async endpoints)."""
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": config.capture_sampling_percentage,
        "DestinationS3Uri": config.capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
        **({"KmsKeyId": config.kms_key_arn} if config.kms_key_arn else {}),
    }


def _volume_key(config: DeployConfig) -> dict[str, Any]:
    return {"KmsKeyId": config.kms_key_arn} if config.kms_key_arn else {}


Variants = Mapping[str, list[dict[str, Any]]]  # ProductionVariants (+ ShadowProductionVariants)


def realtime_endpoint_config(config: DeployConfig, variants: Variants) -> dict[str, Any]:
    return {**variants, "DataCaptureConfig": data_capture_config(config), **_volume_key(config)}


def serverless_endpoint_config(config: DeployConfig, variants: Variants) -> dict[str, Any]:
    """ServerlessConfig variants (:func:`production_variant`). Serverless endpoints support neither
    data capture nor a KMS key (feature exclusions,
    https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html): their inputs reach
    the drift monitor as capture records the client writes (docs/serving.md)."""
    return dict(variants)


def serverless_config(config: DeployConfig) -> dict[str, Any]:
    serverless: dict[str, Any] = {
        "MemorySizeInMB": config.serverless_memory_size_mb,
        "MaxConcurrency": config.serverless_max_concurrency,
    }
    if config.serverless_provisioned_concurrency:
        serverless["ProvisionedConcurrency"] = config.serverless_provisioned_concurrency
    return serverless


def async_endpoint_config(config: DeployConfig, variants: Variants) -> dict[str, Any]:
    """An instance variant with AsyncInferenceConfig: answers and failures to the project's S3,
    both notified on SNS; data capture as for real time
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AsyncInferenceConfig.html)."""
    output: dict[str, Any] = {
        "S3OutputPath": config.async_output_uri,
        "S3FailurePath": config.async_failure_uri,
        "NotificationConfig": {
            "SuccessTopic": config.async_success_topic_arn,
            "ErrorTopic": config.async_error_topic_arn,
        },
        **_volume_key(config),
    }
    return {
        **realtime_endpoint_config(config, variants),
        "AsyncInferenceConfig": {
            "OutputConfig": output,
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": config.async_max_concurrent_invocations},
        },
    }


ENDPOINT_CONFIGS: dict[str, Callable[[DeployConfig, Variants], dict[str, Any]]] = {
    REALTIME: realtime_endpoint_config,
    SERVERLESS: serverless_endpoint_config,
    ASYNC: async_endpoint_config,
}


def _deploy(
    sagemaker: Any,
    client: Callable[[str], Any],
    config: DeployConfig,
    config_name: str,
    *,
    blue_green: bool,
    autoscale: bool = True,
) -> str:
    """Create the endpoint or move it to ``config_name``; returns created|updated|unchanged.

    Blue/green (canary, bake, alarm rollback) only when the new config has the same variants as the
    old: "When doing a blue/green or rolling deployment, your new endpoint configuration must have
    the same variant name as the old endpoint configuration"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html). Adding
    or removing a challenger or shadow is a plain update. ``autoscale`` False: a stage endpoint,
    whose deploy role may not scale it.
    """
    endpoint = _describe_endpoint(sagemaker, config.endpoint_name)
    if endpoint is None:
        if _create(
            sagemaker.create_endpoint,
            EndpointName=config.endpoint_name,
            EndpointConfigName=config_name,
            Tags=config.resource_tags,
        ):
            if autoscale:
                _ensure_autoscaling_if_in_service(sagemaker, client, config)
            return "created"
        endpoint = _describe_endpoint(sagemaker, config.endpoint_name) or {}  # created meanwhile
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if config_name in (endpoint.get("EndpointConfigName"), pending):
        if autoscale:
            _ensure_autoscaling_if_in_service(sagemaker, client, config)
        return "unchanged"
    status = endpoint.get("EndpointStatus")
    if status in BUSY_STATUSES or status == "Failed":
        raise DeployError(
            f"endpoint {config.endpoint_name} is {status}; deploy {config_name} once it is {IN_SERVICE} "
            "(re-run the pipeline's Deploy step or re-send the approval)"
        )
    sagemaker.update_endpoint(
        EndpointName=config.endpoint_name,
        EndpointConfigName=config_name,
        **({"DeploymentConfig": deployment_config(config)} if blue_green else {}),
    )
    return "updated"


def deployment_config(config: DeployConfig) -> dict[str, Any]:
    """Blue/green: shift all at once (or a canary slice first), bake, then terminate the old
    fleet; roll back on any health alarm. A canary must be at most half the fleet, so one
    instance shifts all at once."""
    # A canary is a share of instances; a serverless variant has none, so it shifts all at once.
    routing_type = "ALL_AT_ONCE" if config.serving_mode == SERVERLESS else config.traffic_routing
    routing: dict[str, Any] = {
        "Type": routing_type,
        "WaitIntervalInSeconds": config.canary_wait_seconds,
    }
    if routing_type == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": config.canary_size_percent}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": config.termination_wait_seconds,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": name} for name in config.rollback_alarm_names]
        },
    }


def _on_endpoint_in_service(
    event: dict[str, Any], client: Callable[[str], Any], config: DeployConfig
) -> dict[str, Any]:
    name = _detail(event).get("EndpointName")
    result = {"endpoint_name": config.endpoint_name, "status": "unchanged"}
    if name != config.endpoint_name:
        return {**result, "status": "skipped", "reason": f"endpoint {name!r} is not ours"}
    if config.serving_mode not in AUTOSCALING:
        return {**result, "autoscaling": f"none: a {config.serving_mode} endpoint scales itself"}
    registered = _ensure_autoscaling_if_in_service(client("sagemaker"), client, config)
    return {**result, "autoscaling": "registered" if registered else "not in service yet"}


def _ensure_autoscaling_if_in_service(
    sagemaker: Any, client: Callable[[str], Any], config: DeployConfig
) -> bool:
    """The serving mode's auto scaling (:data:`AUTOSCALING`), once the endpoint is in service;
    idempotent: register and put overwrite. Serverless scales itself: nothing to attach."""
    attach = AUTOSCALING.get(config.serving_mode)
    if attach is None:
        return False
    endpoint = _describe_endpoint(sagemaker, config.endpoint_name)
    if endpoint is None or endpoint.get("EndpointStatus") != IN_SERVICE:
        return False
    attach(client, config)
    return True


def _resource_id(config: DeployConfig) -> str:
    return f"endpoint/{config.endpoint_name}/variant/{config.variant_name}"


def realtime_autoscaling(client: Callable[[str], Any], config: DeployConfig) -> None:
    """Target tracking on invocations per instance, between min and max capacity."""
    autoscaling = client("application-autoscaling")
    resource_id = _resource_id(config)
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=config.min_capacity,
        MaxCapacity=config.max_capacity,
    )
    autoscaling.put_scaling_policy(
        PolicyName=f"{config.endpoint_name}-invocations-per-instance",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(config.target_invocations_per_instance),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )


def async_autoscaling(client: Callable[[str], Any], config: DeployConfig) -> None:
    """Scale on the queue, down to zero instances, as AWS documents for async endpoints
    (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html): target
    tracking on ``ApproximateBacklogSizePerInstance`` between 0 and the maximum, and, because target
    tracking cannot scale out from zero, a step policy that adds an instance when the alarm on
    ``HasBacklogWithoutCapacity`` fires."""
    autoscaling, cloudwatch = client("application-autoscaling"), client("cloudwatch")
    resource_id = _resource_id(config)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": SCALABLE_DIMENSION,
    }
    autoscaling.register_scalable_target(**target, MinCapacity=0, MaxCapacity=config.async_max_capacity)
    autoscaling.put_scaling_policy(
        **target,
        PolicyName=f"{config.endpoint_name}-backlog-per-instance",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": config.async_target_backlog_per_instance,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": ENDPOINT_NAMESPACE,
                "Dimensions": [{"Name": "EndpointName", "Value": config.endpoint_name}],
                "Statistic": "Average",
            },
        },
    )
    step = autoscaling.put_scaling_policy(
        **target,
        PolicyName=f"{config.endpoint_name}-backlog-without-capacity",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    cloudwatch.put_metric_alarm(
        AlarmName=config.async_backlog_alarm_name,
        AlarmDescription="Requests queued while the endpoint has no instance: add one",
        MetricName="HasBacklogWithoutCapacity",
        Namespace=ENDPOINT_NAMESPACE,
        Dimensions=[{"Name": "EndpointName", "Value": config.endpoint_name}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=[step["PolicyARN"]],
    )


AUTOSCALING: dict[str, Callable[[Callable[[str], Any], DeployConfig], None]] = {
    REALTIME: realtime_autoscaling,
    ASYNC: async_autoscaling,
}


def _describe_endpoint(sagemaker: Any, name: str) -> dict[str, Any] | None:
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as err:
        if _is_not_found(err):
            return None
        raise


def _exists(sagemaker: Any, describe: str, **kwargs: str) -> bool:
    try:
        getattr(sagemaker, describe)(**kwargs)
    except sagemaker.exceptions.ClientError as err:
        if _is_not_found(err):
            return False
        raise
    return True


def _create(create: Callable[..., Any], **request: Any) -> bool:
    """Call a SageMaker Create; False when the resource already exists (another invocation
    deploying the same package created it between our describe and this call)."""
    try:
        create(**request)
    except Exception as err:  # the client's ClientError; its class lives on the client instance
        if _is_already_existing(err):
            return False
        raise
    return True


def _is_already_existing(err: Exception) -> bool:
    """SageMaker refuses a Create on an existing name: ValidationException 'Cannot create already
    existing ...' (models, endpoint configs, endpoints)."""
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "")
    return code == "ValidationException" and "already existing" in message.lower()


def _is_not_found(err: Exception) -> bool:
    """SageMaker answers a describe of a missing resource with ValidationException 'Could not find'."""
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "")
    return code == "ValidationException" and "could not find" in message.lower()


def publish_current_baseline(s3: Any, config: DeployConfig, package: Mapping[str, Any]) -> str:
    """Copy the package's data-quality baseline to the fixed ``current_baseline_uri``.

    A Model Monitor job definition takes one fixed baseline URI, while baselines are registered per
    model package; this copy keeps that URI on the package the endpoint serves (or is moving to).
    It runs on every deploy, ``unchanged`` included, so a retried event repairs a failed copy.
    Returns the URI written to, or why nothing was copied.
    """
    quality = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    sources = {name: (quality.get(part) or {}).get("S3Uri") for part, name in CURRENT_BASELINE_FILES.items()}
    if not all(sources.values()):
        return "not copied: the package has no DriftCheckBaselines.ModelDataQuality statistics/constraints"
    bucket, prefix = s3_uri.split(config.current_baseline_uri, key_required=True)
    for name, source in sources.items():
        source_bucket, source_key = s3_uri.split(source, key_required=True)
        s3.copy_object(
            Bucket=bucket,
            Key=f"{prefix.rstrip('/')}/{name}",
            CopySource={"Bucket": source_bucket, "Key": source_key},
        )
    return config.current_baseline_uri


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _bounded(base: str, suffix: str) -> str:
    return f"{base[: MAX_NAME_LENGTH - len(suffix) - 1]}-{suffix}"
