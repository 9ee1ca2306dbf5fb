"""Building blocks both pipelines share: parameters, processing jobs, output layout, retries, caching.

One place decides how a processing job runs the project's image, where step outputs land in S3
and which failures are retried, so the training and monitoring pipelines cannot drift apart.
"""

from __future__ import annotations

import pipelines.sdk_session  # noqa: F401  (prepares the environment the SDK reads at import)

# isort: split
from collections.abc import Iterable, Sequence

from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import (
    Parameter,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.retry import (
    RetryPolicy,
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep

from pipelines.parameters import ParameterDeclaration
from pipelines.sdk_session import OfflinePipelineSession
from pipelines.settings import JOB_ROLE, Settings

# Transient control-plane errors (throttling, 5xx): cheap to retry quickly.
SERVICE_RETRY = {"interval_seconds": 10, "backoff_rate": 2.0, "max_attempts": 5}
# A job that could not get instances or hit an account limit: wait longer, since capacity and
# concurrent-job slots free up on the scale of minutes; the job's own bugs are never retried.
CAPACITY_RETRY = {"interval_seconds": 60, "backoff_rate": 2.0, "max_attempts": 4}


def sdk_parameters(declarations: Iterable[ParameterDeclaration]) -> dict[str, Parameter]:
    """SDK parameter objects for the declarations, by name (in declaration order)."""
    built: dict[str, Parameter] = {}
    for declared in declarations:
        if declared.type == "String":
            built[declared.name] = ParameterString(
                declared.name, default_value=str(declared.default), enum_values=list(declared.allowed) or None
            )
        elif declared.type == "Integer":
            built[declared.name] = ParameterInteger(declared.name, default_value=int(declared.default))
        else:
            built[declared.name] = ParameterFloat(declared.name, default_value=float(declared.default))
    return built


def job_tags(settings: Settings) -> list[dict[str, str]]:
    """The project's cost-allocation tags, as every job (processing, training, tuning) carries them."""
    return [{"Key": key, "Value": value} for key, value in sorted(settings.tags.items())]


def script_processor(
    settings: Settings,
    session: OfflinePipelineSession,
    script: str,
    instance_type: Parameter,
    *,
    instance_count: Parameter | int = 1,
) -> Processor:
    """A processing job running ``python3 -m processing_scripts.<script>`` in the project's image.

    The code is baked into the image (whose tag is a digest of that code), so nothing is uploaded
    at synthesis time and the definition changes exactly when the code does. The job's environment
    names the region (the jobs call S3, SageMaker or CloudWatch themselves: Preprocess records data
    versions, Evaluate reads the deployed model's evaluation, the monitor publishes metrics; the
    region is named rather than left to the platform, and SageMaker local mode sets none) and the
    example when it is not the image's default (``settings.job_environment``).
    """
    return Processor(
        role=settings.role_arn(JOB_ROLE),
        image_uri=settings.processing_image_uri,
        entrypoint=["python3", "-m", f"processing_scripts.{script}"],
        instance_type=instance_type,
        instance_count=instance_count,
        max_runtime_in_seconds=settings.processing.max_runtime_seconds,
        env={"AWS_DEFAULT_REGION": settings.region, **settings.job_environment},
        tags=job_tags(settings),
        volume_kms_key=settings.isolation.kms_key_arn or None,
        output_kms_key=settings.isolation.kms_key_arn or None,
        network_config=processing_network(settings),
        sagemaker_session=session,
    )


def processing_network(settings: Settings) -> NetworkConfig | None:
    """The VPC and inter-container encryption of processing jobs (settings.isolation); None when
    both are off, so the definitions carry nothing. Never network isolation: see IsolationConfig."""
    isolation = settings.isolation
    if not (isolation.vpc or isolation.inter_container_encryption):
        return None
    return NetworkConfig(
        subnets=list(isolation.subnet_ids) or None,
        security_group_ids=list(isolation.security_group_ids) or None,
        encrypt_inter_container_traffic=isolation.inter_container_encryption or None,
    )


def s3_input(
    name: str,
    source: object,
    container_path: str,
    distribution: str = "FullyReplicated",
) -> ProcessingInput:
    """A processing input copied from S3 before the script starts."""
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=container_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type=distribution,
        ),
    )


def s3_output(name: str, container_path: str, destination: object) -> ProcessingOutput:
    """A processing output uploaded to S3 when the job ends."""
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=destination, local_path=container_path, s3_upload_mode="EndOfJob"
        ),
    )


def execution_output_uri(settings: Settings, pipeline_name: str, step: str, output: str) -> Join:
    """``<artifacts>/<pipeline>/<execution id>/<step>/<output>``: one prefix per run and output.

    The execution id keeps concurrent and successive runs apart; caching is unaffected because
    output locations are not part of a step's cache key.
    """
    return Join(
        on="/",
        values=[
            settings.pipeline_artifacts_uri,
            pipeline_name,
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            step,
            output,
        ],
    )


def output_file_uri(output_prefix: object, file_name: str) -> Join:
    """The S3 URI of one file inside a step output prefix (a property resolved at run time)."""
    return Join(on="/", values=[output_prefix, file_name])


def job_retry_policies() -> list[RetryPolicy]:
    """Retries for steps that start SageMaker jobs (processing, training, tuning)."""
    return [
        *service_retry_policies(),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            ],
            **CAPACITY_RETRY,
        ),
    ]


def service_retry_policies() -> list[RetryPolicy]:
    """Retries for any retryable step: throttling and service faults of the pipeline's own calls."""
    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            **SERVICE_RETRY,
        )
    ]


def step_cache(settings: Settings) -> CacheConfig:
    return CacheConfig(enable_caching=True, expire_after=settings.pipeline_cache_expire_after)


def cached_processing_step(
    settings: Settings,
    name: str,
    description: str,
    step_args: object,
    property_files: Sequence[PropertyFile] = (),
) -> ProcessingStep:
    """A processing step of the training pipeline: cached per its arguments and retried on capacity
    and service faults, the one policy every such job step follows."""
    return ProcessingStep(
        name=name,
        description=description,
        step_args=step_args,
        property_files=list(property_files) or None,
        cache_config=step_cache(settings),
        retry_policies=job_retry_policies(),
    )


def container_arguments(flags: Sequence[tuple[str, object]]) -> list[object]:
    """``--flag value`` pairs flattened into a container argument list, in the given order."""
    return [item for flag, value in flags for item in (flag, value)]
