"""``approve`` and ``reject``: the manual approval step of a model version, from the terminal.

prod registers each new model as ``PendingManualApproval`` and the approval is what deploys it (the
EventBridge rule on Model Package State Change, ``infra/serving.py``). The approver's note is stored
as the package's ``ApprovalDescription``, so the model registry says who decided what and why.

With deployment stages (docs/multi-account.md) an approved version reaches staging; every later
stage (prod) waits for a second approval, ``approve VERSION --stage prod -m ...``, recorded in the
package's ``CustomerMetadataProperties``: who (the caller's identity), when, and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from pipelines.cli.context import CliContext, CliError, console

VersionArg = typer.Argument(
    None, help="Model version number or model package ARN (default: the latest pending approval)."
)
NoteOpt = typer.Option(..., "--note", "-m", help="Why: stored as the package's ApprovalDescription.")
StageOpt = typer.Option(
    None,
    "--stage",
    help="A deployment stage after the first (prod): record the second approval of an Approved version.",
)
PENDING = "PendingManualApproval"
APPROVED = "Approved"
# UpdateModelPackage: a CustomerMetadataProperties value is at most 256 characters (API reference).
MAX_METADATA_VALUE = 256


def approve(
    ctx: typer.Context, version: str = VersionArg, note: str = NoteOpt, stage: str | None = StageOpt
) -> None:
    """Approve a model version (in prod this deploys it); with --stage, approve it for that stage."""
    if stage is None:
        _decide(ctx, version, note, APPROVED)
    else:
        _approve_for_stage(ctx, version, note, stage)


def reject(ctx: typer.Context, version: str = VersionArg, note: str = NoteOpt) -> None:
    """Reject a model version (it is never deployed; an approved one stays deployed until replaced)."""
    _decide(ctx, version, note, "Rejected")


def _decide(ctx: typer.Context, version: str | None, note: str, decision: str) -> None:
    obj: CliContext = ctx.obj
    sagemaker = obj.clients.sagemaker
    group = obj.settings.model_package_group
    package = find_package(sagemaker, group, version)
    arn, current = package["ModelPackageArn"], package.get("ModelApprovalStatus")
    if current == decision:
        console.print(f"{arn} is already {decision}; nothing changed", highlight=False)
        return
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=decision, ApprovalDescription=note
    )
    console.print(f"{decision.lower()} {arn} (was {current}): {note}", highlight=False)


def _approve_for_stage(ctx: typer.Context, version: str | None, note: str, stage_name: str) -> None:
    """Record the caller's approval of an Approved version for a later stage, with when and why."""
    obj: CliContext = ctx.obj
    settings = obj.settings
    stage = obj.stage(stage_name)
    if stage == settings.stages[0]:
        raise CliError(
            f"{stage.name} is the first stage: an approved version deploys there without a second approval",
            "approve the version itself: `pipelines approve VERSION -m ...`",
        )
    if version is None:
        raise CliError(
            f"name the version to approve for {stage.name}",
            f"e.g. `pipelines approve 3 --stage {stage.name} -m ...`",
        )
    if len(note) > MAX_METADATA_VALUE:
        raise CliError(
            f"the note is {len(note)} characters; the registry keeps at most {MAX_METADATA_VALUE}",
            "shorten it",
        )
    sagemaker = obj.clients.sagemaker
    summary = find_package(sagemaker, settings.model_package_group, version)
    package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    arn, status = package["ModelPackageArn"], package.get("ModelApprovalStatus")
    if status != APPROVED:
        raise CliError(
            f"{arn} is {status}: only an approved version (deployed to {settings.stages[0].name} first) "
            f"can be approved for {stage.name}",
            f"approve it first: `pipelines approve {version} -m ...`",
        )
    who = obj.clients.client("sts").get_caller_identity()["Arn"]
    record = {
        settings.stage_approval_key(stage, "approved-by"): who,
        settings.stage_approval_key(stage, "approved-at"): datetime.now(UTC).isoformat(timespec="seconds"),
        settings.stage_approval_key(stage, "approval-note"): note,
    }
    # Sent whole (what is there plus the record), whether the API merges the map or replaces it.
    properties = {**package.get("CustomerMetadataProperties", {}), **record}
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=properties)
    console.print(f"approved {arn} for {stage.name} by {who}: {note}", highlight=False)


def find_package(sagemaker: Any, group: str, version: str | None) -> dict[str, Any]:
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
