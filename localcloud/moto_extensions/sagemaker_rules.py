"""SageMaker's service rules that moto 5.2.5 does not enforce, where the project's path uses them.

moto accepts what SageMaker refuses, so the local loop could pass with a deploy that fails in AWS.
:func:`install` makes moto's SageMaker as strict as the API reference says (process-wide, like the
other extensions), each rule citing its source:

* **Create on a name that exists is refused** (moto overwrites the resource). CreateModel,
  CreateEndpointConfig, CreateEndpoint: "Cannot create already existing ..." (ValidationException),
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html and the
  CreateEndpointConfig/CreateEndpoint pages ("names must be unique within an AWS Region in an AWS
  account"); CreateModelPackageGroup likewise. moto already refuses a second CreatePipeline.
* **Names**: 1-63 characters of ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` for models, endpoint
  configs, endpoints and package groups; pipelines up to 256 (the ``ModelName``/``EndpointName``/
  ``ModelPackageGroupName``/``PipelineName`` constraints in the API reference).
* **StartPipelineExecution is idempotent on ClientRequestToken**: the same token starts no
  second execution and answers the first one's ARN (botocore checks its length client-side),
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html
* **A blue/green canary is at most half the fleet** (checked by ``UpdateEndpoint`` in
  :mod:`localcloud.moto_extensions.sagemaker_hosting`): "the canary size ... must be less than or
  equal to 50% of the new fleet's capacity", the size in instances rounded up,
  https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html
* **A blue/green or rolling update keeps the variant names** (checked by ``UpdateEndpoint``): "your
  new endpoint configuration must have the same variant name as the old endpoint configuration",
  https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html
* **A shadow variant shadows exactly one production variant** (checked by ``CreateEndpointConfig``
  in :mod:`localcloud.moto_extensions.sagemaker_hosting`, which adds ShadowProductionVariants):
  "If you use this field, you can only specify one variant for ProductionVariants and one variant
  for ShadowProductionVariants"; variant names are unique within the config,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html
* **UpdateModelPackage keeps the metadata it is not told to change** (moto replaces
  ``CustomerMetadataProperties`` with the request's, so approving a version erased its lineage):
  the given properties are added or updated, ``CustomerMetadataPropertiesToRemove`` removes; and
  it keeps the approval status and description when the request names none (moto set them to
  null, so recording a prod approval un-approved the version),
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html
* **Serverless endpoint configs**: ``MaxConcurrency`` 1..200 and ``ProvisionedConcurrency`` at most
  that (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html;
  moto checks only the memory size), no data capture on a serverless variant and no second
  production variant beside it (feature exclusions,
  https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
* **An instance-based endpoint cannot become serverless** (checked by ``UpdateEndpoint``): "If you
  try to update your real-time endpoint to serverless, you receive a ValidationError" (same page).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.utils import arn_formatter

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,%d}$"
MAX_CANARY_SHARE = 0.5


def _name_rule(field: str, max_length: int) -> Callable[[str], None]:
    pattern = NAME_PATTERN % (max_length - 1)

    def check(name: str) -> None:
        if not isinstance(name, str) or not re.fullmatch(pattern, name):
            raise ValidationError(
                message=f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {pattern} "
                f"(at most {max_length} characters)"
            )

    return check


# backend method -> (name argument, API field, max length, ARN type, registry attribute, label)
_CREATES: dict[str, tuple[str, str, int, str, str, str]] = {
    "create_model": ("model_name", "modelName", 63, "model", "_models", "model"),
    "create_endpoint_config": (
        "endpoint_config_name",
        "endpointConfigName",
        63,
        "endpoint-config",
        "endpoint_configs",
        "endpoint configuration",
    ),
    "create_endpoint": ("endpoint_name", "endpointName", 63, "endpoint", "endpoints", "endpoint"),
    "create_model_package_group": (
        "model_package_group_name",
        "modelPackageGroupName",
        63,
        "model-package-group",
        "model_package_groups",
        "model package group",
    ),
    "create_pipeline": ("pipeline_name", "pipelineName", 256, "pipeline", "pipelines", "pipeline"),
}


def _refusing_existing(
    method: Callable[..., Any], rule: tuple[str, str, int, str, str, str]
) -> Callable[..., Any]:
    argument, field, max_length, arn_type, registry, label = rule
    check_name = _name_rule(field, max_length)
    signature = inspect.signature(method)

    @functools.wraps(method)
    def create(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        name = signature.bind(self, *args, **kwargs).arguments[argument]
        check_name(name)
        existing: Mapping[str, Any] = getattr(self, registry)
        if name in existing:
            arn = arn_formatter(arn_type, name, self.account_id, self.region_name)
            raise ValidationError(message=f'Cannot create already existing {label} "{arn}".')
        return method(self, *args, **kwargs)

    create._localcloud = True  # type: ignore[attr-defined]
    return create


def _idempotent_start(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def start(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        token = bound.get("client_request_token")
        if token is not None:
            pipeline = self.pipelines.get(bound["pipeline_name"])
            for arn, execution in pipeline.pipeline_executions.items() if pipeline else ():
                if execution.client_request_token == token:
                    return {"PipelineExecutionArn": arn}
        return method(self, *args, **kwargs)

    start._localcloud = True  # type: ignore[attr-defined]
    return start


def _merging_metadata(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def update(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        arn = bound.arguments["model_package_arn"]
        package = self.model_packages.get(self.model_package_name_mapping.get(arn, arn))
        if package is not None:
            given = bound.arguments.get("customer_metadata_properties") or {}
            bound.arguments["customer_metadata_properties"] = {
                **(package.customer_metadata_properties or {}),
                **given,
            } or None
            for field, kept in (
                ("model_approval_status", package.model_approval_status),
                ("approval_description", package.approval_description),
            ):
                if bound.arguments.get(field) is None:
                    bound.arguments[field] = kept
        return method(*bound.args, **bound.kwargs)

    update._localcloud = True  # type: ignore[attr-defined]
    return update


def canary_instances(traffic_routing: Mapping[str, Any], instance_count: int) -> int:
    """Instances a canary takes: a count as given, a capacity percentage rounded up."""
    size = traffic_routing.get("CanarySize") or {}
    value = size.get("Value", 0)
    if size.get("Type") == "CAPACITY_PERCENT":
        return math.ceil(instance_count * value / 100)
    return int(value)


def check_canary(deployment_config: Mapping[str, Any] | None, instance_count: int) -> None:
    """Refuse a blue/green CANARY larger than half the new fleet (see the module docstring)."""
    policy = (deployment_config or {}).get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {}
    if routing.get("Type") != "CANARY":
        return
    canary = canary_instances(routing, instance_count)
    if canary > MAX_CANARY_SHARE * instance_count:
        raise ValidationError(
            message=f"Canary size {routing.get('CanarySize')} is {canary} of {instance_count} instance(s); "
            f"it must be at most 50% of the fleet's capacity (use ALL_AT_ONCE or LINEAR for a "
            "single instance)"
        )


def check_serverless_variants(production_variants: list[dict[str, Any]], data_capture: Any) -> None:
    """Refuse what SageMaker refuses in a serverless variant (see the module docstring)."""
    if is_serverless(production_variants) and len(production_variants) > 1:
        raise ValidationError(
            message="A serverless endpoint configuration has one production variant "
            "(multiple production variants are a serverless feature exclusion)"
        )
    for variant in production_variants or []:
        serverless = variant.get("ServerlessConfig")
        if not serverless:
            continue
        maximum = serverless.get("MaxConcurrency")
        if not isinstance(maximum, int) or not 1 <= maximum <= 200:
            raise ValidationError(
                message=f"Value '{maximum}' at 'MaxConcurrency' failed to satisfy constraint: "
                "Member must have value between 1 and 200"
            )
        provisioned = serverless.get("ProvisionedConcurrency")
        if provisioned is not None and not 1 <= provisioned <= maximum:
            raise ValidationError(
                message=f"ProvisionedConcurrency {provisioned} must be between 1 and MaxConcurrency ({maximum})"
            )
        if data_capture and (data_capture.get("EnableCapture", True)):
            raise ValidationError(
                message="DataCaptureConfig is not supported for serverless endpoints (variant "
                f"{variant.get('VariantName')!r})"
            )


def is_serverless(production_variants: list[dict[str, Any]]) -> bool:
    return any(variant.get("ServerlessConfig") for variant in production_variants or [])


def _checking_serverless(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def create(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        check_serverless_variants(bound.get("production_variants") or [], bound.get("data_capture_config"))
        return method(self, *args, **kwargs)

    create._localcloud_serverless = True  # type: ignore[attr-defined]
    return create


def check_guardrail_variants(
    deployment_config: Mapping[str, Any] | None, old_names: set[str], new_names: set[str]
) -> None:
    """Refuse a blue/green or rolling update that changes the variant names (module docstring)."""
    policies = ("BlueGreenUpdatePolicy", "RollingUpdatePolicy")
    if any((deployment_config or {}).get(p) for p in policies) and old_names != new_names:
        raise ValidationError(
            message=f"A blue/green or rolling deployment needs the same variant names in the new endpoint "
            f"configuration ({sorted(new_names)}) as in the current one ({sorted(old_names)}); update "
            "without DeploymentConfig to add or remove a variant"
        )


def check_shadow_variants(production: list[dict[str, Any]], shadow: list[dict[str, Any]] | None) -> None:
    """One production and one shadow variant when there are shadows; unique variant names."""
    names = [v.get("VariantName") for v in [*production, *(shadow or [])]]
    if len(set(names)) != len(names):
        raise ValidationError(
            message=f"Variant names must be unique within an endpoint configuration: {names}"
        )
    if shadow is not None and (len(production) != 1 or len(shadow) != 1):
        raise ValidationError(
            message=f"With ShadowProductionVariants you can only specify one variant for ProductionVariants "
            f"and one for ShadowProductionVariants (got {len(production)} and {len(shadow)})"
        )


def install() -> None:
    """Make moto's SageMaker enforce the rules above (idempotent, process-wide)."""
    create_config = SageMakerModelBackend.create_endpoint_config
    if not getattr(create_config, "_localcloud_serverless", False):
        SageMakerModelBackend.create_endpoint_config = _checking_serverless(create_config)  # type: ignore[method-assign]
    for method_name, rule in _CREATES.items():
        method = getattr(SageMakerModelBackend, method_name)
        if not getattr(method, "_localcloud", False):
            setattr(SageMakerModelBackend, method_name, _refusing_existing(method, rule))
    start = SageMakerModelBackend.start_pipeline_execution
    if not getattr(start, "_localcloud", False):
        SageMakerModelBackend.start_pipeline_execution = _idempotent_start(start)  # type: ignore[method-assign]
    update = SageMakerModelBackend.update_model_package
    if not getattr(update, "_localcloud", False):
        SageMakerModelBackend.update_model_package = _merging_metadata(update)  # type: ignore[method-assign]
