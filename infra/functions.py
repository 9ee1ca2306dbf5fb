"""The project's Lambda functions, built one way: fixed names and roles, own log group, failure queue.

Both functions are invoked asynchronously by EventBridge, so a failure after Lambda's retries lands in
the function's failure queue (on-failure destination), and an event EventBridge could not deliver at
all lands there too (the target's dead-letter queue). The queue depth is alarmed in the monitoring
stack. The environment comes from :func:`infra.lambda_environment.environment_for`, as in the local run.

The code asset is bundled on this machine (no Docker): the handler modules of ``infra/lambdas`` at its
root, where the runtime finds ``<module>.lambda_handler``, plus :data:`SHARED_MODULES` at their own
import path, so a handler imports a project helper the same way in the repository and in Lambda
(the asset root is on the function's ``sys.path``). boto3 and the stdlib come from the runtime.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.failure_queue import MAX_EVENT_AGE, RETRY_ATTEMPTS, failure_queue
from infra.iam import Permission, depend_on_policy, log_writer, project_role
from infra.lambda_environment import environment_for
from infra.lambdas import HANDLERS
from infra.nag import acknowledge
from pipelines.settings import REPO_ROOT, Settings

CODE_DIR = REPO_ROOT / "infra" / "lambdas"
# Project files the handlers import (paths relative to the repository root, package markers included).
SHARED_MODULES = ("processing_scripts/__init__.py", "processing_scripts/s3_uri.py")
# BundlingOptions requires an image; it is never pulled because the local bundling always succeeds.
UNUSED_BUNDLING_IMAGE = "local-bundling-only"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ROLE_FOR_FUNCTION = {"deploy": "deploy-function", "retrain-guard": "retrain-guard"}


class ProjectFunction(Construct):
    """A Lambda for one ``settings.FUNCTION_PURPOSES`` entry, with its role, log group and failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        purpose: str,
        permissions: Iterable[Permission],
        timeout: cdk.Duration,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        name = settings.function_name(purpose)
        log_group_name = f"/aws/lambda/{name}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # The L2 takes an enum only; the number comes from settings (cfn-lint checks it is allowed).
        self.log_group.node.default_child.retention_in_days = settings.retention.log_retention_days
        self.failures = failure_queue(self, "Failures", f"{name}-failures")
        role_permissions = [*permissions, log_writer(settings, log_group_name)]
        self.role = project_role(
            self, settings, ROLE_FOR_FUNCTION[purpose], "lambda.amazonaws.com", role_permissions
        )
        module = HANDLERS[purpose].rsplit(".", 1)[-1]
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=f"{settings.prefix}: {purpose} (infra/lambdas/{module}.py)",
            runtime=RUNTIME,
            handler=f"{module}.lambda_handler",
            code=handler_code(),
            environment=environment_for(settings, purpose),
            role=self.role,
            timeout=timeout,
            memory_size=256,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
            on_failure=destinations.SqsDestination(self.failures),
            retry_attempts=RETRY_ATTEMPTS,
        )
        depend_on_policy(self.function.node.default_child, self.role)
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            f"pinned to {RUNTIME.name}, the runtime the handlers are tested against; bump deliberately",
        )

    def target(self, event: events.RuleTargetInput | None = None) -> targets.LambdaFunction:
        """This function as a rule target; undeliverable events go to the failure queue."""
        return targets.LambdaFunction(
            self.function,
            event=event,
            dead_letter_queue=self.failures,
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )


def bundle_handlers(target: Path) -> None:
    """Lay out the functions' code asset in ``target``: handler modules at the root, shared modules
    at their package path. Nothing else (no ``infra/lambdas/__init__.py``, no caches)."""
    for module in sorted(CODE_DIR.glob("*.py")):
        if module.name != "__init__.py":
            shutil.copyfile(module, target / module.name)
    for relative in SHARED_MODULES:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / relative, destination)


@jsii.implements(cdk.ILocalBundling)
class _LocalBundling:
    # jsii hands the BundlingOptions over positionally while the typed stub declares them as
    # keywords; they are not needed, so both are accepted and ignored.
    def try_bundle(self, output_dir: str, *_options: object, **_keyword_options: object) -> bool:
        bundle_handlers(Path(output_dir))
        return True


def handler_code() -> lambda_.Code:
    """The functions' code asset. Its hash is that of the bundle, so a change to a shared module
    changes the asset (and redeploys the code) just as a change to a handler does."""
    return lambda_.Code.from_asset(
        str(CODE_DIR),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry(UNUSED_BUNDLING_IMAGE), local=_LocalBundling()
        ),
    )
