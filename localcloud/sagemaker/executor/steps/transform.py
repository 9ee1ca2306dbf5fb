"""Transform steps: a batch transform job over the model a Model step (or CreateModel) made.

The model is read back from the emulator (DescribeModel, and DescribeModelPackage when its
container names a package), its ``model.tar.gz`` is unpacked into each instance's ``/opt/ml/model``
and the instances run :mod:`transform_container`, which serves the model the way its image would
and applies the job's record handling. Input objects are shared out across ``InstanceCount``
instances; each output object is ``<S3OutputPath>/<input object's name>.out``, uploaded only after
every instance succeeded. The step's properties are DescribeTransformJob's shape.

What cannot run locally is known from the arguments alone, so :func:`preflight_problems` lists it
before anything starts: RecordIO/TFRecord splitting, compressed input, manifest files and filters
outside SageMaker's JSONPath subset.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.iam import SAGEMAKER_SESSION
from localcloud.sagemaker.executor.steps import transform_container as container_code
from localcloud.sagemaker.executor.steps.archives import download_and_extract
from localcloud.sagemaker.executor.steps.base import (
    StepContext,
    StepError,
    StepResult,
    aws_failure,
    declares_blockers,
    from_step_problems,
    job_arn,
    required,
)
from localcloud.sagemaker.executor.steps.container import (
    ContainerProcess,
    container_environment,
    failure_of,
    host_path,
    run_processes,
    write_config,
)
from localcloud.sagemaker.executor.steps.training import XGBOOST_REPOSITORY
from localcloud.sagemaker.executor.steps.transform_capture import write_capture
from localcloud.sagemaker.executor.steps.transform_records import MEGABYTE, check_filter
from processing_scripts.drift.capture import parse_time

CONTAINER_COMMAND = [sys.executable, "-m", "localcloud.sagemaker.executor.steps.transform_container"]
SPLIT_TYPES = ("None", "Line")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
JOIN_SOURCES = ("None", "Input")
# CreateTransformJob: MaxPayloadInMB "Valid Range: Minimum value of 0. Maximum value of 100",
# default 6 (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html).
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB = 100
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
DEFAULT_CODE_DIR = "/opt/ml/model/code"  # where the inference toolkit looks when no directory is named


def preflight_problems(step: Mapping[str, Any]) -> list[str]:
    """What in a Transform step (its JSON object) the local executor cannot run; values that are
    still expressions are checked when the step runs."""
    arguments = step.get("Arguments")
    if not isinstance(arguments, dict):
        return ["Arguments must be an object"]
    problems: list[str] = []
    transform_input = arguments.get("TransformInput") or {}
    source = (transform_input.get("DataSource") or {}).get("S3DataSource")
    if not isinstance(source, dict):
        problems.append("TransformInput.DataSource: only S3DataSource inputs can run locally")
    elif _known(source.get("S3DataType")) not in (None, "S3Prefix"):
        problems.append(
            f"TransformInput.DataSource.S3DataSource.S3DataType {source['S3DataType']!r}: only S3Prefix runs locally"
        )
    checks = [
        ("TransformInput.SplitType", transform_input.get("SplitType"), SPLIT_TYPES),
        ("TransformInput.CompressionType", transform_input.get("CompressionType"), ("None",)),
        ("BatchStrategy", arguments.get("BatchStrategy"), BATCH_STRATEGIES),
        (
            "TransformOutput.AssembleWith",
            (arguments.get("TransformOutput") or {}).get("AssembleWith"),
            ASSEMBLE_WITH,
        ),
        (
            "DataProcessing.JoinSource",
            (arguments.get("DataProcessing") or {}).get("JoinSource"),
            JOIN_SOURCES,
        ),
    ]
    for field, value, allowed in checks:
        if _known(value) is not None and value not in allowed:
            problems.append(f"{field} {value!r} cannot run locally (supported: {', '.join(allowed)})")
    payload = _known(arguments.get("MaxPayloadInMB"))
    if payload is not None and not (isinstance(payload, int) and 0 <= payload <= MAX_PAYLOAD_MB):
        problems.append(f"MaxPayloadInMB {payload!r} must be a whole number from 0 to {MAX_PAYLOAD_MB}")
    for name in ("InputFilter", "OutputFilter"):
        expression = _known((arguments.get("DataProcessing") or {}).get(name))
        if isinstance(expression, str) and (problem := check_filter(expression, f"DataProcessing.{name}")):
            problems.append(problem)
    return problems


def _known(value: Any) -> Any:
    """A literal argument value; None for an expression (``{"Get": ...}``) resolved at run time."""
    return None if isinstance(value, dict) else value


@declares_blockers(from_step_problems(preflight_problems))
def run_transform(ctx: StepContext) -> StepResult:
    args = ctx.arguments
    problems = preflight_problems({**ctx.spec.body, "Arguments": args})
    if problems:
        raise StepError("; ".join(problems))
    model_name = str(required(args, "ModelName"))
    ctx.authorize("sagemaker:CreateTransformJob", {"TransformJobName": ctx.job_name, **args})
    image, model_data, environment, role = _model_container(ctx, model_name)
    # A transform job reads its input and model and writes its output as the model's role.
    s3 = ctx.access.clients_for(role, SAGEMAKER_SESSION).s3
    server = _server_kind(ctx, image, environment)
    transform_input = required(args, "TransformInput")
    input_uri = str(required(transform_input, "DataSource", "S3DataSource", "S3Uri"))
    output_uri = str(required(args, "TransformOutput", "S3OutputPath"))
    split_type = transform_input.get("SplitType", "None")
    processing = args.get("DataProcessing") or {}
    job = {
        "server": server,
        "program": environment.get(PROGRAM_ENV, ""),
        "code_dir": _code_dir(environment.get(SUBMIT_DIRECTORY_ENV, "")),
        "content_type": transform_input.get("ContentType", "text/csv" if server == "xgboost" else ""),
        "accept": (args.get("TransformOutput") or {}).get("Accept", "text/csv"),
        "split_type": split_type,
        # The built-in algorithm's /execution-parameters answers MULTI_RECORD; SageMaker uses it
        # when the job sets none. Other servers get one record per request.
        "batch_strategy": args.get("BatchStrategy")
        or ("MultiRecord" if server == "xgboost" and split_type == "Line" else "SingleRecord"),
        "max_payload_bytes": int(args.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)) * MEGABYTE,
        "assemble_with": (args.get("TransformOutput") or {}).get("AssembleWith", "None"),
        "input_filter": processing.get("InputFilter"),
        "output_filter": processing.get("OutputFilter"),
        "join_source": processing.get("JoinSource", "None"),
    }
    try:
        objects = s3_objects.list_objects(s3, input_uri)
    except Exception as err:
        raise aws_failure(f"listing {input_uri}", err) from err
    if not objects:
        raise StepError(f"TransformInput: no object at {input_uri}")
    count = max(1, int((args.get("TransformResources") or {}).get("InstanceCount", 1)))
    hosts = [f"algo-{index + 1}" for index in range(min(count, len(objects)))]
    instances = {host: ctx.work_dir / host for host in hosts}
    code_archive = environment.get(SUBMIT_DIRECTORY_ENV, "")
    for position, opt_ml in enumerate(instances.values()):
        download_and_extract(
            s3, model_data, host_path(opt_ml, container_code.MODEL_DIR, "model"), "model data"
        )
        if server == "script" and code_archive.startswith("s3://"):
            download_and_extract(
                s3,
                code_archive,
                host_path(opt_ml, container_code.CODE_DIR, "code"),
                "the model's code",
            )
        write_config(opt_ml, container_code.JOB_FILE, job)
        destination = host_path(opt_ml, container_code.INPUT_DIR, "input")
        destination.mkdir(parents=True)
        try:
            s3_objects.download(s3, input_uri, objects[position :: len(hosts)], destination)
        except Exception as err:
            raise aws_failure(f"reading {input_uri}", err) from err
    declared = {**environment, **(args.get("Environment") or {}), "SAGEMAKER_BATCH": "true"}
    emulator = ctx.access.environment_for(role, SAGEMAKER_SESSION)
    processes = [
        ContainerProcess(host, CONTAINER_COMMAND, container_environment(declared, emulator, path), path)
        for host, path in instances.items()
    ]
    ctx.log.line(
        f"transforming {len(objects)} object(s) of {input_uri} with model {model_name} ({server} server)"
    )
    for outcome in run_processes(processes, ctx.log):
        if outcome.returncode != 0:
            raise failure_of(outcome, instances[outcome.host])
    outputs = _upload_outputs(ctx, s3, instances, output_uri)
    if args.get("DataCaptureConfig"):
        _capture(ctx, s3, input_uri=input_uri, inputs=objects, output_uri=output_uri, outputs=sorted(outputs))
    properties = {
        **args,
        "TransformJobName": ctx.job_name,
        "TransformJobArn": job_arn(ctx.settings, "transform-job", ctx.job_name),
        "TransformJobStatus": "Completed",
        "BatchStrategy": job["batch_strategy"],
        "MaxPayloadInMB": job["max_payload_bytes"] // MEGABYTE,
    }
    return StepResult(properties=properties, written_uris=[output_uri.rstrip("/") + "/"])


def _upload_outputs(ctx: StepContext, s3: Any, instances: Mapping[str, Path], output_uri: str) -> list[str]:
    """Every instance's output files under ``output_uri``, once all of them succeeded."""
    outputs: list[str] = []
    for host, opt_ml in instances.items():
        try:
            uploaded = s3_objects.upload_directory(
                s3, host_path(opt_ml, container_code.OUTPUT_DIR, "output"), output_uri
            )
        except Exception as err:
            raise aws_failure(f"writing {output_uri}", err) from err
        ctx.log.line(f"uploaded {len(uploaded)} file(s) from {host} to {output_uri}")
        outputs += uploaded
    return outputs


def _capture(
    ctx: StepContext,
    s3: Any,
    *,
    input_uri: str,
    inputs: list[s3_objects.S3Object],
    output_uri: str,
    outputs: list[str],
) -> None:
    """The job's DataCaptureConfig: manifests in the hour folder of the execution's start."""
    destination = str(required(ctx.arguments, "DataCaptureConfig", "DestinationS3Uri"))
    started = parse_time(str(ctx.resolve({"Get": "Execution.StartDateTime"})))
    try:
        written = write_capture(
            s3,
            destination,
            started,
            input_uri=input_uri,
            inputs=inputs,
            output_uri=output_uri,
            outputs=outputs,
        )
    except Exception as err:
        raise aws_failure(f"writing data capture to {destination}", err) from err
    ctx.log.line(f"captured {len(inputs)} input and {len(outputs)} output object(s): {', '.join(written)}")


def _code_dir(submit_directory: str) -> str:
    """Where the inference script is in the container: an S3 archive is unpacked to /opt/ml/code,
    a container path is used as it is, and without one the toolkit looks in the model's code/."""
    if submit_directory.startswith("s3://"):
        return container_code.CODE_DIR
    return submit_directory or DEFAULT_CODE_DIR


def _model_container(ctx: StepContext, model_name: str) -> tuple[str, str, dict[str, str], str | None]:
    """(image, ModelDataUrl, environment, ExecutionRoleArn) of the model, through its model package
    if it has one."""
    sagemaker = ctx.aws.clients.sagemaker
    try:
        model = sagemaker.describe_model(ModelName=model_name)
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        if container.get("ModelPackageName"):
            package = sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
            container = {**package["InferenceSpecification"]["Containers"][0], **container}
    except Exception as err:
        raise aws_failure(f"describing model {model_name}", err) from err
    if not container.get("ModelDataUrl"):
        raise StepError(f"model {model_name} has no ModelDataUrl: nothing to load")
    return (
        str(container.get("Image", "")),
        str(container["ModelDataUrl"]),
        dict(container.get("Environment") or {}),
        model.get("ExecutionRoleArn"),
    )


def _server_kind(ctx: StepContext, image: str, environment: dict[str, str]) -> str:
    repository = image.rpartition(":")[0] if ":" in image.rpartition("/")[2] else image
    if repository == ctx.settings.processing_image_uri.rpartition(":")[0]:
        return "project"
    if environment.get(PROGRAM_ENV):
        return "script"
    if repository.rpartition("/")[2] == XGBOOST_REPOSITORY:
        return "xgboost"
    raise StepError(
        f"model image {image}: the local executor serves the built-in XGBoost algorithm, framework "
        f"models with {PROGRAM_ENV} in their environment, and the project's image; "
        "use --stub STEP=outputs.json for this step"
    )
