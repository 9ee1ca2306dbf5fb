"""The deploy function in each serving mode against moto (with the local cloud's SageMaker rules):
the endpoint config each mode creates, the auto scaling it attaches, and what SageMaker refuses."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from infra.lambda_environment import deploy_config, environment_for
from infra.lambdas.deploy import DeployConfig, DeployError, handle
from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from pipelines import settings as project_settings
from pipelines.settings import ASYNC, BATCH, SERVERLESS, ServerlessSettings, Settings, SettingsError
from tests.infra.test_deploy_handler import SETTINGS, Aws, step_event


@pytest.fixture
def moto_aws() -> Iterator[Aws]:
    """moto with the local cloud's SageMaker rules, as in test_deploy_handler."""
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        yield Aws()


def _in_mode(mode: str, **serving: Any) -> Settings:
    return dataclasses.replace(SETTINGS, serving=dataclasses.replace(SETTINGS.serving, mode=mode, **serving))


def _deploy(aws: Aws, settings: Settings, package_arn: str) -> dict[str, Any]:
    return handle(step_event(package_arn), aws.client, environment_for(settings, "deploy"))


def test_serverless_creates_a_serverless_variant_without_data_capture(moto_aws: Aws) -> None:
    settings = _in_mode(SERVERLESS, serverless=ServerlessSettings(memory_size_mb=3072, max_concurrency=7))
    result = _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    assert result["status"] == "created"
    config = moto_aws.endpoint_config()
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 7}
    assert "InstanceType" not in variant
    assert not config.get("DataCaptureConfig")
    # serverless scales itself: no scalable target
    assert (
        moto_aws.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    )


def test_serverless_provisioned_concurrency_reaches_the_config(moto_aws: Aws) -> None:
    serverless = ServerlessSettings(max_concurrency=10, provisioned_concurrency=2)
    _deploy(moto_aws, _in_mode(SERVERLESS, serverless=serverless), moto_aws.register_package("Approved"))
    (variant,) = moto_aws.endpoint_config()["ProductionVariants"]
    assert variant["ServerlessConfig"]["ProvisionedConcurrency"] == 2


def test_serverless_update_shifts_all_at_once_even_where_settings_say_canary(moto_aws: Aws) -> None:
    settings = _in_mode(SERVERLESS, traffic_routing="CANARY")
    _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    assert _deploy(moto_aws, settings, moto_aws.register_package("Approved"))["status"] == "updated"
    (update,) = moto_aws.sagemaker.updates
    routing = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"


def test_a_realtime_endpoint_cannot_be_updated_to_serverless(moto_aws: Aws) -> None:
    _deploy(moto_aws, SETTINGS, moto_aws.register_package("Approved"))
    with pytest.raises(Exception, match="instance-based to serverless"):
        _deploy(moto_aws, _in_mode(SERVERLESS), moto_aws.register_package("Approved"))


def test_async_creates_async_inference_config_in_the_project_bucket_with_both_topics(moto_aws: Aws) -> None:
    settings = _in_mode(ASYNC)
    _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    config = moto_aws.endpoint_config()
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    assert output["S3OutputPath"] == settings.async_output_uri
    assert output["S3FailurePath"] == settings.async_failure_uri
    assert output["S3OutputPath"].startswith(f"s3://{settings.bucket_name('capture')}/")
    assert output["NotificationConfig"] == {
        "SuccessTopic": settings.async_topic_arn("success"),
        "ErrorTopic": settings.async_topic_arn("error"),
    }
    client = config["AsyncInferenceConfig"]["ClientConfig"]
    assert client["MaxConcurrentInvocationsPerInstance"] == (
        settings.serving.async_inference.max_concurrent_invocations_per_instance
    )
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == settings.capture_uri  # async captures


def test_async_scales_on_the_backlog_down_to_zero_and_wakes_on_backlog_without_capacity(
    moto_aws: Aws,
) -> None:
    settings = _in_mode(ASYNC)
    _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    (target,) = moto_aws.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        0,
        settings.serving.async_inference.max_capacity,
    )
    policies = {
        p["PolicyType"]: p
        for p in moto_aws.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
            "ScalingPolicies"
        ]
    }
    metric = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"
    ]
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    step = policies["StepScaling"]
    (alarm,) = moto_aws.clients.cloudwatch.describe_alarms(AlarmNames=[settings.async_backlog_alarm_name])[
        "MetricAlarms"
    ]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [step["PolicyARN"]]


def test_async_rollback_alarms_are_the_queue_alarms(moto_aws: Aws) -> None:
    settings = _in_mode(ASYNC)
    _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    _deploy(moto_aws, settings, moto_aws.register_package("Approved"))
    (update,) = moto_aws.sagemaker.updates
    alarms = [a["AlarmName"] for a in update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    assert alarms == list(settings.endpoint_alarm_names.values())
    assert any("oldest-request-age" in name for name in alarms)


def test_batch_points_the_batch_model_at_each_approved_package_and_creates_no_endpoint(moto_aws: Aws) -> None:
    settings = _in_mode(BATCH)
    first, second = (moto_aws.register_package("Approved") for _ in range(2))
    assert _deploy(moto_aws, settings, first)["status"] == "created"
    assert _deploy(moto_aws, settings, first)["status"] == "unchanged"  # a redelivered event
    assert _deploy(moto_aws, settings, second)["status"] == "updated"
    model = moto_aws.sagemaker.describe_model(ModelName=settings.batch_model_name)
    assert model["PrimaryContainer"]["ModelPackageName"] == second
    assert moto_aws.sagemaker.list_endpoints()["Endpoints"] == []
    assert moto_aws.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_batch_has_no_endpoint_alarms() -> None:
    assert _in_mode(BATCH).endpoint_alarm_names == {}


def test_a_wrong_serving_mode_in_the_environment_is_a_one_line_error(moto_aws: Aws) -> None:
    env = {**environment_for(SETTINGS, "deploy"), "SERVING_MODE": "batchy"}
    with pytest.raises(
        DeployError, match="SERVING_MODE='batchy' is not one of realtime, serverless, async, batch"
    ):
        handle(step_event(moto_aws.register_package("Approved")), moto_aws.client, env)


@pytest.mark.parametrize(
    ("serverless", "message"),
    [
        ({"memory_size_mb": 1500}, "1024..6144 in 1024 MB steps"),
        ({"max_concurrency": 0}, "must be 1..200"),
        ({"max_concurrency": 201}, "must be 1..200"),
        ({"max_concurrency": 5, "provisioned_concurrency": 6}, r"\.\.max_concurrency \(5\)"),
    ],
)
def test_serverless_settings_out_of_aws_limits_are_one_line_errors(
    serverless: dict[str, int], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        ServerlessSettings(**serverless)
    assert "\n" not in str(raised.value)


def test_serverless_refuses_a_vpc(monkeypatch: pytest.MonkeyPatch) -> None:
    isolation = project_settings.IsolationConfig(subnet_ids=("subnet-1",), security_group_ids=("sg-1",))
    with pytest.raises(SettingsError, match="serverless does not support a VPC"):
        dataclasses.replace(_in_mode(SERVERLESS), isolation=isolation)


def test_the_mode_comes_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(project_settings.SERVING_MODE_ENV, "Async")
    assert project_settings.load("dev").serving.mode == ASYNC
    monkeypatch.setenv(project_settings.SERVING_MODE_ENV, "batchy")
    with pytest.raises(SettingsError, match="MLOPS_SERVING_MODE='batchy' must be one of"):
        project_settings.load("dev")


def test_serverless_refuses_the_model_monitor_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(project_settings.SERVING_MODE_ENV, "serverless")
    monkeypatch.setenv(project_settings.MODEL_MONITOR_SCHEDULE_ENV, "true")
    with pytest.raises(SettingsError, match="serverless does not support Model Monitor"):
        project_settings.load("dev")


@settings(max_examples=30, deadline=None)
@given(
    mode=st.sampled_from(project_settings.SERVING_MODES),
    memory=st.sampled_from(project_settings.SERVERLESS_MEMORY_SIZES_MB),
    backlog=st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False),
)
def test_the_deploy_config_round_trips_through_the_lambda_environment(
    mode: str, memory: int, backlog: float
) -> None:
    serving = dataclasses.replace(
        SETTINGS.serving,
        mode=mode,
        serverless=ServerlessSettings(memory_size_mb=memory),
        async_inference=project_settings.AsyncSettings(target_backlog_per_instance=backlog),
    )
    config = deploy_config(dataclasses.replace(SETTINGS, serving=serving))
    assert DeployConfig.from_env(config.to_env()) == config


def test_a_number_that_is_not_one_is_a_one_line_error() -> None:
    env = {**environment_for(SETTINGS, "deploy"), "ASYNC_TARGET_BACKLOG_PER_INSTANCE": "five"}
    with pytest.raises(
        DeployError, match=r"ASYNC_TARGET_BACKLOG_PER_INSTANCE='five' is not a number \(float\)"
    ):
        DeployConfig.from_env(env)


def test_the_function_knows_the_modes_settings_offer() -> None:
    """The handler carries no settings (it runs in Lambda), so its copy of the modes is checked here."""
    from infra.lambdas import deploy

    assert deploy.SERVING_MODES == project_settings.SERVING_MODES


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        ({"max_concurrent_invocations_per_instance": 0}, "must be 1..1000"),
        ({"max_capacity": 0}, "must be at least 1"),
        ({"target_backlog_per_instance": 0.0}, "must be above 0"),
    ],
)
def test_async_settings_out_of_limits_are_one_line_errors(queue: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        project_settings.AsyncSettings(**queue)
    assert "\n" not in str(raised.value)
