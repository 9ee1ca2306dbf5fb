"""Model and RegisterModel steps: CreateModel / CreateModelPackage against the emulator.

A RegisterModel step creates its model package group when it does not exist yet, as SageMaker's
RegisterModel step does ("If the model package group doesn't exist, it's created":
https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps-types.html#step-type-register-model),
so a foreign pipeline registers into its own group without anyone creating it first.

Before registering, every artifact the package points at (model data, metrics reports, drift
baselines) must exist in the emulator's S3: a wrong property reference in the definition shows up
here as a named missing object instead of as a broken deployment later.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from localcloud import s3_objects
from localcloud.sagemaker.executor.steps.base import StepContext, StepError, StepResult, aws_failure, required
from processing_scripts import s3_uri

ARTIFACT_FIELDS = ("ModelDataUrl", "S3Uri")


def run_register_model(ctx: StepContext) -> StepResult:
    request = dict(ctx.arguments)
    group = required(request, "ModelPackageGroupName")
    _check_artifacts(ctx, request)
    sagemaker = ctx.pipeline_clients.sagemaker
    try:
        if _create_group_if_missing(sagemaker, str(group)):
            ctx.log.line(f"created model package group {group} (it did not exist)")
        arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
        described = sagemaker.describe_model_package(ModelPackageName=arn)
    except Exception as err:
        raise aws_failure("CreateModelPackage", err) from err
    properties = _plain({k: v for k, v in described.items() if k != "ResponseMetadata"})
    ctx.log.line(f"registered {arn} ({properties.get('ModelApprovalStatus', '?')})")
    return StepResult(properties={**_plain(request), **properties, "ModelPackageArn": arn})


def _create_group_if_missing(sagemaker: Any, group: str) -> bool:
    """The group named by name or ARN exists afterwards; True if this call created it."""
    name = group.rsplit("/", 1)[-1] if group.startswith("arn:") else group
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=name)
        return False
    except sagemaker.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("ValidationException", "ResourceNotFound"):
            raise
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return True


def run_create_model(ctx: StepContext) -> StepResult:
    request = {"ModelName": ctx.job_name, **ctx.arguments}
    _check_artifacts(ctx, request)
    try:
        arn = ctx.pipeline_clients.sagemaker.create_model(**request)["ModelArn"]
    except Exception as err:
        raise aws_failure("CreateModel", err) from err
    ctx.log.line(f"created model {request['ModelName']}")
    return StepResult(properties={**_plain(request), "ModelArn": arn})


def _check_artifacts(ctx: StepContext, request: dict[str, Any]) -> None:
    """The local executor's own check (not an AWS call on anyone's behalf: it uses the emulator's
    administrator clients)."""
    for field, uri in _artifact_uris(request, ""):
        try:
            found = s3_objects.exists(ctx.aws.clients.s3, uri)
        except s3_uri.S3UriError as err:
            raise StepError(f"Arguments{field}: {err}") from err
        except Exception as err:
            raise aws_failure(f"checking {uri}", err) from err
        if not found:
            raise StepError(f"Arguments{field}: no object at {uri} (did the step that writes it run?)")


def _artifact_uris(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ARTIFACT_FIELDS and isinstance(item, str):
                yield f"{path}.{key}", item
            else:
                yield from _artifact_uris(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _artifact_uris(item, f"{path}[{index}]")


def _plain(value: Any) -> Any:
    """JSON-ready copy (boto3 returns datetimes)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
