"""SageMaker hosting calls moto 5.2.5 lacks, added to the emulator: ``UpdateEndpoint``, shadow variants.

The deploy function moves an existing endpoint to a new endpoint config with ``UpdateEndpoint``
(blue/green); moto answers that action with "not implemented", so every redeploy in the local loop
would fail. :func:`install` adds the action to moto's SageMaker service (process-wide, so it works
for the in-process ``mock_aws`` and for the moto server the emulator runs): it checks the
endpoint and the config exist, the endpoint is InService and a canary is at most half the new fleet,
as SageMaker does, then switches the endpoint to the new config at once. Traffic shifting and bake times are not emulated; the request's
``DeploymentConfig`` is kept on the endpoint (``last_deployment_config``) for inspection.

moto also drops CreateEndpointConfig's ``ShadowProductionVariants`` (a shadow test's variant);
:func:`install` keeps them on the config, so DescribeEndpointConfig answers them as SageMaker does,
after checking their model exists and SageMaker's one-production-one-shadow rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from localcloud.moto_extensions.sagemaker_rules import (
    check_canary,
    check_guardrail_variants,
    check_shadow_variants,
    is_serverless,
)


def _backend_update_endpoint(
    self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, deployment_config: Any
) -> FakeEndpoint:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint_config_name not in self.endpoint_configs:
        arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint_config '{arn}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
    config = self.endpoint_configs[endpoint_config_name]
    current = self.endpoint_configs.get(endpoint.endpoint_config_name)
    if (
        current is not None
        and is_serverless(config.production_variants)
        and not is_serverless(current.production_variants)
    ):
        raise ValidationError(
            message=f"Cannot update endpoint '{endpoint.arn}' from instance-based to serverless; "
            "create a new endpoint to serve serverless"
        )
    for variant in config.production_variants:
        check_canary(deployment_config, int(variant.get("InitialInstanceCount", 1)))
    current = self.endpoint_configs.get(endpoint.endpoint_config_name)
    if current is not None:
        check_guardrail_variants(deployment_config, _variant_names(current), _variant_names(config))
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
    endpoint.data_capture_config = config.data_capture_config
    endpoint.last_deployment_config = deployment_config  # type: ignore[attr-defined]  # ours, not moto's
    endpoint.last_modified_time = utcnow()
    return endpoint


def _response_update_endpoint(self: SageMakerResponse) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(  # type: ignore[attr-defined]  # see install()
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def _variant_names(config: FakeEndpointConfig) -> set[str]:
    shadows = getattr(config, "shadow_production_variants", None) or []
    return {v["VariantName"] for v in [*config.production_variants, *shadows]}


def _with_shadow_variants(create: Callable[[SageMakerResponse], ActionResult]) -> Callable[..., ActionResult]:
    @functools.wraps(create)
    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        shadow = self._get_param("ShadowProductionVariants")
        check_shadow_variants(self._get_param("ProductionVariants") or [], shadow)
        if shadow:
            self.sagemaker_backend.validate_production_variants(shadow)  # their models exist
        result = create(self)
        if shadow:  # an attribute moto renders in DescribeEndpointConfig as ShadowProductionVariants
            config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
            config.shadow_production_variants = shadow  # type: ignore[attr-defined]
        return result

    create_endpoint_config._localcloud = True  # type: ignore[attr-defined]
    return create_endpoint_config


def install() -> None:
    """Add UpdateEndpoint (a no-op once moto implements it) and shadow variants to moto's SageMaker
    (idempotent)."""
    create = SageMakerResponse.create_endpoint_config
    if not getattr(create, "_localcloud", False):
        SageMakerResponse.create_endpoint_config = _with_shadow_variants(create)  # type: ignore[method-assign]
    if not hasattr(SageMakerModelBackend, "update_endpoint"):
        SageMakerModelBackend.update_endpoint = _backend_update_endpoint  # type: ignore[attr-defined]
    if not hasattr(SageMakerResponse, "update_endpoint"):
        SageMakerResponse.update_endpoint = _response_update_endpoint  # type: ignore[attr-defined]
