"""The deploy function against moto: create, update, duplicates, approvals, bad events, scaling.

moto runs with the local cloud's SageMaker extensions (UpdateEndpoint, and SageMaker's rules moto
does not enforce: a Create on an existing name is refused, a canary is at most half the fleet), so
what passes here would pass SageMaker's own checks. :class:`UpdateEndpointRecorder` records each
UpdateEndpoint request, so the blue/green configuration is asserted exactly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from infra.lambda_environment import environment_for
from infra.lambdas.deploy import DeployConfig, DeployError, handle, resource_names
from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from pipelines import settings as project_settings
from pipelines.settings import Settings
from processing_scripts import s3_uri
from processing_scripts.aws_clients import AwsClients, AwsTarget

SETTINGS = project_settings.load("dev")
ENV = environment_for(SETTINGS, "deploy")
SERVING_VARIABLES = ("TRAFFIC_ROUTING", "INITIAL_INSTANCE_COUNT", "CANARY_SIZE_PERCENT", "INSTANCE_TYPE")
FIXTURES = Path(__file__).resolve().parents[1] / "processing_scripts" / "drift" / "fixtures"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


class UpdateEndpointRecorder:
    """A SageMaker client whose update_endpoint records the call and moves moto's endpoint."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self.updates: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_endpoint(self, **request: Any) -> dict[str, str]:
        self.updates.append(request)
        return self._client.update_endpoint(**request)


class Aws:
    def __init__(self) -> None:
        self.clients = AwsClients(AwsTarget(region=SETTINGS.region))
        self.sagemaker = UpdateEndpointRecorder(self.clients.sagemaker, SETTINGS)
        self.autoscaling = self.clients.client("application-autoscaling")

    def client(self, service: str) -> Any:
        return self.sagemaker if service == "sagemaker" else self.clients.client(service)

    def register_package(
        self,
        status: str,
        group: str = SETTINGS.model_package_group,
        drift_check_baselines: dict[str, Any] | None = None,
    ) -> str:
        groups = self.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        if group not in {g["ModelPackageGroupName"] for g in groups}:
            self.sagemaker.create_model_package_group(ModelPackageGroupName=group)
        return self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [
                    {"Image": IMAGE, "ModelDataUrl": f"{SETTINGS.pipeline_artifacts_uri}/model.tar.gz"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            **({"DriftCheckBaselines": drift_check_baselines} if drift_check_baselines else {}),
        )["ModelPackageArn"]

    def deploy(self, event: dict[str, Any], env: dict[str, str] = ENV) -> dict[str, Any]:
        return handle(event, self.client, env)

    def endpoint_config(self) -> dict[str, Any]:
        name = self.sagemaker.describe_endpoint(EndpointName=SETTINGS.endpoint_name)["EndpointConfigName"]
        return self.sagemaker.describe_endpoint_config(EndpointConfigName=name)


@pytest.fixture
def aws() -> Iterator[Aws]:
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        yield Aws()


def step_event(package_arn: str) -> dict[str, Any]:
    """What the pipeline's Deploy LambdaStep sends."""
    return {"model_package_arn": package_arn, "endpoint_name": SETTINGS.endpoint_name}


def approval_event(package_arn: str, status: str = "Approved") -> dict[str, Any]:
    return {
        "id": "0d1e6f2a-5b3c-4f0e-9a7b-1c2d3e4f5a6b",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageArn": package_arn,
            "ModelPackageGroupName": SETTINGS.model_package_group,
            "ModelApprovalStatus": status,
        },
    }


def test_first_approved_package_creates_the_endpoint_with_data_capture(aws: Aws) -> None:
    arn = aws.register_package("Approved")
    result = aws.deploy(step_event(arn))
    assert result["status"] == "created"
    assert result["endpoint_name"] == SETTINGS.endpoint_name
    config = aws.endpoint_config()
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == SETTINGS.serving.variant_name
    assert variant["InstanceType"] == SETTINGS.serving.instance_type
    assert variant["InitialInstanceCount"] == SETTINGS.serving.initial_instance_count
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == SETTINGS.capture_uri
    assert capture["InitialSamplingPercentage"] == SETTINGS.serving.capture_sampling_percentage
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv"]}
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    model = aws.sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert model["ExecutionRoleArn"] == SETTINGS.role_arn(project_settings.MODEL_ROLE)


def test_autoscaling_is_registered_from_settings(aws: Aws) -> None:
    aws.deploy(step_event(aws.register_package("Approved")))
    resource_id = f"endpoint/{SETTINGS.endpoint_name}/variant/{SETTINGS.serving.variant_name}"
    (target,) = aws.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["ResourceId"] == resource_id
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        SETTINGS.serving.min_capacity,
        SETTINGS.serving.max_capacity,
    )
    (policy,) = aws.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == SETTINGS.serving.target_invocations_per_instance
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )


def test_duplicate_deliveries_are_a_no_op(aws: Aws) -> None:
    arn = aws.register_package("Approved")
    assert aws.deploy(step_event(arn))["status"] == "created"
    assert aws.deploy(approval_event(arn))["status"] == "unchanged"
    assert aws.deploy(approval_event(arn))["status"] == "unchanged"
    assert len(aws.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1
    assert len(aws.sagemaker.list_models()["Models"]) == 1
    assert aws.sagemaker.updates == []


@pytest.mark.parametrize(
    ("env", "routing_type"), [("dev", "ALL_AT_ONCE"), ("prod", "CANARY")], ids=["dev", "prod"]
)
def test_a_newer_package_updates_blue_green_with_rollback_alarms(
    aws: Aws, env: str, routing_type: str
) -> None:
    """dev's single instance shifts all at once (a 10 % canary of one instance is the whole fleet,
    which SageMaker refuses; so did the emulator before this was fixed); prod's two take a canary."""
    settings = project_settings.load(env)
    # That environment's serving settings, on the names the events here carry (dev's).
    env_vars = {
        **ENV,
        **{k: v for k, v in environment_for(settings, "deploy").items() if k in SERVING_VARIABLES},
    }
    first = aws.deploy(step_event(aws.register_package("Approved")), env_vars)
    second = aws.deploy(approval_event(aws.register_package("Approved")), env_vars)
    assert second["status"] == "updated"
    assert second["endpoint_config_name"] != first["endpoint_config_name"]
    (update,) = aws.sagemaker.updates
    assert update["EndpointConfigName"] == second["endpoint_config_name"]
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    assert routing["Type"] == routing_type == settings.serving.traffic_routing
    if routing_type == "CANARY":
        assert routing["CanarySize"] == {
            "Type": "CAPACITY_PERCENT",
            "Value": settings.serving.canary_size_percent,
        }
    else:
        assert "CanarySize" not in routing
    assert routing["WaitIntervalInSeconds"] == settings.serving.canary_wait_seconds
    assert policy["TerminationWaitInSeconds"] == settings.serving.termination_wait_seconds
    alarms = update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in alarms] == list(SETTINGS.endpoint_alarm_names.values())
    assert aws.deploy(approval_event(aws.register_package("Rejected")), env_vars)["status"] == "skipped"
    assert aws.endpoint_config()["EndpointConfigName"] == second["endpoint_config_name"]


def test_a_canary_of_a_single_instance_is_refused_as_sagemaker_does(aws: Aws) -> None:
    canary_on_one = {**ENV, "TRAFFIC_ROUTING": "CANARY"}
    aws.deploy(step_event(aws.register_package("Approved")), canary_on_one)
    with pytest.raises(aws.sagemaker.exceptions.ClientError, match="at most 50% of the fleet"):
        aws.deploy(step_event(aws.register_package("Approved")), canary_on_one)


def test_two_callers_deploying_the_same_package_at_once_both_succeed(aws: Aws) -> None:
    """The approval event and the Deploy step may race: each describes, finds nothing, creates.
    The loser's Creates are refused as already existing; that is success, not a failed deploy."""
    package = aws.register_package("Approved")
    winner = aws.deploy(step_event(package))

    class StaleView(UpdateEndpointRecorder):
        """What the loser saw: its describes ran before the winner's creates."""

        def describe_model(self, **_: Any) -> dict[str, Any]:
            raise self._client.exceptions.ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Could not find model"}}, "DescribeModel"
            )

        describe_endpoint_config = describe_model

    stale = StaleView(aws.clients.sagemaker, SETTINGS)
    loser = handle(step_event(package), lambda s: stale if s == "sagemaker" else aws.client(s), ENV)
    assert winner["status"] == "created" and loser["status"] == "unchanged"
    assert loser["endpoint_config_name"] == winner["endpoint_config_name"]


def test_the_model_its_config_and_the_endpoint_carry_the_cost_allocation_tags(aws: Aws) -> None:
    result = aws.deploy(step_event(aws.register_package("Approved")))
    expected = [{"Key": k, "Value": v} for k, v in sorted(SETTINGS.tags.items())]
    arns = [
        aws.sagemaker.describe_model(ModelName=result["model_name"])["ModelArn"],
        aws.sagemaker.describe_endpoint_config(EndpointConfigName=result["endpoint_config_name"])[
            "EndpointConfigArn"
        ],
        aws.sagemaker.describe_endpoint(EndpointName=SETTINGS.endpoint_name)["EndpointArn"],
    ]
    for arn in arns:
        assert sorted(aws.sagemaker.list_tags(ResourceArn=arn)["Tags"], key=lambda t: t["Key"]) == expected, (
            arn
        )


def test_names_are_derived_from_the_package_version(aws: Aws) -> None:
    result = aws.deploy(step_event(aws.register_package("Approved")))
    assert result["model_name"].startswith(f"{SETTINGS.endpoint_name}-v1-")
    assert result["endpoint_config_name"].startswith(f"{SETTINGS.endpoint_name}-v1-")
    assert len(result["endpoint_config_name"]) <= 63


@pytest.mark.parametrize("status", ["Rejected", "PendingManualApproval"])
def test_packages_that_are_not_approved_are_skipped(aws: Aws, status: str) -> None:
    arn = aws.register_package(status)
    result = aws.deploy(step_event(arn))
    assert result["status"] == "skipped"
    assert status in result["reason"]
    assert aws.sagemaker.list_endpoints()["Endpoints"] == []


def test_a_stale_approval_event_for_a_since_rejected_package_is_skipped(aws: Aws) -> None:
    arn = aws.register_package("Rejected")
    assert aws.deploy(approval_event(arn, status="Approved"))["status"] == "skipped"


def test_packages_of_another_group_are_skipped(aws: Aws) -> None:
    result = aws.deploy(step_event(aws.register_package("Approved", group="someone-elses-models")))
    assert result["status"] == "skipped"
    assert "someone-elses-models" in result["reason"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "neither detail-type"),
        ({"hello": "world"}, "got keys: 'hello'"),
        # Found by the robustness campaign: a key with a newline made the message two lines.
        ({"a\nb": 1}, r"got keys: 'a\\nb'\)$"),
        (["not", "an", "object"], "must be a JSON object"),
        ({"detail-type": "SageMaker Model Package State Change", "detail": {}}, "detail.ModelPackageArn"),
        # A detail that is not an object crashed the handler (issue 11, defect 10).
        (
            {"detail-type": "SageMaker Model Package State Change", "detail": "x"},
            "detail must be a JSON object",
        ),
        (
            {"detail-type": "SageMaker Model Package State Change", "detail": {"ModelPackageArn": 5}},
            "detail.ModelPackageArn",
        ),
        ({"detail-type": "SageMaker Endpoint State Change", "detail": []}, "detail must be a JSON object"),
        ({"model_package_arn": "arn:x", "endpoint_name": "other-endpoint"}, "not 'other-endpoint'"),
        # Found by the robustness campaign: botocore's ParamValidationError escaped instead.
        ({"model_package_arn": 1}, "model_package_arn must be a model package ARN, got 1"),
        ({"model_package_arn": ["arn:x"]}, "must be a model package ARN"),
    ],
)
def test_bad_events_fail_with_a_clear_message(aws: Aws, event: Any, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        aws.deploy(event)


def test_missing_environment_is_named() -> None:
    with pytest.raises(DeployError, match="ENDPOINT_NAME"):
        handle({}, lambda service: None, {k: v for k, v in ENV.items() if k != "ENDPOINT_NAME"})


def test_endpoint_in_service_event_attaches_autoscaling(aws: Aws) -> None:
    aws.deploy(step_event(aws.register_package("Approved")))
    aws.autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{SETTINGS.endpoint_name}/variant/{SETTINGS.serving.variant_name}",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    event = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": SETTINGS.endpoint_name, "EndpointStatus": "IN_SERVICE"},
    }
    assert aws.deploy(event) == {
        "endpoint_name": SETTINGS.endpoint_name,
        "status": "unchanged",
        "autoscaling": "registered",
    }
    assert (
        len(aws.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1
    )
    other = event | {"detail": {"EndpointName": "other", "EndpointStatus": "IN_SERVICE"}}
    assert aws.deploy(other)["status"] == "skipped"


def upload_baseline(aws: Aws, execution: str, item_count: int) -> dict[str, Any]:
    """A baseline step's outputs in the artifacts bucket, as DriftCheckBaselines registers them."""
    s3 = aws.clients.client("s3")
    bucket = SETTINGS.bucket_name("artifacts")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    statistics = json.loads((FIXTURES / "model_monitor_statistics.json").read_text())
    statistics["dataset"]["item_count"] = item_count
    files = {
        "statistics.json": json.dumps(statistics).encode(),
        "constraints.json": (FIXTURES / "model_monitor_constraints.json").read_bytes(),
    }
    prefix = f"pipelines/{SETTINGS.training_pipeline_name}/{execution}/Baseline/baseline"
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    uri = f"s3://{bucket}/{prefix}"
    return {
        "ModelDataQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{uri}/statistics.json"},
            "Constraints": {"ContentType": "application/json", "S3Uri": f"{uri}/constraints.json"},
        }
    }


def current_baseline(aws: Aws, name: str) -> bytes:
    bucket, prefix = s3_uri.split(SETTINGS.current_baseline_uri)
    return aws.clients.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read()


def test_the_served_packages_baseline_is_copied_to_the_current_baseline_location(aws: Aws) -> None:
    first = upload_baseline(aws, "execution-1", item_count=1000)
    result = aws.deploy(step_event(aws.register_package("Approved", drift_check_baselines=first)))
    assert result["current_baseline"] == SETTINGS.current_baseline_uri
    assert json.loads(current_baseline(aws, "statistics.json"))["dataset"]["item_count"] == 1000
    assert (
        current_baseline(aws, "constraints.json")
        == (FIXTURES / "model_monitor_constraints.json").read_bytes()
    )

    second = upload_baseline(aws, "execution-2", item_count=2000)
    result = aws.deploy(approval_event(aws.register_package("Approved", drift_check_baselines=second)))
    assert result["status"] == "updated"
    assert json.loads(current_baseline(aws, "statistics.json"))["dataset"]["item_count"] == 2000


def test_a_package_without_baselines_deploys_and_says_nothing_was_copied(aws: Aws) -> None:
    result = aws.deploy(step_event(aws.register_package("Approved")))
    assert result["status"] == "created"
    assert result["current_baseline"].startswith("not copied: ")


def test_isolation_settings_reach_the_model_and_the_endpoint_config(aws: Aws) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    isolated = dataclasses.replace(
        SETTINGS,
        isolation=project_settings.IsolationConfig(
            kms_key_arn=key, subnet_ids=("subnet-1",), security_group_ids=("sg-1",), network_isolation=True
        ),
    )
    created: list[dict[str, Any]] = []
    create_model = aws.sagemaker.create_model
    aws.sagemaker.create_model = lambda **request: created.append(request) or create_model(**request)  # type: ignore[method-assign]
    result = aws.deploy(step_event(aws.register_package("Approved")), environment_for(isolated, "deploy"))
    model = aws.sagemaker.describe_model(ModelName=result["model_name"])
    assert model["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert [request["EnableNetworkIsolation"] for request in created] == [True]  # moto does not echo it
    config = aws.endpoint_config()
    assert config["KmsKeyId"] == key and config["DataCaptureConfig"]["KmsKeyId"] == key
    off = resource_names_for(SETTINGS, result)
    assert result["model_name"] != off[0] and result["endpoint_config_name"] != off[1]


def resource_names_for(settings: Settings, result: dict[str, Any]) -> tuple[str, str]:
    """The names the same package gets without isolation (the defaults keep the old names)."""
    package = {"ModelPackageArn": result["model_package_arn"], "ModelPackageVersion": 1}
    return resource_names(DeployConfig.from_env(environment_for(settings, "deploy")), package)
