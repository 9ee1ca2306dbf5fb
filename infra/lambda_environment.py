"""The Lambda functions' environment variables, built from settings in one place.

The CDK stack sets exactly this on each function and the local executor passes the same mapping to
the handlers, so the deployed and the local run cannot disagree about an endpoint, alarm or cooldown.
"""

from __future__ import annotations

from infra.lambdas.deploy import DeployConfig, StageTarget
from infra.lambdas.retrain_guard import GuardConfig
from pipelines import parameters
from pipelines.settings import FUNCTION_PURPOSES, MODEL_ROLE, Settings, SettingsError


def deploy_config(settings: Settings) -> DeployConfig:
    serving = settings.serving
    return DeployConfig(
        model_package_group=settings.model_package_group,
        endpoint_name=settings.endpoint_name,
        model_role_arn=settings.role_arn(MODEL_ROLE),
        variant_name=serving.variant_name,
        instance_type=serving.instance_type,
        initial_instance_count=serving.initial_instance_count,
        capture_uri=settings.capture_uri,
        capture_sampling_percentage=serving.capture_sampling_percentage,
        min_capacity=serving.min_capacity,
        max_capacity=serving.max_capacity,
        target_invocations_per_instance=serving.target_invocations_per_instance,
        traffic_routing=serving.traffic_routing,
        canary_size_percent=serving.canary_size_percent,
        canary_wait_seconds=serving.canary_wait_seconds,
        termination_wait_seconds=serving.termination_wait_seconds,
        rollback_alarm_names=tuple(settings.endpoint_alarm_names.values()),
        current_baseline_uri=settings.current_baseline_uri,
        tags=tuple(sorted(settings.tags.items())),
        kms_key_arn=settings.isolation.kms_key_arn,
        subnet_ids=settings.isolation.subnet_ids,
        security_group_ids=settings.isolation.security_group_ids,
        network_isolation=settings.isolation.network_isolation,
        serving_mode=serving.mode,
        serverless_memory_size_mb=serving.serverless.memory_size_mb,
        serverless_max_concurrency=serving.serverless.max_concurrency,
        serverless_provisioned_concurrency=serving.serverless.provisioned_concurrency,
        async_output_uri=settings.async_output_uri,
        async_failure_uri=settings.async_failure_uri,
        async_success_topic_arn=settings.async_topic_arn("success"),
        async_error_topic_arn=settings.async_topic_arn("error"),
        async_max_concurrent_invocations=serving.async_inference.max_concurrent_invocations_per_instance,
        async_max_capacity=serving.async_inference.max_capacity,
        async_target_backlog_per_instance=serving.async_inference.target_backlog_per_instance,
        async_backlog_alarm_name=settings.async_backlog_alarm_name,
        batch_model_name=settings.batch_model_name,
        new_model_as=serving.new_model_as,
        challenger_weight=serving.challenger_weight,
        challenger_variant_name=serving.challenger_variant_name,
        shadow_variant_name=serving.shadow_variant_name,
    )


def stage_targets(settings: Settings) -> list[StageTarget]:
    """The stages the deploy function deploys to (none without ``MLOPS_STAGES``: no variable)."""
    first = settings.stages[0] if settings.stages else None
    return [
        StageTarget(
            name=stage.name,
            region=stage.region,
            deploy_role_arn=settings.stage_role_arn(stage, "deploy"),
            model_role_arn=settings.stage_role_arn(stage, "model"),
            endpoint_name=settings.stage_endpoint_name(stage),
            approval_key="" if stage == first else settings.stage_approval_key(stage, "approved-by"),
            deployed_key=settings.stage_approval_key(stage, "deployed-at"),
        )
        for stage in settings.stages
    ]


def guard_config(settings: Settings) -> GuardConfig:
    """The guard may start the training pipeline only: retraining is its single job."""
    return GuardConfig(
        cooldown_minutes=settings.retraining.cooldown_minutes,
        allowed_pipelines=(settings.training_pipeline_name,),
        data_snapshot_parameter=parameters.DATA_SNAPSHOT,
    )


def environment_for(settings: Settings, purpose: str) -> dict[str, str]:
    """Environment variables for the function with this purpose (``deploy`` or ``retrain-guard``)."""
    if purpose == "deploy":
        return {**deploy_config(settings).to_env(), **StageTarget.to_env(stage_targets(settings))}
    if purpose == "retrain-guard":
        return guard_config(settings).to_env()
    raise SettingsError(f"unknown function {purpose!r}; use one of {FUNCTION_PURPOSES}")
