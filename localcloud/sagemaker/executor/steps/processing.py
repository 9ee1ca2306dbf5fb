"""Processing steps: the job's entrypoint and arguments run as N local "instances".

The entrypoint runs as declared (``ContainerEntrypoint`` + ``ContainerArguments``), an image's
``python3`` being this interpreter, so a framework image's script (``python3
/opt/ml/processing/input/code/preprocess.py``, what the SDK's ``SKLearnProcessor`` and
``FrameworkProcessor`` write) runs unchanged when the framework's package is installed here.
Inputs are copied from the emulator's S3 into each instance's ``/opt/ml/processing/...`` (mapped
through ``OPT_ML_DIR``), all at once for ``FullyReplicated`` and one key in N for
``ShardedByS3Key``; outputs are uploaded only after every instance exited 0, so a failed or
interrupted job never leaves partial outputs behind for a later step to read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from localcloud import s3_objects
from localcloud.sagemaker.executor.images import (
    Image,
    ImageKind,
    classify,
    missing_framework_problem,
)
from localcloud.sagemaker.executor.steps.base import (
    Blocker,
    StepContext,
    StepError,
    StepResult,
    aws_failure,
    declares_blockers,
    from_problems,
    job_arn,
    required,
)
from localcloud.sagemaker.executor.steps.container import (
    ContainerProcess,
    command_not_installed,
    container_environment,
    failure_of,
    host_path,
    isolation_problem,
    local_command,
    run_processes,
    write_resource_config,
)
from localcloud.sagemaker.executor.steps.image_code import processing_blockers
from pipelines.definition import Step
from pipelines.settings import MAX_PROCESSING_INSTANCES, Settings
from processing_scripts import contract

# ProcessingS3Input.LocalPath "must begin with /opt/ml/processing/"
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html).
INPUT_ROOT = contract.PROCESSING_DIR


def preflight_problems(arguments: Mapping[str, Any], settings: Settings) -> list[str]:
    """What stops this processing job from running locally, known before anything runs (one line
    each; ``[]`` when nothing does). ``arguments`` may still hold unresolved expressions
    (``{"Get": ...}``), which are not judged."""
    app = arguments.get("AppSpecification")
    if not isinstance(app, Mapping):
        return ["Arguments.AppSpecification is missing"]
    problems = []
    uri = app.get("ImageUri")
    image = classify(uri, settings.processing_image_uri) if isinstance(uri, str) else None
    entrypoint = app.get("ContainerEntrypoint")
    if not entrypoint:
        problems.append(
            "Arguments.AppSpecification.ContainerEntrypoint is missing: the local executor runs the "
            "job's command itself and cannot know an image's default entrypoint"
        )
    elif command_not_installed(entrypoint[0]):
        label = image.label if image else "the image"
        problems.append(f"entrypoint command {entrypoint[0]!r} (from {label}) is not installed here")
    if image is not None:
        if image.kind is ImageKind.BUILTIN_ALGORITHM:
            problems.append(f"image {image.label} is a built-in algorithm; its code cannot run locally")
        problems += [p for p in (missing_framework_problem(image), isolation_problem(image)) if p]
    for index, item in enumerate(arguments.get("ProcessingInputs") or []):
        local = (item.get("S3Input") or {}).get("LocalPath") if isinstance(item, Mapping) else None
        if isinstance(local, str) and not _under(local, INPUT_ROOT):
            problems.append(
                f"ProcessingInputs[{index}].S3Input.LocalPath {local!r} must begin with {INPUT_ROOT}/ "
                "(AWS's rule for processing inputs)"
            )
    outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for index, item in enumerate(outputs):
        local = (item.get("S3Output") or {}).get("LocalPath") if isinstance(item, Mapping) else None
        if isinstance(local, str) and not _under(local, contract.OPT_ML):
            # AWS allows any absolute path here; locally only /opt/ml is private to the instance.
            problems.append(
                f"Outputs[{index}].S3Output.LocalPath {local!r}: the local executor gives each instance "
                f"only its own {contract.OPT_ML}; write outputs under {INPUT_ROOT}/"
            )
    return problems


def _under(path: str, root: PurePosixPath) -> bool:
    return PurePosixPath(path).is_relative_to(root) and ".." not in PurePosixPath(path).parts


def _blockers(step: Step, settings: Settings) -> Iterator[Blocker]:
    """The pre-flight's view: code baked into an image, and what :func:`preflight_problems` finds."""
    yield from processing_blockers(step, settings)
    yield from from_problems(preflight_problems)(step, settings)


@declares_blockers(_blockers)
def run_processing(ctx: StepContext) -> StepResult:
    args = ctx.arguments
    app = required(args, "AppSpecification")
    problems = preflight_problems(args, ctx.settings)
    if problems:
        raise StepError(problems[0])
    image = classify(str(required(app, "ImageUri")), ctx.settings.processing_image_uri)
    _check_image(ctx, image)
    entrypoint = app["ContainerEntrypoint"]
    argv = local_command([*map(str, entrypoint), *map(str, app.get("ContainerArguments") or [])])
    count = int(required(args, "ProcessingResources", "ClusterConfig", "InstanceCount"))
    # "Valid Range: Minimum value of 1. Maximum value of 100."
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingClusterConfig.html)
    if not 1 <= count <= MAX_PROCESSING_INSTANCES:
        raise StepError(
            f"ProcessingResources.ClusterConfig.InstanceCount must be 1 to {MAX_PROCESSING_INSTANCES}, got {count}"
        )
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
            host,
            argv,
            container_environment(
                args.get("Environment") or {}, emulator, path, project_code=image.kind is ImageKind.PROJECT
            ),
            path,
        )
        for host, path in instances.items()
    ]
    ctx.log.line(f"$ {' '.join(argv)}  ({count} instance{'s' if count > 1 else ''})")
    runtime = (args.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    for outcome in run_processes(processes, ctx.log, max_runtime_seconds=runtime):
        if outcome.returncode != 0:
            raise failure_of(outcome, instances[outcome.host], image)
    written = [_upload_output(ctx, job_clients.s3, item, instances) for item in outputs]
    properties: dict[str, Any] = {
        **args,
        "ProcessingJobName": ctx.job_name,
        "ProcessingJobArn": job_arn(ctx.settings, "processing-job", ctx.job_name),
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "",
    }
    return StepResult(properties=properties, written_uris=written)


def _check_image(ctx: StepContext, image: Image) -> None:
    """Say when what runs may differ from what the image would run: a stale project image tag, or
    an image this executor does not know (its entrypoint runs with this environment's packages).
    A foreign definition's image says nothing about this checkout, so its tag is not judged."""
    expected_tag = ctx.settings.processing_image_uri.rpartition(":")[2]
    if ctx.project_definition and image.kind is ImageKind.PROJECT and image.tag != expected_tag:
        ctx.warn(
            f"image tag {image.tag} differs from this checkout's {expected_tag}: the definition is stale; "
            "run `python -m pipelines synth`"
        )
    elif image.kind is ImageKind.OTHER:
        ctx.warn(
            f"image {image.label} is not one the local executor knows: its entrypoint runs with this venv"
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
