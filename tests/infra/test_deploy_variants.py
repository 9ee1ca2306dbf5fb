"""The deploy function with ``serving.new_model_as``: a new model joins the champion as a weighted
challenger or as a shadow instead of replacing it; redeliveries change nothing; SageMaker's rules on
variants (one shadow behind one production variant; blue/green keeps the variant names) hold in the
emulator as in AWS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from moto import mock_aws

from infra.lambda_environment import environment_for
from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from pipelines.settings import ServingConfig
from tests.infra.test_deploy_handler import SETTINGS, Aws, approval_event, step_event


def env(new_model_as: str, weight: float = 0.1) -> dict[str, str]:
    serving = dataclasses.replace(SETTINGS.serving, new_model_as=new_model_as, challenger_weight=weight)
    return environment_for(dataclasses.replace(SETTINGS, serving=serving), "deploy")


@pytest.fixture
def aws() -> Iterator[Aws]:
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        yield Aws()


def champion_and_new(aws: Aws, new_model_as: str) -> tuple[dict[str, Any], dict[str, Any]]:
    first = aws.deploy(step_event(aws.register_package("Approved")), env(new_model_as))
    second = aws.deploy(approval_event(aws.register_package("Approved")), env(new_model_as))
    return first, second


def test_the_first_model_is_the_champion_whatever_the_mode(aws: Aws) -> None:
    first = aws.deploy(step_event(aws.register_package("Approved")), env("challenger"))
    assert first["status"] == "created"
    (variant,) = aws.endpoint_config()["ProductionVariants"]
    assert (variant["VariantName"], variant["ModelName"]) == (
        SETTINGS.serving.variant_name,
        first["model_name"],
    )


def test_a_challenger_takes_its_weight_next_to_the_champion(aws: Aws) -> None:
    first, second = champion_and_new(aws, "challenger")
    assert second["status"] == "updated"
    config = aws.endpoint_config()
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    champion, challenger = variants[SETTINGS.serving.variant_name], variants["Challenger"]
    assert (champion["ModelName"], champion["InitialVariantWeight"]) == (first["model_name"], 0.9)
    assert (challenger["ModelName"], challenger["InitialVariantWeight"]) == (second["model_name"], 0.1)
    assert "ShadowProductionVariants" not in config
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == SETTINGS.capture_uri  # both variants captured
    # A new variant is a plain update: blue/green needs the same variant names (and would be refused).
    (update,) = aws.sagemaker.updates
    assert "DeploymentConfig" not in update


def test_a_shadow_gets_a_copy_behind_the_only_production_variant(aws: Aws) -> None:
    first, second = champion_and_new(aws, "shadow")
    config = aws.endpoint_config()
    (production,) = config["ProductionVariants"]
    (shadow,) = config["ShadowProductionVariants"]
    assert (production["VariantName"], production["ModelName"]) == (
        SETTINGS.serving.variant_name,
        first["model_name"],
    )
    assert (shadow["VariantName"], shadow["ModelName"]) == ("Shadow", second["model_name"])


@pytest.mark.parametrize("mode", ["challenger", "shadow"])
def test_a_redelivered_approval_changes_nothing(aws: Aws, mode: str) -> None:
    _, second = champion_and_new(aws, mode)
    again = aws.deploy(approval_event(second["model_package_arn"]), env(mode))
    assert again["status"] == "unchanged"
    assert again["endpoint_config_name"] == second["endpoint_config_name"]
    assert len(aws.sagemaker.updates) == 1


def test_a_newer_challenger_replaces_the_previous_one_and_replace_ends_the_test(aws: Aws) -> None:
    first, _ = champion_and_new(aws, "challenger")
    third = aws.deploy(approval_event(aws.register_package("Approved")), env("challenger"))
    models = {v["VariantName"]: v["ModelName"] for v in aws.endpoint_config()["ProductionVariants"]}
    assert models == {SETTINGS.serving.variant_name: first["model_name"], "Challenger": third["model_name"]}
    fourth = aws.deploy(approval_event(aws.register_package("Approved")), env("replace"))
    (only,) = aws.endpoint_config()["ProductionVariants"]
    assert (only["VariantName"], only["ModelName"]) == (SETTINGS.serving.variant_name, fourth["model_name"])
    assert "DeploymentConfig" not in aws.sagemaker.updates[-1]  # two variants to one: a plain update


def test_the_emulator_refuses_two_production_variants_with_a_shadow(aws: Aws) -> None:
    first, _ = champion_and_new(aws, "challenger")
    variant = {"ModelName": first["model_name"], "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    with pytest.raises(botocore.exceptions.ClientError, match="only specify one variant"):
        aws.sagemaker.create_endpoint_config(
            EndpointConfigName="two-and-a-shadow",
            ProductionVariants=[{**variant, "VariantName": "A"}, {**variant, "VariantName": "B"}],
            ShadowProductionVariants=[{**variant, "VariantName": "S"}],
        )


def test_the_emulator_refuses_blue_green_that_changes_the_variants(aws: Aws) -> None:
    champion_and_new(aws, "challenger")
    first_config = aws.sagemaker.list_endpoint_configs(SortBy="CreationTime", SortOrder="Ascending")
    single = first_config["EndpointConfigs"][0]["EndpointConfigName"]
    with pytest.raises(botocore.exceptions.ClientError, match="same variant names"):
        aws.sagemaker.update_endpoint(
            EndpointName=SETTINGS.endpoint_name,
            EndpointConfigName=single,
            DeploymentConfig={
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
                }
            },
        )


def test_settings_refuse_an_unknown_mode_and_a_weight_outside_0_1() -> None:
    with pytest.raises(ValueError, match="new_model_as 'canary' is not one of replace, challenger, shadow"):
        ServingConfig(new_model_as="canary")
    with pytest.raises(ValueError, match=r"challenger_weight 1\.5 must be between 0 and 1"):
        ServingConfig(challenger_weight=1.5)
