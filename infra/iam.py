"""Every IAM permission the project grants, in one file, written out action by action.

Least privilege is enforced, not just intended: :class:`Permission` refuses wildcard actions at synth
time, and a wildcard *resource* must come with the reason AWS requires it; that reason becomes the
cdk-nag acknowledgement of exactly that resource. ARNs are built from settings (names are
deterministic), so a policy reads the same in the template as here.

The CDK ``grant*`` helpers are deliberately not used: they emit wildcard actions such as
``s3:GetObject*`` and ``kms:GenerateDataKey*``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import cross_account
from infra.lambdas.deploy import CURRENT_BASELINE_FILES, SCALABLE_DIMENSION
from infra.nag import acknowledge
from pipelines.settings import ASYNC, ASYNC_OUTCOMES, BATCH, DATA_KEY, JOB_ROLE, MODEL_ROLE, Settings, Stage
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

    @property
    def policy_id(self) -> str:
        """A construct id for this statement's own policy, stable while the statement is."""
        service, action = self.actions[0].split(":")
        digest = hashlib.sha256(json.dumps([self.actions, self.resources, self.conditions]).encode())
        return f"{service.title().replace('-', '')}{action}{digest.hexdigest()[:8]}"

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


def grant(role: iam.Role, permissions: Iterable[Permission]) -> None:
    """Add the statements; each one with a wildcard resource goes into a policy of its own.

    cdk-nag reports a wildcard resource per policy (``AwsSolutions-IAM5[Resource::<arn>]``), not
    per statement, so an acknowledgement on the role would also wave through any later statement
    that happens to use the same resource, with other actions (two ``Resource::*`` reasons on one
    role were one finding). A policy of one statement makes the acknowledgement name exactly that
    statement: its actions and its resources.
    """
    for permission in permissions:
        if not permission.wildcard_resources:
            role.add_to_principal_policy(permission.statement())
            continue
        policy = iam.Policy(role, permission.policy_id, statements=[permission.statement()])
        policy.attach_to_role(role)
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            permission.wildcard_reason,
            *(f"Resource::{r}" for r in permission.wildcard_resources),
        )


def role_policies(role: iam.IRole) -> list[cdk.CfnResource]:
    """Every AWS::IAM::Policy attached to ``role`` by :func:`grant` (default policy first)."""
    return [child.node.default_child for child in role.node.children if isinstance(child, iam.Policy)]


def depend_on_policy(resource: cdk.CfnResource, role: iam.Role) -> None:
    """Make ``resource`` wait for ``role``'s policies, and for nothing it already references.

    CDK also adds a DependsOn on the role itself, which the resource's GetAtt of the role already
    implies (cfn-lint W3005); the override keeps only the dependencies that matter.
    """
    stack = cdk.Stack.of(role)
    resource.add_override("DependsOn", [stack.get_logical_id(policy) for policy in role_policies(role)])


def sagemaker_arn(settings: Settings, resource: str) -> str:
    return settings.arn("sagemaker", resource)


def s3_arn(settings: Settings, bucket_and_key: str) -> str:
    return settings.arn("s3", bucket_and_key, regional=False, account=False)


def logs_arn(settings: Settings, log_group_name: str) -> str:
    return settings.arn("logs", f"log-group:{log_group_name}")


def bucket_access(settings: Settings, purpose: str, *, write: bool) -> list[Permission]:
    bucket = s3_arn(settings, settings.bucket_name(purpose))
    object_actions = (
        ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload") if write else ("s3:GetObject",)
    )
    return [
        Permission(("s3:ListBucket", "s3:GetBucketLocation"), (bucket,)),
        Permission(object_actions, (f"{bucket}/*",), wildcard_reason=f"objects in the {purpose} bucket"),
    ]


def pass_role(settings: Settings, purpose: str) -> Permission:
    """``iam:PassRole`` on one of the project's SageMaker roles, to SageMaker only."""
    return Permission(
        ("iam:PassRole",),
        (settings.role_arn(purpose),),
        conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    )


def log_writer(settings: Settings, log_group_name: str) -> Permission:
    return Permission(
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (f"{logs_arn(settings, log_group_name)}:log-stream:*",),
        wildcard_reason="log streams of the function's own log group (stream names are generated)",
    )


def model_packages(settings: Settings) -> str:
    """The versions in the project's group (``model-package/<group>/<version>``)."""
    return sagemaker_arn(settings, f"model-package/{settings.model_package_group}/*")


PACKAGE_VERSIONS = "package versions in the project's group are numbered by SageMaker"


def pipeline_role(settings: Settings, key_arn: str) -> list[Permission]:
    """The pipelines' own role (CreatePipeline's RoleArn): what the Pipelines service does itself.

    It starts and watches the jobs (which run as the job role), registers packages, invokes the
    deploy function, and reads the evaluation report the quality gate's ``JsonGet`` evaluates. It
    cannot touch the data, the endpoint or any model; it cannot approve a package either: in an
    environment with manual approval, CreateModelPackage is allowed only as PendingManualApproval,
    and no UpdateModelPackage is granted at all.
    """
    job_kinds = ("processing-job", "training-job", "hyper-parameter-tuning-job", "transform-job")
    return [
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
                # the batch pipeline's ScoreBatch step (a transform job passes no role: it runs
                # as its model's ExecutionRoleArn)
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ),
            tuple(sagemaker_arn(settings, f"{kind}/*") for kind in job_kinds),
            wildcard_reason="SageMaker Pipelines generate job names per execution",
        ),
        pass_role(settings, JOB_ROLE),
        Permission(
            ("sagemaker:CreateModelPackage",),
            (model_packages(settings),),
            wildcard_reason=PACKAGE_VERSIONS,
            # Service Authorization Reference, SageMaker: CreateModelPackage supports the
            # sagemaker:ModelApprovalStatus condition key (absent from the request: no match).
            conditions={
                "StringEquals": {
                    "sagemaker:ModelApprovalStatus": list(settings.registrable_approval_statuses)
                }
            },
        ),
        Permission(
            ("sagemaker:DescribeModelPackage",), (model_packages(settings),), wildcard_reason=PACKAGE_VERSIONS
        ),
        Permission(
            ("sagemaker:DescribeModelPackageGroup",),
            (sagemaker_arn(settings, f"model-package-group/{settings.model_package_group}"),),
        ),
        Permission(("lambda:InvokeFunction",), (settings.function_arn("deploy"),)),
        Permission(
            ("s3:GetObject",),
            (f"{s3_arn(settings, settings.bucket_name('artifacts'))}/*",),
            wildcard_reason="the quality gate's JsonGet reads the evaluation report a step wrote",
        ),
        Permission(("kms:Decrypt",), (key_arn,)),
        *key_grants(settings),  # jobs created with the isolation key
    ]


def job_role(settings: Settings, key_arn: str, repository_arn: str) -> list[Permission]:
    """The jobs' role (processing, training, tuning; the optional Model Monitor job).

    Jobs read the data and the capture, write artifacts and reports, publish metrics, and the
    monitoring job resolves the deployed package's baseline (endpoint -> config -> model ->
    package). Jobs start nothing, invoke nothing and register nothing.
    """
    endpoint = settings.endpoint_name
    permissions = [
        *bucket_access(settings, "data", write=False),
        *bucket_access(settings, "artifacts", write=True),
        *bucket_access(settings, "capture", write=False),
        *bucket_access(settings, "reports", write=True),
        Permission(KMS_USE, (key_arn,)),
        *image_pull(repository_arn),
        Permission(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
            (logs_arn(settings, "/aws/sagemaker/*"),),
            wildcard_reason="SageMaker jobs log to generated groups/streams under /aws/sagemaker/",
        ),
        Permission(
            ("cloudwatch:PutMetricData",),
            ("*",),
            wildcard_reason="PutMetricData has no resources; restricted to the project's and SageMaker's namespaces",
            conditions={
                "StringEquals": {
                    "cloudwatch:namespace": [
                        settings.monitoring.metric_namespace,
                        settings.model_quality.metric_namespace,
                        "/aws/sagemaker/ProcessingJobs",
                        "/aws/sagemaker/TrainingJobs",
                        *(
                            [MODEL_MONITOR_METRIC_NAMESPACE]
                            if settings.monitoring.model_monitor_schedule_enabled
                            else []
                        ),
                    ]
                }
            },
        ),
        # The served model's package (processing_scripts/deployed_model.py): endpoint -> config ->
        # model -> package. In serving mode batch the lookup stops at the missing endpoint.
        Permission(("sagemaker:DescribeEndpoint",), (sagemaker_arn(settings, f"endpoint/{endpoint}"),)),
        *(
            []
            if settings.serving.mode == BATCH
            else [
                Permission(
                    ("sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"),
                    (
                        sagemaker_arn(settings, f"endpoint-config/{endpoint}-*"),
                        sagemaker_arn(settings, f"model/{endpoint}-*"),
                    ),
                    wildcard_reason="model and endpoint-config names carry the deployed package version",
                ),
                Permission(
                    ("sagemaker:DescribeModelPackage",),
                    (model_packages(settings),),
                    wildcard_reason=PACKAGE_VERSIONS,
                ),
            ]
        ),
        *key_use(settings),
        *vpc_access(settings),
        *stage_served_package_lookup(settings),
    ]
    if settings.monitoring.model_monitor_schedule_enabled:
        # The Model Monitor job's volume is encrypted with the project key: SageMaker creates a
        # grant for the job's instances as this role. Only for AWS resources.
        # https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-kms.html (not verified here)
        permissions.append(
            Permission(
                ("kms:CreateGrant",),
                (key_arn,),
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
    return permissions


def stage_served_package_lookup(settings: Settings) -> list[Permission]:
    """With stages, the monitoring job finds the version the monitored stage serves in the registry
    (processing_scripts/deployed_model.py ``stage_served_package``): it lists the group's versions
    and describes each (DescribeModelPackage is granted above). None without stages."""
    if settings.monitored_stage is None:
        return []
    return [list_model_packages()]


def list_model_packages() -> Permission:
    """List a group's versions (summaries only; each is then described by its ARN)."""
    return Permission(
        ("sagemaker:ListModelPackages",),
        ("*",),
        # Service Authorization Reference, SageMaker: ListModelPackages is authorized against a
        # model-package only when the request names one; a list by ModelPackageGroupName names
        # none, so only "*" grants it (a grant on the group's ARN grants nothing).
        wildcard_reason="ListModelPackages by group names no resource; it returns version summaries only",
    )


def stage_promoter(settings: Settings) -> list[Permission]:
    """CI's promotion of a model version to a later stage (``.github/workflows/promote.yml``):
    ``pipelines approve VERSION --stage prod`` finds the version and records the approval on it,
    ``promote``/``rollback`` invoke the deploy function (only its role may assume a stage's deploy
    role) and a rollback marks the version it replaced. Nothing that deploys by itself."""
    return [
        list_model_packages(),
        Permission(
            ("sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"),
            (model_packages(settings),),
            wildcard_reason=PACKAGE_VERSIONS,
        ),
        Permission(("lambda:InvokeFunction",), (settings.function_arn("deploy"),)),
    ]


def model_role(settings: Settings, key_arn: str) -> list[Permission]:
    """The model's role on the endpoint (CreateModel's ExecutionRoleArn): read-only but for capture.

    The inference container may read the model artifact and write data capture and its logs; it
    cannot start jobs, invoke the deploy function, or overwrite a model (no artifacts write).
    The container image is SageMaker's built-in XGBoost (AWS's registry), so no ECR grant.
    """
    capture = s3_arn(settings, settings.bucket_name("capture"))
    return [
        *bucket_access(settings, "artifacts", write=False),
        Permission(
            ("s3:PutObject",),
            (f"{capture}/*",),
            wildcard_reason="data capture files are named by SageMaker per hour and instance",
        ),
        Permission(("kms:Decrypt", "kms:GenerateDataKey"), (key_arn,)),
        Permission(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            (logs_arn(settings, f"/aws/sagemaker/Endpoints/{settings.endpoint_name}:*"),),
            wildcard_reason="the endpoint's log streams are named per variant and instance",
        ),
        *key_use(settings, ("kms:Decrypt", "kms:GenerateDataKey")),  # capture under the isolation key
        *vpc_access(settings),
        *async_inference_access(settings),
        *batch_transform_access(settings),
    ]


def batch_transform_access(settings: Settings) -> list[Permission]:
    """What a batch transform job does as its model's role: read the records under
    ``batch_input_uri`` and write the scores under ``batch_output_uri`` (its capture is the capture
    bucket's, granted above). A transform job uses the model's ExecutionRoleArn for S3
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html#sagemaker-CreateModel-request-ExecutionRoleArn)."""
    data, input_prefix = s3_uri.split(settings.batch_input_uri)
    reports, output_prefix = s3_uri.split(settings.batch_output_uri)
    return [
        Permission(
            ("s3:ListBucket",),
            (s3_arn(settings, data),),
            conditions={"StringLike": {"s3:prefix": [f"{input_prefix}*"]}},
        ),
        Permission(
            ("s3:GetObject",),
            (s3_arn(settings, f"{data}/{input_prefix}*"),),
            wildcard_reason="the records to score are named by whoever lands them",
        ),
        Permission(
            ("s3:PutObject", "s3:AbortMultipartUpload"),
            (s3_arn(settings, f"{reports}/{output_prefix}/*"),),
            wildcard_reason="scores are written per execution and input object",
        ),
    ]


def async_inference_access(settings: Settings) -> list[Permission]:
    """An async endpoint reads each request from the input prefix and notifies its outcome on the
    two topics (answers and failures go to the capture bucket, already writable above); AWS lists
    these grants for the execution role of an async endpoint
    (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-create-endpoint-prerequisites.html).
    None in the other serving modes."""
    if settings.serving.mode != ASYNC:
        return []
    inputs = "/".join(s3_uri.split(settings.async_input_uri))
    return [
        Permission(
            ("s3:GetObject",),
            (s3_arn(settings, f"{inputs}/*"),),
            wildcard_reason="request payloads are named by the client, one per request",
        ),
        Permission(("sns:Publish",), tuple(settings.async_topic_arn(outcome) for outcome in ASYNC_OUTCOMES)),
    ]


def key_grants(settings: Settings) -> list[Permission]:
    """For a caller that creates jobs or endpoint configs with ``settings.isolation.kms_key_arn``:
    SageMaker creates a grant on the key for the instances' volumes, as the caller, and only for
    AWS resources (``kms:GrantIsForAWSResource``)."""
    key = settings.isolation.kms_key_arn
    if not key:
        return []
    return [
        Permission(("kms:DescribeKey",), (key,)),
        Permission(("kms:CreateGrant",), (key,), conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ]


def key_use(settings: Settings, actions: tuple[str, ...] = KMS_USE) -> list[Permission]:
    """Encrypt/decrypt with ``settings.isolation.kms_key_arn`` (job outputs, volumes, capture)."""
    key = settings.isolation.kms_key_arn
    return [Permission(actions, (key,))] if key else []


def vpc_access(settings: Settings) -> list[Permission]:
    """What SageMaker needs, as the job's or the model's role, to attach them to the settings' VPC
    ("Give SageMaker access to resources in your Amazon VPC", SageMaker Developer Guide)."""
    isolation = settings.isolation
    if not isolation.vpc:
        return []
    interfaces = settings.arn("ec2", "network-interface/*")
    return [
        Permission(
            ("ec2:CreateNetworkInterface",),
            (
                interfaces,
                *(settings.arn("ec2", f"subnet/{subnet}") for subnet in isolation.subnet_ids),
                *(settings.arn("ec2", f"security-group/{group}") for group in isolation.security_group_ids),
            ),
            wildcard_reason="network interface IDs are assigned at creation; in the settings' subnets only",
        ),
        Permission(
            (
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ),
            (interfaces,),
            wildcard_reason="network interface IDs are assigned at creation",
        ),
        Permission(
            (
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ),
            ("*",),
            wildcard_reason="EC2 Describe actions support no resource-level permissions (read-only)",
        ),
    ]


def image_pull(repository_arn: str) -> list[Permission]:
    """Pull the project's processing image (the token call has no resource-level permission)."""
    return [
        Permission(
            ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
            (repository_arn,),
        ),
        Permission(
            ("ecr:GetAuthorizationToken",),
            ("*",),
            wildcard_reason="ecr:GetAuthorizationToken supports no resource-level permissions",
        ),
    ]


def deploy_function(settings: Settings, key_arn: str) -> list[Permission]:
    """Create/update the endpoint from an approved package, its auto scaling, and the copy of its
    baseline to ``settings.current_baseline_uri`` (S3 CopyObject: read the source, write the copy).
    In serving mode batch: the batch model instead of the endpoint, nothing of an endpoint."""
    # "bucket/prefix", the resource part of an S3 ARN
    pipeline_outputs = "/".join(s3_uri.split(settings.pipeline_artifacts_uri))
    current_baseline = "/".join(s3_uri.split(settings.current_baseline_uri))
    current_baseline_objects = tuple(
        s3_arn(settings, f"{current_baseline}/{name}") for name in CURRENT_BASELINE_FILES.values()
    )
    return [
        Permission(
            ("sagemaker:DescribeModelPackage",), (model_packages(settings),), wildcard_reason=PACKAGE_VERSIONS
        ),
        *(batch_model_access(settings) if settings.serving.mode == BATCH else endpoint_access(settings)),
        Permission(
            ("s3:GetObject",),
            (s3_arn(settings, f"{pipeline_outputs}/*"),),
            wildcard_reason="baseline files are pipeline step outputs under per-execution prefixes",
        ),
        Permission(("s3:PutObject",), current_baseline_objects),
        Permission(("kms:Decrypt", "kms:GenerateDataKey"), (key_arn,)),
        *key_grants(settings),  # endpoint configs created with the isolation key
        *assume_stage_deploy_roles(settings),
    ]


def batch_model_access(settings: Settings) -> list[Permission]:
    """Serving mode batch: the one model the batch pipeline scores with, deleted and created again
    on each newly approved package (a model cannot be updated); no endpoint, no auto scaling."""
    return [
        Permission(
            (
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:AddTags",
            ),
            (sagemaker_arn(settings, f"model/{settings.batch_model_name}"),),
        ),
        pass_role(settings, MODEL_ROLE),
    ]


def endpoint_deployment(*, models: str, endpoint_configs: str, endpoint: str) -> list[Permission]:
    """Deploying a package to an endpoint, in the build account or a stage's: create its model and
    endpoint config, create or update the endpoint with it."""
    return [
        Permission(
            (
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:AddTags",
            ),
            (models, endpoint_configs),
            wildcard_reason="model and endpoint-config names carry the deployed package version",
        ),
        # Service Authorization Reference: CreateEndpoint and UpdateEndpoint are authorized against
        # the endpoint AND the endpoint config they name (both resource types required).
        Permission(
            ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"),
            (endpoint, endpoint_configs),
            wildcard_reason="the endpoint config named in the request carries the package version",
        ),
    ]


def endpoint_access(settings: Settings) -> list[Permission]:
    """The endpoint modes: the model, endpoint config and endpoint of each approved package, their
    auto scaling and the alarms blue/green deployments watch."""
    endpoint = settings.endpoint_name
    variant = f"endpoint/{endpoint}/variant/{settings.serving.variant_name}"
    endpoint_configs = sagemaker_arn(settings, f"endpoint-config/{endpoint}-*")
    return [
        *endpoint_deployment(
            models=sagemaker_arn(settings, f"model/{endpoint}-*"),
            endpoint_configs=endpoint_configs,
            endpoint=sagemaker_arn(settings, f"endpoint/{endpoint}"),
        ),
        Permission(
            (
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
                "sagemaker:AddTags",
            ),
            (sagemaker_arn(settings, f"endpoint/{endpoint}"),),
        ),
        pass_role(settings, MODEL_ROLE),
        # Register/PutScalingPolicy: the scalable target's ARN carries an ID assigned at
        # registration, so the resource is any scalable target of the account, and the conditions
        # (Service Authorization Reference, Application Auto Scaling) keep it to SageMaker variants.
        Permission(
            ("application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy"),
            (settings.arn("application-autoscaling", "scalable-target/*"),),
            wildcard_reason="scalable-target IDs are assigned at registration; limited by the "
            "service-namespace and scalable-dimension conditions",
            conditions={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": SCALABLE_DIMENSION,
                }
            },
        ),
        Permission(
            ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"),
            (alarm_arn(settings, f"TargetTracking-{variant}-*"),),
            wildcard_reason="target tracking creates its alarms with generated suffixes",
        ),
        # Async only: the alarm that wakes an endpoint scaled to zero (its action is the step
        # policy's ARN, known only once the policy is put, so the function creates it).
        *(
            [
                Permission(
                    ("cloudwatch:PutMetricAlarm",), (alarm_arn(settings, settings.async_backlog_alarm_name),)
                )
            ]
            if settings.serving.mode == ASYNC
            else []
        ),
        # Blue/green auto-rollback watches these; the function may read them, never change them.
        Permission(
            ("cloudwatch:DescribeAlarms",),
            tuple(alarm_arn(settings, name) for name in settings.endpoint_alarm_names.values()),
        ),
        Permission(
            ("iam:CreateServiceLinkedRole",),
            (
                settings.arn(
                    "iam",
                    f"role/aws-service-role/{AUTOSCALING_SLR_SERVICE}/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                    regional=False,
                ),
            ),
            conditions={"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SLR_SERVICE}},
        ),
    ]


def assume_stage_deploy_roles(settings: Settings) -> list[Permission]:
    """The deploy function deploys to each stage as that stage's deploy role, and records each
    deployment on the package in its own account's registry (``<stage>-deployed-at``); none
    without stages."""
    roles = tuple(settings.stage_role_arn(stage, "deploy") for stage in settings.stages)
    if not roles:
        return []
    return [
        Permission(("sts:AssumeRole",), roles),
        Permission(
            ("sagemaker:UpdateModelPackage",), (model_packages(settings),), wildcard_reason=PACKAGE_VERSIONS
        ),
    ]


def stage_deploy_role(settings: Settings, stage: Stage) -> list[Permission]:
    """A stage account's deployer: reads the approved package from the build account's registry
    (the group's resource policy, :mod:`infra.cross_account`, is the other half) and creates the
    stage's model, endpoint config and endpoint, passing the stage's model role."""
    endpoint_name = settings.stage_endpoint_name(stage)
    endpoint = settings.stage_arn(stage, "sagemaker", f"endpoint/{endpoint_name}")
    endpoint_configs = settings.stage_arn(stage, "sagemaker", f"endpoint-config/{endpoint_name}-*")
    models = settings.stage_arn(stage, "sagemaker", f"model/{endpoint_name}-*")
    return [
        Permission(
            ("sagemaker:DescribeModelPackage",), (model_packages(settings),), wildcard_reason=PACKAGE_VERSIONS
        ),
        *endpoint_deployment(models=models, endpoint_configs=endpoint_configs, endpoint=endpoint),
        Permission(("sagemaker:DescribeEndpoint", "sagemaker:AddTags"), (endpoint,)),
        Permission(
            ("iam:PassRole",),
            (settings.stage_role_arn(stage, "model"),),
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
        ),
    ]


def stage_model_role(settings: Settings, stage: Stage) -> list[Permission]:
    """A stage endpoint's model: reads its artifact from the build account's bucket, decrypted with
    the build account's key through S3, writes its data capture to the build account's capture
    bucket (the bucket and key policies of :mod:`infra.cross_account` are the other half), and
    writes the endpoint's logs in its own account."""
    outputs = "/".join(s3_uri.split(settings.pipeline_artifacts_uri))
    log_group = f"/aws/sagemaker/Endpoints/{settings.stage_endpoint_name(stage)}"
    return [
        Permission(
            ("s3:GetObject",),
            (s3_arn(settings, f"{outputs}/*"),),
            wildcard_reason="model artifacts are pipeline step outputs under per-execution prefixes",
        ),
        Permission(
            ("s3:PutObject",),
            (cross_account.capture_objects(settings, stage),),
            wildcard_reason="the endpoint's capture files are named per variant, hour and file",
        ),
        Permission(
            ("kms:Decrypt", "kms:GenerateDataKey"),
            (settings.arn("kms", "key/*"),),
            wildcard_reason="the build account's data key, named by its alias (kms:ResourceAliases) "
            "because AWS assigns its id",
            # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases
            conditions={
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": settings.key_alias(DATA_KEY)},
                "StringEquals": {"kms:ViaService": f"s3.{settings.region}.amazonaws.com"},
            },
        ),
        Permission(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            (settings.stage_arn(stage, "logs", f"log-group:{log_group}:*"),),
            wildcard_reason="the endpoint's log streams are named per variant and instance",
        ),
    ]


def stage_events_role(settings: Settings) -> list[Permission]:
    """A stage's forwarding rule: puts its endpoint's events on the build account's default bus
    (the bus policy of :class:`infra.stage_events.StageEventsReceiver` is the other half)."""
    return [Permission(("events:PutEvents",), (settings.event_bus_arn,))]


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
    return settings.arn("cloudwatch", f"alarm:{alarm_name}")
