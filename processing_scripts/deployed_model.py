"""The model package an endpoint serves, found the way SageMaker records it: endpoint -> endpoint
config -> model -> the package the model was created from.

Two jobs need it: the monitoring job compares traffic with that package's drift baseline, and the
evaluate job compares a candidate with that package's evaluation (the model the candidate would
replace). Both run as the jobs' role, which may describe exactly these resources (infra/iam.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


class EndpointNotDeployed(Exception):  # noqa: N818  (a state, not an error)
    """No endpoint of that name: nothing is deployed yet (before the first training pipeline)."""


@dataclass(frozen=True)
class ServedModel:
    model_name: str
    package_arn: str | None  # None: the model was not created from a model package


def served_model(sagemaker: Any, endpoint: str) -> ServedModel:
    """What ``endpoint``'s first production variant serves; EndpointNotDeployed when there is none."""
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except ClientError as err:
        # SageMaker answers ValidationException "Could not find endpoint" for a missing endpoint
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
        if "could not find" in str(err).lower():
            raise EndpointNotDeployed(f"endpoint {endpoint} is not deployed yet") from err
        raise
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    model_name = variants[0]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    package = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
    return ServedModel(model_name, package)
