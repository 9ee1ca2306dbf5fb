"""The model package an endpoint serves, found the way SageMaker records it: endpoint -> endpoint
config -> model -> the package the model was created from. For a deployment stage's endpoint,
which is in another account, the build account's registry says instead (:func:`stage_served_package`).

Two jobs need it: the monitoring job compares traffic with that package's drift baseline, and the
evaluate job compares a candidate with that package's evaluation (the model the candidate would
replace). Both run as the jobs' role, which may describe exactly these resources (infra/iam.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


class StageNotDeployed(Exception):  # noqa: N818  (a state, not an error)
    """No version of the group is recorded as deployed to the stage yet."""


class StageRecordError(ValueError):
    """A package's deployment record is not an ISO 8601 time: which version the stage serves is unknown."""


def stage_served_package(sagemaker: Any, group: str, deployed_key: str) -> str:
    """The ARN of the package in ``group`` whose ``CustomerMetadataProperties[deployed_key]`` (an ISO
    8601 time, ``prod-deployed-at``) is the most recent: what the stage serves.

    A stage's endpoint is in the stage's account, where this job (in the build account) may not
    DescribeEndpoint; the deploy function records every deployment to a stage on the package, in
    the build account's registry, and a rollback records the version it redeploys again, so the
    newest record is the version in service. Every version is described (ListModelPackages carries
    no metadata): one call per registered version, per monitoring run.
    """
    newest: tuple[datetime, str] | None = None
    for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        for summary in page.get("ModelPackageSummaryList", []):
            arn = summary["ModelPackageArn"]
            package = sagemaker.describe_model_package(ModelPackageName=arn)
            recorded = (package.get("CustomerMetadataProperties") or {}).get(deployed_key)
            if recorded is None:
                continue
            at = _recorded_time(arn, deployed_key, recorded)
            if newest is None or at > newest[0]:
                newest = (at, arn)
    if newest is None:
        raise StageNotDeployed(f"no version of model package group {group} records {deployed_key} yet")
    return newest[1]


def _recorded_time(arn: str, key: str, recorded: str) -> datetime:
    """The record as an aware time: records without a UTC offset could not be ordered with the rest."""
    try:
        at = datetime.fromisoformat(recorded.replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise StageRecordError(
            f"model package {arn}: {key} {recorded!r} is not an ISO 8601 time with a UTC offset "
            "(e.g. 2026-12-01T19:00:00+00:00); correct it with UpdateModelPackage (CustomerMetadataProperties)"
        )
    return at
