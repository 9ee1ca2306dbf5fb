"""`upsert`: create or update a pipeline outside CloudFormation, for development iteration, safely.

Who owns a pipeline (docs/cli.md, "Who owns a pipeline"): ``cdk deploy`` creates and updates every
pipeline of a deployed environment, with the definition synthesized from the same code, so the stack
never drifts. ``upsert`` is for pipelines no stack manages (a sandbox account, an emulator, a dev
account before its first ``cdk deploy``). It refuses a stack-managed pipeline unless ``--force``
(an emergency: the stack then shows drift until the next ``cdk deploy`` puts its definition back).

Before anything is sent: the definition is validated, checked to belong to this pipeline (the
pipeline a synthesized definition names in its ``Metadata``, see pipelines/definition/identity.py), shown
(``--dry-run`` stops there), and removing steps needs a confirmation (``--yes`` in CI).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from pipelines.cli.arguments import DefinitionFileOpt, PipelineArg
from pipelines.cli.context import CliContext, CliError, console
from pipelines.cli.definitions import (
    DefinitionChange,
    canonical,
    compare_definitions,
    local_definition,
    resolve_pipeline_name,
    unified_diff,
)
from pipelines.cli.deployed import deployed_definition
from pipelines.definition import read_definition
from pipelines.definition.identity import synthesized_for
from pipelines.model_code import upload_model_code
from pipelines.settings import PIPELINE_ROLE, Settings, with_checkout_commit

# CloudFormation tags every resource it creates that supports tags with the stack's name
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html).
STACK_NAME_TAG = "aws:cloudformation:stack-name"


def upsert(
    ctx: typer.Context,
    pipeline: str = PipelineArg,
    *,
    description: str = typer.Option("", "--description", help="Pipeline description in SageMaker."),
    definition_file: Path = DefinitionFileOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; send nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove steps without asking (for CI)."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Also update a pipeline a CloudFormation stack manages, or one whose steps all differ.",
    ),
) -> None:
    """Create or update a pipeline no stack manages (dev iteration); validates, shows the change first."""
    obj: CliContext = ctx.obj
    # A synthesized definition carries the checkout's commit as its GitCommit default (lineage of
    # every run, scheduled and alarm-started ones too); a given file is sent exactly as it is.
    settings = obj.settings if definition_file else with_checkout_commit(obj.settings)
    sagemaker = obj.clients.sagemaker
    name = resolve_pipeline_name(settings, pipeline)
    local = local_definition(settings, name, definition_file)
    origin = str(definition_file or name)
    _refuse_invalid(local, origin)
    _refuse_another_pipelines_file(name, local, origin, force)
    deployed = deployed_definition(sagemaker, name)
    if deployed is None:
        _create(obj, name, local, description, dry_run)
        return
    change = compare_definitions(deployed, local)
    if change.empty:
        console.print(f"[dim]unchanged[/] {name}: the deployed definition equals the local one")
        return
    _refuse_unrelated_steps(name, deployed, local, origin, force)
    _refuse_stack_managed(sagemaker, settings.pipeline_arn(name), name, force)
    if dry_run:
        _show(change, unified_diff(deployed, local, name), f"would update {name}")
        return
    _confirm_removals(change, name, yes)
    _upload_model_code(obj)
    arn = sagemaker.update_pipeline(**_request(settings, name, local, description))["PipelineArn"]
    console.print(f"[yellow]updated[/] {arn}")
    for line in change.lines():
        console.print(f"  {line}")


def _request(settings: Settings, name: str, local: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "PipelineName": name,
        "PipelineDefinition": canonical(local),
        "PipelineDescription": description or f"{name} ({settings.project}, {settings.env}); upserted",
        "RoleArn": settings.role_arn(PIPELINE_ROLE),
    }


def _create(obj: CliContext, name: str, local: dict[str, Any], description: str, dry_run: bool) -> None:
    steps = [step.name for step in read_definition(local).steps]
    if dry_run:
        console.print(f"would create {name} with {len(steps)} steps: {', '.join(steps)}", highlight=False)
        return
    settings = obj.settings
    tags = [{"Key": k, "Value": v} for k, v in sorted(settings.tags.items())]
    _upload_model_code(obj)
    arn = obj.clients.sagemaker.create_pipeline(
        **_request(settings, name, local, description), Tags=tags, ClientRequestToken=str(uuid.uuid4())
    )["PipelineArn"]
    console.print(f"[green]created[/] {arn}")


def _refuse_invalid(document: dict[str, Any], origin: str) -> None:
    """Nothing is sent that ``validate`` rejects: SageMaker would refuse it, or store it and fail
    the first execution (an empty ``{}`` was "created")."""
    errors = read_definition(document).errors
    if errors:
        for finding in errors:
            console.print(f"[red]✗[/] {origin}: {escape(str(finding))}", highlight=False)
        raise CliError(
            f"{origin}: {len(errors)} validation errors; nothing was sent",
            "fix the step/field named above (`pipelines validate FILE` lists every finding)",
            CliError.INVALID,
        )


def _refuse_another_pipelines_file(name: str, document: dict[str, Any], origin: str, force: bool) -> None:
    """``upsert monitoring --definition-file <the training JSON>`` said "created": a synthesized
    definition names the pipeline it was made for (``Metadata.SynthesizedFor``), whatever its file is
    called; a definition without that mark is the user's own and goes under the name given."""
    made_for = synthesized_for(document)
    if made_for is None or made_for == name or force:
        return
    raise CliError(
        f"{origin} is the definition synthesized for {made_for}, not for {name}; nothing was sent",
        f"upsert it as `{made_for}`, or pass the file synthesized for {name} (--force if it truly is)",
        CliError.INVALID,
    )


def _refuse_unrelated_steps(
    name: str, deployed: dict[str, Any], local: dict[str, Any], origin: str, force: bool
) -> None:
    """A definition that shares no step with the deployed one is most likely another pipeline's."""
    old = {step.name for step in read_definition(deployed).steps}
    new = {step.name for step in read_definition(local).steps}
    if old and new and not (old & new) and not force:
        raise CliError(
            f"{origin} shares no step with the deployed {name} ({', '.join(sorted(old)[:4])}...): "
            "it looks like another pipeline's definition; nothing was sent",
            "check the pipeline and the file; --force replaces every step",
            CliError.INVALID,
        )


def _refuse_stack_managed(sagemaker: Any, arn: str, name: str, force: bool) -> None:
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
    stack = tags.get(STACK_NAME_TAG)
    if stack is None:
        return
    if not force:
        raise CliError(
            f"{name} is managed by CloudFormation stack {stack}; upsert would drift it, nothing was sent",
            "change the code and `cdk deploy` (see docs/cli.md, Who owns a pipeline); --force for an emergency",
            CliError.USAGE,
        )
    console.print(
        f"[yellow]warning:[/] {name} belongs to stack {stack}: it shows drift until the next "
        "`cdk deploy` puts the stack's definition back",
        highlight=False,
    )


def _show(change: DefinitionChange, diff: str, title: str) -> None:
    console.print(f"{title}:", highlight=False)
    for line in change.lines():
        console.print(f"  {line}", highlight=False)
    console.print(diff, markup=False, highlight=False)


def _confirm_removals(change: DefinitionChange, name: str, yes: bool) -> None:
    """Removing steps loses what they did; ask, or require --yes where nobody can answer."""
    if not change.removed_steps or yes:
        return
    removed = ", ".join(change.removed_steps)
    if not sys.stdin.isatty():
        raise CliError(
            f"the update removes {len(change.removed_steps)} steps from {name} ({removed}); nothing was sent",
            "review with --dry-run, then pass --yes to confirm",
            CliError.DECLINED,
        )
    if not typer.confirm(f"remove {removed} from {name}?", default=False):
        raise CliError("not confirmed; nothing was sent", "review with --dry-run", CliError.DECLINED)


def _upload_model_code(obj: CliContext) -> None:
    """A script-mode model's code goes where the training definition names it (content-addressed:
    an upload is skipped when that archive is there already)."""
    uri = upload_model_code(obj.settings, obj.clients.s3)
    if uri:
        console.print(f"[dim]uploaded the model code to {escape(uri)}[/]")
