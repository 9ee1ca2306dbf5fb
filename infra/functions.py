"""The project's Lambda functions, built one way: fixed names and roles, own log group, failure queue.

Both functions are invoked asynchronously by EventBridge, so a failure after Lambda's retries lands in
the function's failure queue (on-failure destination), and an event EventBridge could not deliver at
all lands there too (the target's dead-letter queue). The queue depth is alarmed in the monitoring
stack. The code asset is ``infra/lambdas`` (stdlib + boto3 from the runtime, nothing to bundle); the
environment comes from :func:`infra.lambda_environment.environment_for`, as in the local run.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.iam import Permission, depend_on_policy, log_writer, project_role
from infra.lambda_environment import environment_for
from infra.lambdas import HANDLERS
from infra.nag import acknowledge
from pipelines.settings import REPO_ROOT, Settings

CODE_DIR = REPO_ROOT / "infra" / "lambdas"
RUNTIME = lambda_.Runtime.PYTHON_3_12
RETRY_ATTEMPTS = 2
FAILED_EVENT_RETENTION = cdk.Duration.days(14)
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
        self.failures = sqs.Queue(
            self,
            "Failures",
            queue_name=f"{name}-failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=FAILED_EVENT_RETENTION,
        )
        acknowledge(self.failures, "AwsSolutions-SQS3", "this queue is itself the failed-event queue")
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
            code=lambda_.Code.from_asset(str(CODE_DIR), exclude=["__pycache__", "*.pyc", "__init__.py"]),
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
            self.function, event=event, dead_letter_queue=self.failures, retry_attempts=RETRY_ATTEMPTS
        )
