"""``promote VERSION --stage S`` and ``rollback --stage S``: a model version into a deployment
stage's account, and back to the one before (docs/multi-account.md).

Both invoke the build account's deploy function with ``{"model_package_arn", "stage"}``: only that
function's role may assume a stage's deploy role, so the command never deploys with the caller's
own credentials. The function refuses a later stage (prod) for a version whose approval for it is
not recorded (``approve VERSION --stage prod``). The function records each deployment on the
package (``<stage>-deployed-at``, also when the package-approved rule deployed to staging); a
rollback marks the version it replaced (``<stage>-rolled-back-at``), so ``rollback`` finds the
previous version in the registry itself, whoever deployed it.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from infra.lambdas.deploy import deployed_at, record_stage_deployment
from pipelines import settings as settings_module
from pipelines.cli.approval_commands import find_package
from pipelines.cli.context import CliContext, CliError, console

VersionArg = typer.Argument(..., help="Model version number or model package ARN.")
StageOpt = typer.Option(..., "--stage", help="The deployment stage (MLOPS_STAGES): staging or prod.")
DEPLOYED = ("created", "updated", "unchanged")


def promote(ctx: typer.Context, version: str = VersionArg, stage: str = StageOpt) -> None:
    """Deploy an approved model version to a stage's account (prod: after `approve --stage prod`)."""
    obj: CliContext = ctx.obj
    target = obj.stage(stage)
    summary = find_package(obj.clients.sagemaker, obj.settings.model_package_group, version)
    arn = summary["ModelPackageArn"]
    result = _deploy(obj, arn, target)
    console.print(f"{target.name}: {result['endpoint_name']} {result['status']} with {arn}", highlight=False)


def rollback(ctx: typer.Context, stage: str = StageOpt) -> None:
    """Deploy the version a stage served before its current one (recorded by `promote`)."""
    obj: CliContext = ctx.obj
    settings = obj.settings
    target = obj.stage(stage)
    deployed_key = settings.stage_approval_key(target, "deployed-at")
    rolled_back_key = settings.stage_approval_key(target, "rolled-back-at")
    history = sorted(
        (properties[deployed_key], package["ModelPackageArn"])
        for package in _packages(obj)
        if deployed_key in (properties := package.get("CustomerMetadataProperties") or {})
        and rolled_back_key not in properties
    )
    if len(history) < 2:
        raise CliError(
            f"{target.name} has no earlier version to roll back to ({len(history)} deployed by `promote`)",
            f"deploy a version by number: `pipelines promote VERSION --stage {target.name}`",
            CliError.NOT_FOUND,
        )
    (_, previous), (_, current) = history[-2], history[-1]
    result = _deploy(obj, previous, target)  # the function records previous as deployed again
    record_stage_deployment(obj.clients.sagemaker, current, {rolled_back_key: deployed_at()})
    console.print(
        f"{target.name}: {result['endpoint_name']} rolled back from {current} to {previous} ({result['status']})",
        highlight=False,
    )


def _deploy(obj: CliContext, package_arn: str, stage: settings_module.Stage) -> dict[str, Any]:
    """The deploy function's answer for this stage; a refusal or failure is one line."""
    event = {"model_package_arn": package_arn, "stage": stage.name}
    function = obj.settings.function_arn("deploy")
    response = obj.clients.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        message = " ".join(str(payload.get("errorMessage", payload)).split())
        raise CliError(
            f"the deploy function failed: {message}",
            f"its log: /aws/lambda/{function.rsplit(':', 1)[-1]}",
            CliError.FAILED,
        )
    if payload.get("status") not in DEPLOYED:
        raise CliError(
            f"{stage.name} not deployed: {payload.get('reason') or payload}",
            f"prod needs `pipelines approve VERSION --stage {stage.name} -m ...` first",
            CliError.FAILED,
        )
    result: dict[str, Any] = payload
    return result


def _packages(obj: CliContext) -> list[dict[str, Any]]:
    sagemaker = obj.clients.sagemaker
    paginator = sagemaker.get_paginator("list_model_packages")
    return [
        sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        for page in paginator.paginate(ModelPackageGroupName=obj.settings.model_package_group)
        for summary in page.get("ModelPackageSummaryList", [])
    ]


def register(app: typer.Typer) -> None:
    app.command()(promote)
    app.command()(rollback)
