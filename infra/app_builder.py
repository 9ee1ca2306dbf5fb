"""Builds the CDK app for one environment: four stacks, tags, cdk-nag, deterministic output.

``python app.py`` and ``cdk synth`` (whose ``app`` runs app.py) both come through :func:`create_app`,
so they write the same ``cdk.out``. The account and region come from settings, never from a lookup,
so synthesis is offline and byte-identical for identical input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk

from infra.ci_access import CONTEXT_FLAG, CiAccessStack, StageCiAccessStack
from infra.monitoring import MonitoringStack
from infra.nag import add_checks
from infra.pipeline_stack import PipelineStack
from infra.serving import ServingStack
from infra.stage import StageStack
from infra.storage import StorageStack
from pipelines import settings as project_settings
from pipelines.settings import Settings

OUTDIR = "cdk.out"
# Set here rather than in cdk.json so `python app.py` (which does not read cdk.json) behaves the same.
CONTEXT = {
    # Access logs are delivered under a bucket policy, not the legacy ACL (buckets enforce ownership).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # Stacks reference each other by CloudFormation export ("strong"); saying so silences a warning.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


@dataclass(frozen=True)
class ProjectStacks:
    settings: Settings
    storage: StorageStack
    pipelines: PipelineStack
    serving: ServingStack
    monitoring: MonitoringStack
    stages: tuple[StageStack, ...] = ()  # one per deployment stage (docs/multi-account.md)


def create_app(
    env: str | None = None,
    *,
    outdir: str = OUTDIR,
    definitions: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> tuple[cdk.App, ProjectStacks]:
    """The app for ``env`` (or context ``env``, or MLOPS_ENV, or dev), checked by cdk-nag.

    ``definitions`` (pipeline name -> JSON text) defaults to rendering them now; callers that
    already rendered them (and want to compare against exactly those bytes) pass them in.
    ``settings`` replaces loading them (tests synthesize variants such as an opt-in feature on).
    """
    from pipelines.synth import render_pipelines

    app = cdk.App(outdir=outdir, analytics_reporting=False, context=CONTEXT)
    settings = settings or project_settings.load(env or app.node.try_get_context("env"))
    stacks = build(app, settings, render_pipelines(settings) if definitions is None else definitions)
    if str(app.node.try_get_context(CONTEXT_FLAG)).lower() == "true":
        add_ci_access(app, settings)
    add_checks(app)
    return app, stacks


def build(
    app: cdk.App,
    settings: Settings,
    definitions: Mapping[str, str],
) -> ProjectStacks:
    """The stacks for ``settings`` with these pipeline definitions (name -> JSON text)."""
    environment = cdk.Environment(account=settings.account, region=settings.region)

    def stack_name(concern: str) -> str:
        return f"{settings.prefix}-{concern}"

    storage = StorageStack(
        app, "Storage", settings=settings, stack_name=stack_name("storage"), env=environment
    )
    pipelines = PipelineStack(
        app,
        "Pipelines",
        settings=settings,
        definitions=definitions,
        key_arn=storage.key.key_arn,
        repository_arn=storage.repository.repository_arn,
        stack_name=stack_name("pipelines"),
        env=environment,
    )
    serving = ServingStack(
        app,
        "Serving",
        settings=settings,
        key_arn=storage.key.key_arn,
        stack_name=stack_name("serving"),
        env=environment,
    )
    monitoring = MonitoringStack(
        app,
        "Monitoring",
        settings=settings,
        deploy_failures=serving.deploy.failures,
        key_arn=storage.key.key_arn,
        stack_name=stack_name("monitoring"),
        env=environment,
    )
    # Each deployment stage is a CDK Stage of its own (its own account, its own nested assembly):
    # `cdk deploy --all` deploys only the build account's stacks, `cdk deploy 'Staging/*'` one stage,
    # each with its own credentials (docs/multi-account.md).
    stages = tuple(
        StageStack(
            cdk.Stage(
                app,
                stage.name.title(),
                env=cdk.Environment(account=stage.account, region=stage.region),
            ),
            "Roles",
            settings=settings,
            stage=stage,
            stack_name=stack_name(stage.name),
        )
        for stage in settings.stages
    )
    # A tag aspect does not cross into a nested Stage: each stage is tagged itself.
    for scope in (app, *(cdk.Stage.of(stack) for stack in stages)):
        for key, value in settings.tags.items():
            cdk.Tags.of(scope).add(key, value)
    return ProjectStacks(settings, storage, pipelines, serving, monitoring, stages)


def add_ci_access(app: cdk.App, settings: Settings) -> CiAccessStack:
    """The GitHub Actions roles (infra/ci_access.py): only with ``-c ci-access=true``; one more
    stack per deployment stage in another account (``CiAccessStaging``, ``CiAccessProd``)."""
    if not settings.github_repository:
        raise project_settings.SettingsError(
            "the CI access stack needs the repository: set MLOPS_GITHUB_REPOSITORY=owner/name"
        )
    for stage in settings.cross_account_stages:  # a stage in the build account uses the build's roles
        StageCiAccessStack(
            app,
            f"CiAccess{stage.name.title()}",
            settings=settings,
            stage=stage,
            stack_name=f"{settings.project}-ci-access-{stage.name}",
            env=cdk.Environment(account=stage.account, region=stage.region),
        )
    return CiAccessStack(
        app,
        "CiAccess",
        settings=settings,
        stack_name=f"{settings.project}-ci-access",
        env=cdk.Environment(account=settings.account, region=settings.region),
    )
