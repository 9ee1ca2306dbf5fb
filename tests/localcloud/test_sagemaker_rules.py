"""The emulator refuses what SageMaker refuses and moto 5.2.5 accepts (see sagemaker_rules)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from pipelines import settings as project_settings
from processing_scripts.aws_clients import AwsClients, AwsTarget

SETTINGS = project_settings.load("dev")
ROLE = SETTINGS.role_arn(project_settings.MODEL_ROLE)
VARIANT = {"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        yield AwsClients(AwsTarget(region=SETTINGS.region)).sagemaker


def _model(sagemaker: Any, name: str = "m") -> None:
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "image"})


def _config(sagemaker: Any, name: str, instances: int = 1) -> None:
    variant = {**VARIANT, "ModelName": "m", "InitialInstanceCount": instances}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])


def test_creating_what_exists_is_refused_instead_of_overwritten(sagemaker: Any) -> None:
    _model(sagemaker)
    _config(sagemaker, "c")
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    attempts = [
        lambda: _model(sagemaker),
        lambda: _config(sagemaker, "c"),
        lambda: sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c"),
        lambda: sagemaker.create_model_package_group(ModelPackageGroupName="g"),
    ]
    for attempt in attempts:
        with pytest.raises(sagemaker.exceptions.ClientError, match="Cannot create already existing"):
            attempt()


@given(name=st.text(min_size=0, max_size=70))
def test_names_follow_sagemakers_pattern_and_length(name: str) -> None:
    valid = bool(name) and len(name) <= 63 and name[0].isascii() and name[0].isalnum()
    valid = valid and all(c == "-" or (c.isascii() and c.isalnum()) for c in name) and not name.endswith("-")
    check = sagemaker_rules._name_rule("modelName", 63)
    if valid:
        check(name)
    else:
        with pytest.raises(Exception, match="failed to satisfy constraint"):
            check(name)


def test_a_name_too_long_for_sagemaker_is_refused(sagemaker: Any) -> None:
    with pytest.raises(sagemaker.exceptions.ClientError, match="at most 63 characters"):
        _model(sagemaker, "m" * 64)


def _pipeline(sagemaker: Any) -> None:
    definition = {"Version": "2020-12-01", "Steps": []}
    sagemaker.create_pipeline(PipelineName="p", PipelineDefinition=json.dumps(definition), RoleArn=ROLE)


def test_the_same_client_request_token_starts_one_execution(sagemaker: Any) -> None:
    _pipeline(sagemaker)
    token = str(uuid.uuid4())
    first = sagemaker.start_pipeline_execution(PipelineName="p", ClientRequestToken=token)
    again = sagemaker.start_pipeline_execution(PipelineName="p", ClientRequestToken=token)
    other = sagemaker.start_pipeline_execution(PipelineName="p", ClientRequestToken=str(uuid.uuid4()))
    assert first["PipelineExecutionArn"] == again["PipelineExecutionArn"] != other["PipelineExecutionArn"]
    summaries = sagemaker.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"]
    assert len(summaries) == 2


@pytest.mark.parametrize(("instances", "percent", "allowed"), [(1, 10, False), (2, 10, True), (2, 60, False)])
def test_a_canary_larger_than_half_the_fleet_is_refused(
    sagemaker: Any, instances: int, percent: int, allowed: bool
) -> None:
    _model(sagemaker)
    _config(sagemaker, "old", instances)
    _config(sagemaker, "new", instances)
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="old")
    routing = {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent},
        "WaitIntervalInSeconds": 60,
    }
    request = {
        "EndpointName": "e",
        "EndpointConfigName": "new",
        "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}},
    }
    if allowed:
        sagemaker.update_endpoint(**request)
    else:
        with pytest.raises(sagemaker.exceptions.ClientError, match="at most 50% of the fleet"):
            sagemaker.update_endpoint(**request)


def test_approving_a_version_keeps_its_metadata(sagemaker: Any) -> None:
    """UpdateModelPackage adds and removes only what it names: approval must not erase lineage."""
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="g",
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"GitCommit": "abc", "TriggeredBy": "manual"},
        InferenceSpecification={
            "Containers": [{"Image": "image"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok"
    )
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "GitCommit": "abc",
        "TriggeredBy": "manual",
    }
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"Reviewed": "yes"},
        CustomerMetadataPropertiesToRemove=["TriggeredBy"],
    )
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "GitCommit": "abc",
        "Reviewed": "yes",
    }


def test_a_serverless_variant_beside_another_is_refused(sagemaker: Any) -> None:
    """ "Multiple production variants" is a serverless feature exclusion (serverless-endpoints.html)."""
    _model(sagemaker)
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    variants = [
        {"VariantName": name, "ModelName": "m", "ServerlessConfig": serverless, "InitialVariantWeight": 0.5}
        for name in ("AllTraffic", "Challenger")
    ]
    with pytest.raises(sagemaker.exceptions.ClientError, match="one production variant"):
        sagemaker.create_endpoint_config(EndpointConfigName="two", ProductionVariants=variants)
    sagemaker.create_endpoint_config(EndpointConfigName="one", ProductionVariants=variants[:1])
