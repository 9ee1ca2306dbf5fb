"""`iam-report`: per role, the calls the last local run made against the grants the templates make."""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli.context import CliContext, CliError, console
from pipelines.settings import STAGE_ROLE_PURPOSES

DEFAULT_FROM = Path("build/loop")  # where `demo` writes its runs and synthesizes its cdk.out


def iam_report(
    ctx: typer.Context,
    runs_dir: Path = typer.Option(
        DEFAULT_FROM / "runs",
        "--runs-dir",
        help="The runs directory of the local run (holds iam-calls.json).",
    ),
    cdk_out: Path = typer.Option(
        DEFAULT_FROM / "cdk.out", "--cdk-out", help="The cloud assembly it ran with."
    ),
) -> None:
    """Denied calls and grants never used, per role; exit 5 if a call was denied or a grant is
    unused without a reason (infra/iam_reasons.py)."""
    from infra.iam_reasons import NOT_EXERCISED_LOCALLY, STAGE_ROLE_NOT_EXERCISED
    from localcloud.cloudformation import TemplateError, TemplateSet
    from localcloud.iam import CALLS_FILE, PolicyStore
    from localcloud.iam.calls import read_counts
    from localcloud.iam.report import build, grouped_unused

    obj: CliContext = ctx.obj
    calls_file = runs_dir / CALLS_FILE
    if not calls_file.is_file():
        raise CliError(
            f"{calls_file} not found: no local run with IAM enforced wrote there",
            "run `python -m pipelines demo` (or `run-local --cdk-out DIR`) first, or pass --runs-dir",
        )
    try:
        store = PolicyStore.from_templates(TemplateSet.load(obj.settings, cdk_out))
        calls = read_counts(calls_file)
    except (TemplateError, ValueError) as err:
        raise CliError(
            str(err), "pass the --cdk-out and --runs-dir of the same run", CliError.INVALID
        ) from err
    settings = obj.settings
    stage_roles = {
        settings.stage_role_arn(stage, purpose): STAGE_ROLE_NOT_EXERCISED
        for stage in settings.stages
        for purpose in STAGE_ROLE_PURPOSES
    }
    reports = build(store, calls, NOT_EXERCISED_LOCALLY, stage_roles)
    for report in reports:
        console.print(f"[bold]{report.role}[/]  {report.calls} allowed call(s)", highlight=False)
        for arn in report.aws_managed:
            console.print(f"  [yellow]not evaluated locally[/] AWS managed policy {arn}", highlight=False)
        for call, count in report.denied:
            console.print(
                f"  [red]denied[/] {call.action} on {call.resource} ({count}x) because {call.reason}",
                highlight=False,
            )
        for statement, grants in grouped_unused(report).items():
            console.print(f"  [dim]unused in {statement}:[/]", highlight=False)
            for grant in grants:
                why = f"[dim]{grant.reason}[/]" if grant.reason else "[yellow]no reason: over-broad?[/]"
                console.print(f"    {grant.action} on {', '.join(grant.resources)}  {why}", highlight=False)
    denied = sum(len(r.denied) for r in reports)
    unexplained = sum(len(r.unexplained) for r in reports)
    console.print(f"{denied} denied call(s); {unexplained} unused grant(s) without a reason")
    if denied or unexplained:
        raise typer.Exit(CliError.FAILED)


def register(app: typer.Typer) -> None:
    app.command("iam-report")(iam_report)
