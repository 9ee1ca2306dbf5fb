"""Every IAM permission the project grants, in one file, written out action by action.

Least privilege is enforced, not just intended: :class:`Permission` refuses wildcard actions at synth
time, and a wildcard *resource* must come with the reason AWS requires it; that reason becomes the
cdk-nag acknowledgement of exactly that resource. ARNs are built from settings (names are
deterministic), so a policy reads the same in the template as here.

The CDK ``grant*`` helpers are deliberately not used: they emit wildcard actions such as
``s3:GetObject*`` and ``kms:GenerateDataKey*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.lambdas.deploy import CURRENT_BASELINE_FILES
from infra.nag import acknowledge
from pipelines.settings import Settings
from processing_scripts import s3_uri

SAGEMAKER = "sagemaker.amazonaws.com"
AUTOSCALING_SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
# Where Model Monitor publishes an endpoint's data-quality metrics (only with the optional schedule).
MODEL_MONITOR_METRIC_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
KMS_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")


@dataclass(frozen=True)
class Permission:
    """One Allow statement; ``wildcard_reason`` is mandatory when a resource contains ``*``."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    wildcard_reason: str = ""
    conditions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        starred = [a for a in self.actions if "*" in a]
        if starred:
            raise ValueError(f"wildcard actions are not allowed: {starred}; list the actions")
        if self.wildcard_resources and not self.wildcard_reason:
            raise ValueError(f"resources {self.wildcard_resources} need a wildcard_reason")

    @property
    def wildcard_resources(self) -> list[str]:
        return [r for r in self.resources if "*" in r]

    def statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=list(self.actions), resources=list(self.resources), conditions=self.conditions or None
        )


def project_role(
    scope: Construct, settings: Settings, purpose: str, principal: str, permissions: Iterable[Permission]
) -> iam.Role:
    """A role with the settings' fixed name, trusting one service, holding exactly ``permissions``."""
    role = iam.Role(
        scope,
        f"{purpose.title().replace('-', '')}Role",
        role_name=settings.role_name(purpose),
        assumed_by=iam.ServicePrincipal(principal),
        description=f"{settings.prefix}: {purpose} (least privilege, see infra/iam.py)",
    )
    grant(role, permissions)
    return role


def grant(role: iam.IRole, permissions: Iterable[Permission]) -> None:
    """Add the statements and acknowledge each wildcard resource with its reason."""
    for permission in permissions:
        role.add_to_principal_policy(permission.statement())
        if permission.wildcard_resources:
            acknowledge(
                role,
                "AwsSolutions-IAM5",
                permission.wildcard_reason,
                *(f"Resource::{r}" for r in permission.wildcard_resources),
            )


def depend_on_policy(resource: cdk.CfnResource, role: iam.Role) -> None:
    """Make ``resource`` wait for ``role``'s policy, and for nothing it already references.

    CDK also adds a DependsOn on the role itself, which the resource's GetAtt of the role already
    implies (cfn-lint W3005); the override keeps only the dependency that matters.
    """
    policy = role.node.find_child("DefaultPolicy").node.default_child
    resource.add_override("DependsOn", [cdk.Stack.of(role).get_logical_id(policy)])


def sagemaker_arn(settings: Settings, resource: str) -> str:
    return f"arn:aws:sagemaker:{settings.region}:{settings.account}:{resource}"


def bucket_access(settings: Settings, purpose: str, *, write: bool) -> list[Permission]:
    bucket = f"arn:aws:s3:::{settings.bucket_name(purpose)}"
    object_actions = (
        ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload") if write else ("s3:GetObject",)
    )
    return [
        Permission(("s3:ListBucket", "s3:GetBucketLocation"), (bucket,)),
        Permission(object_actions, (f"{bucket}/*",), wildcard_reason=f"objects in the {purpose} bucket"),
    ]


def pass_execution_role(settings: Settings) -> Permission:
    return Permission(
        ("iam:PassRole",),
        (settings.role_arn("sagemaker-execution"),),
        conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    )


def log_writer(settings: Settings, log_group_name: str) -> Permission:
    log_group = f"arn:aws:logs:{settings.region}:{settings.account}:log-group:{log_group_name}"
    return Permission(
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (f"{log_group}:log-stream:*",),
        wildcard_reason="log streams of the function's own log group (stream names are generated)",
    )


def sagemaker_execution(settings: Settings, key_arn: str, repository_arn: str) -> list[Permission]:
    """The pipelines' role and the jobs' role (also the model's role on the endpoint)."""
    group = settings.model_package_group
    generated_jobs = "SageMaker Pipelines generate job names per execution"
    return [
        *bucket_access(settings, "data", write=False),
        *bucket_access(settings, "artifacts", write=True),
        *bucket_access(settings, "capture", write=True),  # the endpoint writes capture, monitor reads it
        *bucket_access(settings, "reports", write=True),
        Permission(KMS_USE, (key_arn,)),
        Permission(
            ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
            (repository_arn,),
        ),
        Permission(
            ("ecr:GetAuthorizationToken",),
            ("*",),
            wildcard_reason="ecr:GetAuthorizationToken supports no resource-level permissions",
        ),
        Permission(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
            (f"arn:aws:logs:{settings.region}:{settings.account}:log-group:/aws/sagemaker/*",),
            wildcard_reason="SageMaker jobs and endpoints log to generated groups/streams under /aws/sagemaker/",
        ),
        Permission(
            ("cloudwatch:PutMetricData",),
            ("*",),
            wildcard_reason="PutMetricData has no resources; restricted to the project's and SageMaker's namespaces",
            conditions={
                "StringEquals": {
                    "cloudwatch:namespace": [
                        settings.monitoring.metric_namespace,
                        "/aws/sagemaker/ProcessingJobs",
                        "/aws/sagemaker/TrainingJobs",
                        "/aws/sagemaker/Endpoints",
                        *(
                            [MODEL_MONITOR_METRIC_NAMESPACE]
                            if settings.monitoring.model_monitor_schedule_enabled
                            else []
                        ),
                    ]
                }
            },
        ),
        Permission(
            (
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                "sagemaker:AddTags",
            ),
            tuple(
                sagemaker_arn(settings, f"{kind}/*")
                for kind in ("processing-job", "training-job", "hyper-parameter-tuning-job")
            ),
            wildcard_reason=generated_jobs,
        ),
        Permission(
            ("sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"),
            (sagemaker_arn(settings, f"model-package/{group}/*"),),
            wildcard_reason="package versions in the project's group are numbered by SageMaker",
        ),
        *_endpoint_readers(settings),
        pass_execution_role(settings),
        Permission(("lambda:InvokeFunction",), (settings.function_arn("deploy"),)),
    ]


def _endpoint_readers(settings: Settings) -> list[Permission]:
    """The monitor job resolves the deployed package's baseline: endpoint -> config -> model."""
    endpoint = settings.endpoint_name
    return [
        Permission(
            ("sagemaker:DescribeEndpoint",),
            (sagemaker_arn(settings, f"endpoint/{endpoint}"),),
        ),
        Permission(
            ("sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"),
            (
                sagemaker_arn(settings, f"endpoint-config/{endpoint}-*"),
                sagemaker_arn(settings, f"model/{endpoint}-*"),
            ),
            wildcard_reason="model and endpoint-config names carry the deployed package version",
        ),
    ]


def deploy_function(settings: Settings, key_arn: str) -> list[Permission]:
    """Create/update the endpoint from an approved package, its auto scaling, and the copy of its
    baseline to ``settings.current_baseline_uri`` (S3 CopyObject: read the source, write the copy)."""
    # "bucket/prefix", the resource part of an S3 ARN
    pipeline_outputs = "/".join(s3_uri.split(settings.pipeline_artifacts_uri))
    current_baseline = "/".join(s3_uri.split(settings.current_baseline_uri))
    current_baseline_objects = tuple(
        f"arn:aws:s3:::{current_baseline}/{name}" for name in CURRENT_BASELINE_FILES.values()
    )
    endpoint = settings.endpoint_name
    variant = f"endpoint/{endpoint}/variant/{settings.serving.variant_name}"
    scaling_alarms = (
        f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:TargetTracking-{variant}-*"
    )
    rollback_alarms = tuple(
        f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:{name}"
        for name in settings.endpoint_alarm_names.values()
    )
    return [
        Permission(
            ("sagemaker:DescribeModelPackage",),
            (sagemaker_arn(settings, f"model-package/{settings.model_package_group}/*"),),
            wildcard_reason="package versions in the project's group are numbered by SageMaker",
        ),
        Permission(
            (
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
            ),
            (
                sagemaker_arn(settings, f"model/{endpoint}-*"),
                sagemaker_arn(settings, f"endpoint-config/{endpoint}-*"),
            ),
            wildcard_reason="model and endpoint-config names carry the deployed package version",
        ),
        Permission(
            ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"),
            (sagemaker_arn(settings, f"endpoint/{endpoint}"),),
        ),
        # Both actions also authorize against the endpoint config they deploy (AWS's Service
        # Authorization Reference: endpoint and endpoint-config are both required resources).
        Permission(
            ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"),
            (sagemaker_arn(settings, f"endpoint-config/{endpoint}-*"),),
            wildcard_reason="model and endpoint-config names carry the deployed package version",
        ),
        pass_execution_role(settings),
        Permission(
            (
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
            ),
            ("*",),
            wildcard_reason="scalable-target ARNs contain an ID assigned at registration; the actions "
            "are not scoped by name",
        ),
        Permission(
            ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"),
            (scaling_alarms, *rollback_alarms),
            wildcard_reason="target tracking creates its alarms with generated suffixes",
        ),
        Permission(
            ("iam:CreateServiceLinkedRole",),
            (
                f"arn:aws:iam::{settings.account}:role/aws-service-role/{AUTOSCALING_SLR_SERVICE}/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            ),
            conditions={"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SLR_SERVICE}},
        ),
        Permission(
            ("s3:GetObject",),
            (f"arn:aws:s3:::{pipeline_outputs}/*",),
            wildcard_reason="baseline files are pipeline step outputs under per-execution prefixes",
        ),
        Permission(("s3:PutObject",), current_baseline_objects),
        Permission(("kms:Decrypt", "kms:GenerateDataKey"), (key_arn,)),
    ]


def retrain_guard(settings: Settings) -> list[Permission]:
    """Look at and start the training pipeline only."""
    return [
        Permission(
            ("sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"),
            (settings.pipeline_arn(settings.training_pipeline_name),),
        )
    ]


def start_pipelines(pipeline_arns: Sequence[str]) -> Permission:
    """What an EventBridge role needs to start the given pipelines (nothing else)."""
    return Permission(("sagemaker:StartPipelineExecution",), tuple(pipeline_arns))


def alarm_arn(settings: Settings, alarm_name: str) -> str:
    """Literal (not a GetAtt) so rule patterns in the template can be matched without deploying."""
    return f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:{alarm_name}"
