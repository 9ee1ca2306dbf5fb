"""Shared fixtures for the local executor's tests: the emulator, a runner, definition builders.

moto keeps its state in process-wide memory, so the emulator is module-scoped (a module's tests
run together) and tests inside a module that uses it must not open ``mock_aws``, which resets it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import LocalAws, LocalPipelineRunner
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
XGBOOST_IMAGE = (
    f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{SETTINGS.training.xgboost_version}"
)
# Inline job scripts get these helpers: input/output directories through the container contract.
SCRIPT_PRELUDE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from processing_scripts import contract
    def inp(name): return contract.host_path(f"/opt/ml/processing/input/{name}")
    def out(name):
        path = contract.host_path(f"/opt/ml/processing/output/{name}")
        path.mkdir(parents=True, exist_ok=True)
        return path
    """
)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    with LocalAws(SETTINGS) as aws:
        yield aws


@pytest.fixture
def sleeps() -> list[float]:
    """The retry delays a runner asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def runner(local_aws: LocalAws, tmp_path: Path, sleeps: list[float]) -> LocalPipelineRunner:
    return LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs", sleep=sleeps.append)


@pytest.fixture
def pipeline() -> PipelineBuilder:
    return PipelineBuilder()


class PipelineBuilder:
    """Small definitions in exactly the shape the SageMaker SDK writes."""

    settings = SETTINGS
    bucket = f"s3://{SETTINGS.bucket_name('artifacts')}"

    def __init__(self) -> None:
        self.parameters: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []

    # -- expressions ------------------------------------------------------------------------------
    @staticmethod
    def get(reference: str) -> dict[str, str]:
        return {"Get": reference}

    @staticmethod
    def join(*values: Any, on: str = "/") -> dict[str, Any]:
        return {"Std:Join": {"On": on, "Values": list(values)}}

    @staticmethod
    def output_uri(step: str, output: str) -> dict[str, str]:
        return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}

    # -- steps ------------------------------------------------------------------------------------

    def parameter(self, name: str, kind: str, default: Any = None, **extra: Any) -> dict[str, str]:
        spec = {"Name": name, "Type": kind, **extra}
        if default is not None:
            spec["DefaultValue"] = default
        self.parameters.append(spec)
        return self.get(f"Parameters.{name}")

    def add(self, step: dict[str, Any]) -> dict[str, Any]:
        self.steps.append(step)
        return step

    def definition(self) -> dict[str, Any]:
        return {"Version": "2020-12-01", "Metadata": {}, "Parameters": self.parameters, "Steps": self.steps}

    def processing(
        self,
        name: str,
        script: str,
        *,
        inputs: dict[str, Any] | None = None,
        outputs: tuple[str, ...] = (),
        arguments: list[Any] | None = None,
        environment: dict[str, Any] | None = None,
        instances: Any = 1,
        sharded: bool = False,
        **step: Any,
    ) -> dict[str, Any]:
        """A processing step running ``script`` (with :data:`SCRIPT_PRELUDE`) in the project's image."""
        code = SCRIPT_PRELUDE + textwrap.dedent(script)
        distribution = "ShardedByS3Key" if sharded else "FullyReplicated"
        body: dict[str, Any] = {
            "AppSpecification": {
                "ImageUri": SETTINGS.processing_image_uri,
                "ContainerEntrypoint": ["python3", "-c", code],
                "ContainerArguments": arguments or [],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": instances,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            "ProcessingInputs": [
                {
                    "InputName": input_name,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": f"/opt/ml/processing/input/{input_name}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": distribution,
                    },
                }
                for input_name, uri in (inputs or {}).items()
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output,
                        "S3Output": {
                            "S3Uri": self.join(
                                self.bucket, "runs", self.get("Execution.PipelineExecutionId"), name, output
                            ),
                            "LocalPath": f"/opt/ml/processing/output/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output in outputs
                ]
            },
            "RoleArn": SETTINGS.role_arn(settings_module.JOB_ROLE),
        }
        if environment:
            body["Environment"] = environment
        return self.add({"Name": name, "Type": "Processing", "Arguments": body, **step})

    def training(
        self, name: str, channels: dict[str, Any], hyperparameters: dict[str, str], **step: Any
    ) -> dict[str, Any]:
        return self.add(
            {
                "Name": name,
                "Type": "Training",
                "Arguments": self.training_job(channels, hyperparameters),
                **step,
            }
        )

    def training_job(self, channels: dict[str, Any], hyperparameters: dict[str, str]) -> dict[str, Any]:
        return {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": hyperparameters,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "ContentType": "text/csv",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
                for channel, uri in channels.items()
            ],
            "OutputDataConfig": {"S3OutputPath": f"{self.bucket}/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "RoleArn": SETTINGS.role_arn(settings_module.JOB_ROLE),
        }

    def fail(self, name: str, message: Any) -> dict[str, Any]:
        return self.add({"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": message}})

    def condition(
        self,
        name: str,
        conditions: list[dict[str, Any]],
        if_steps: list[dict[str, Any]],
        else_steps: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Branch steps are built with ``branch_step`` so they are not also top-level steps."""
        return self.add(
            {
                "Name": name,
                "Type": "Condition",
                "Arguments": {"Conditions": conditions, "IfSteps": if_steps, "ElseSteps": else_steps},
            }
        )

    def branch_step(self, step: dict[str, Any]) -> dict[str, Any]:
        """Take a step built by another method out of the top level (to nest it in a branch)."""
        self.steps.remove(step)
        return step
