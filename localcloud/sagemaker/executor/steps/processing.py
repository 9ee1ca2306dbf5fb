"""Processing steps: the job's entrypoint and arguments run as N local "instances".

Inputs are copied from the emulator's S3 into each instance's ``/opt/ml/processing/...`` (mapped
through ``OPT_ML_DIR``), all at once for ``FullyReplicated`` and one key in N for
``ShardedByS3Key``; outputs are uploaded only after every instance exited 0, so a failed or
interrupted job never leaves partial outputs behind for a later step to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.sagemaker.executor.steps.base import (
    StepContext,
    StepError,
    StepResult,
    aws_failure,
    job_arn,
    required,
)
from localcloud.sagemaker.executor.steps.container import (
    ContainerProcess,
    container_environment,
    failure_of,
    host_path,
    local_command,
    run_processes,
    write_resource_config,
)
from processing_scripts import contract


def run_processing(ctx: StepContext) -> StepResult:
    args = ctx.arguments
    app = required(args, "AppSpecification")
    _check_image(ctx, required(app, "ImageUri"))
    entrypoint = app.get("ContainerEntrypoint")
    if not entrypoint:
        raise StepError(
            "Arguments.AppSpecification.ContainerEntrypoint is missing: the local executor runs the "
            "job's command itself and cannot know an image's default entrypoint"
        )
    argv = local_command([*map(str, entrypoint), *map(str, app.get("ContainerArguments") or [])])
    count = int(required(args, "ProcessingResources", "ClusterConfig", "InstanceCount"))
    if count < 1:
        raise StepError(f"ProcessingResources.ClusterConfig.InstanceCount must be >= 1, got {count}")
    job_clients = ctx.start_job("sagemaker:CreateProcessingJob", {"ProcessingJobName": ctx.job_name, **args})
    hosts = [f"algo-{index + 1}" for index in range(count)]
    instances = {host: ctx.work_dir / host for host in hosts}
    inputs = args.get("ProcessingInputs") or []
    outputs = (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for position, host in enumerate(hosts):
        write_resource_config(instances[host], contract.ProcessingJob.RESOURCE_CONFIG, host, hosts)
        for index, item in enumerate(inputs):
            _stage_input(job_clients.s3, item, index, instances[host], shard=(position, count))
        for index, item in enumerate(outputs):
            output = required(item, "S3Output")
            host_path(instances[host], output["LocalPath"], f"Outputs[{index}].LocalPath").mkdir(
                parents=True, exist_ok=True
            )
    emulator = ctx.job_environment(args)
    processes = [
        ContainerProcess(
            host, argv, container_environment(args.get("Environment") or {}, emulator, path), path
        )
        for host, path in instances.items()
    ]
    ctx.log.line(f"$ {' '.join(argv)}  ({count} instance{'s' if count > 1 else ''})")
    runtime = (args.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    for outcome in run_processes(processes, ctx.log, max_runtime_seconds=runtime):
        if outcome.returncode != 0:
            raise failure_of(outcome, instances[outcome.host])
    written = [_upload_output(ctx, job_clients.s3, item, instances) for item in outputs]
    properties: dict[str, Any] = {
        **args,
        "ProcessingJobName": ctx.job_name,
        "ProcessingJobArn": job_arn(ctx.settings, "processing-job", ctx.job_name),
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "",
    }
    return StepResult(properties=properties, written_uris=written)


def _check_image(ctx: StepContext, image_uri: str) -> None:
    """The local run executes this checkout's code; say so when the JSON names another image."""
    repository, _, tag = str(image_uri).rpartition(":")
    expected_repository, _, expected_tag = ctx.settings.processing_image_uri.rpartition(":")
    if repository != expected_repository:
        ctx.warn(f"image {image_uri} is not the project's image; running this checkout's code instead")
    elif tag != expected_tag:
        ctx.warn(
            f"image tag {tag} differs from this checkout's {expected_tag}: the definition is stale; "
            "run `python -m pipelines synth`"
        )


def _stage_input(
    s3: Any, item: dict[str, Any], index: int, opt_ml_dir: Path, *, shard: tuple[int, int]
) -> None:
    """Copy one input into an instance with the job role's client (SageMaker reads inputs as the
    job's role); ``shard`` is (this instance's position, instance count)."""
    field = f"ProcessingInputs[{index}]"
    source = item.get("S3Input")
    if not isinstance(source, dict):
        raise StepError(f"{field}: only S3Input inputs can run locally (got {sorted(item)})")
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise StepError(f"{field}.S3Input.S3DataType {source['S3DataType']!r}: only S3Prefix is supported")
    uri = str(required(source, "S3Uri"))
    destination = host_path(opt_ml_dir, required(source, "LocalPath"), f"{field}.S3Input.LocalPath")
    destination.mkdir(parents=True, exist_ok=True)
    try:
        objects = s3_objects.list_objects(s3, uri)
        if not objects:
            raise StepError(f"{field} ({item.get('InputName', '?')}): no object at {uri}")
        if source.get("S3DataDistributionType") == "ShardedByS3Key":
            position, count = shard
            objects = objects[position::count]
        s3_objects.download(s3, uri, objects, destination)
    except StepError:
        raise
    except Exception as err:
        raise aws_failure(f"{field}: reading {uri}", err) from err


def _upload_output(ctx: StepContext, s3: Any, item: dict[str, Any], instances: dict[str, Path]) -> str:
    output = item["S3Output"]
    uri = str(required(output, "S3Uri"))
    try:
        for host, opt_ml_dir in instances.items():
            local = host_path(opt_ml_dir, output["LocalPath"], "S3Output.LocalPath")
            uploaded = s3_objects.upload_directory(s3, local, uri)
            ctx.log.line(f"uploaded {len(uploaded)} file(s) from {host} to {uri}")
    except Exception as err:
        raise aws_failure(f"output {item.get('OutputName', '?')}: writing {uri}", err) from err
    return uri.rstrip("/") + "/"  # a directory: what a cache entry must copy
