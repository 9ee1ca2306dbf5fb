"""Which AWS region a command works in, and which regions exist (to refuse a typo in one line).

Precedence, highest first: ``--region``, ``MLOPS_REGION``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
``CDK_DEFAULT_REGION``, the AWS profile's ``region`` (``aws configure``), then the settings' default
(``us-east-1``). The AWS variables and the profile count because the AWS CLI and the CDK read them
(the CDK CLI turns them into ``CDK_DEFAULT_REGION`` for the app): an ``upsert`` with
``AWS_DEFAULT_REGION=eu-west-1`` must not create the pipeline in us-east-1 while ``cdk deploy``
deploys to eu-west-1. ``MLOPS_REGION`` comes first so the project can be pinned to a region whatever
the shell says.
"""

from __future__ import annotations

import os
from functools import cache

REGION_VARIABLES = ("MLOPS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "CDK_DEFAULT_REGION")


def selected_region(flag: str | None, profile: str | None) -> tuple[str | None, str]:
    """The region asked for and where it came from (None: the settings' default)."""
    if flag:
        return flag, "--region"
    for variable in REGION_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    import boto3

    configured = boto3.session.Session(profile_name=profile).region_name
    if configured:
        return configured, f"the AWS profile {profile or 'default'}"
    return None, "the settings' default"


@cache
def sagemaker_regions() -> frozenset[str]:
    """Regions with SageMaker in any partition, from botocore's endpoint data (offline)."""
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition)
    )
