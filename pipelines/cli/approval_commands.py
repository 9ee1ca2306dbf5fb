"""``approve`` and ``reject``: the manual approval step of a model version, from the terminal.

prod registers each new model as ``PendingManualApproval`` and the approval is what deploys it (the
EventBridge rule on Model Package State Change, ``infra/serving.py``). The approver's note is stored
as the package's ``ApprovalDescription``, so the model registry says who decided what and why.
"""

from __future__ import annotations

from typing import Any

import typer

from pipelines.cli.context import CliContext, CliError, console

VersionArg = typer.Argument(
    None, help="Model version number or model package ARN (default: the latest pending approval)."
)
NoteOpt = typer.Option(..., "--note", "-m", help="Why: stored as the package's ApprovalDescription.")
PENDING = "PendingManualApproval"


def approve(ctx: typer.Context, version: str = VersionArg, note: str = NoteOpt) -> None:
    """Approve a model version (in prod this deploys it)."""
    _decide(ctx, version, note, "Approved")


def reject(ctx: typer.Context, version: str = VersionArg, note: str = NoteOpt) -> None:
    """Reject a model version (it is never deployed; an approved one stays deployed until replaced)."""
    _decide(ctx, version, note, "Rejected")


def _decide(ctx: typer.Context, version: str | None, note: str, decision: str) -> None:
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    group = obj.settings.model_package_group
    package = _package(sagemaker, group, version)
    arn, current = package["ModelPackageArn"], package.get("ModelApprovalStatus")
    if current == decision:
        console.print(f"{arn} is already {decision}; nothing changed", highlight=False)
        return
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=decision, ApprovalDescription=note
    )
    console.print(f"{decision.lower()} {arn} (was {current}): {note}", highlight=False)


def _package(sagemaker: Any, group: str, version: str | None) -> dict[str, Any]:
    """The package a version number or ARN names, or the group's latest pending one."""
    if version and version.startswith("arn:"):
        return sagemaker.describe_model_package(ModelPackageName=version)
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    if version is None:
        request["ModelApprovalStatus"] = PENDING
    paginator = sagemaker.get_paginator("list_model_packages")
    for page in paginator.paginate(**request):
        for summary in page.get("ModelPackageSummaryList", []):
            if version is None or str(summary.get("ModelPackageVersion")) == version:
                return summary
    if version is None:
        raise CliError(
            f"no model version of {group} is waiting for approval",
            "name one: `pipelines approve 3 -m ...` (a version number or a model package ARN)",
            CliError.NOT_FOUND,
        )
    if not version.isdigit():
        raise CliError(f"{version!r} is neither a version number nor a model package ARN", "e.g. 3")
    raise CliError(
        f"{group} has no version {version}",
        f"`aws sagemaker list-model-packages --model-package-group-name {group}` lists them",
        CliError.NOT_FOUND,
    )


def register(app: typer.Typer) -> None:
    app.command()(approve)
    app.command()(reject)
