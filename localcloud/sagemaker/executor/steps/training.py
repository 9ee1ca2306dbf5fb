"""Training steps: the built-in XGBoost algorithm, script mode, or the job's own entrypoint.

What runs depends on the job, as in SageMaker:

- the built-in XGBoost image (``sagemaker-xgboost`` without ``sagemaker_program``): the version the
  image tag names, emulated by :mod:`localcloud.sagemaker.executor.xgboost_algorithm`;
- script mode (a ``sagemaker_program`` hyperparameter, what the SDK's framework estimators write):
  the training toolkit's contract, :mod:`.script_mode`;
- an ``AlgorithmSpecification.ContainerEntrypoint``: that command, an image's ``python3`` being
  this interpreter.

The job is laid out exactly as SageMaker lays out a training container (config JSON files, one
directory per channel, ``/opt/ml/model``), the code runs as a subprocess, metrics are parsed
from its log with the job's ``MetricDefinitions`` (plus the built-in algorithm's predefined
ones), and ``/opt/ml/model`` is packed into ``<S3OutputPath>/<TrainingJobName>/output/model.tar.gz``,
where SageMaker puts it (and ``/opt/ml/output/data`` into ``output.tar.gz`` beside it).
"""

from __future__ import annotations

import enum
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.iam import SAGEMAKER_SESSION
from localcloud.sagemaker.executor.images import (
    XGBOOST_REPOSITORY,
    Image,
    ImageKind,
    classify,
    missing_framework_problem,
)
from localcloud.sagemaker.executor.steps.archives import pack_and_upload
from localcloud.sagemaker.executor.steps.base import (
    StepContext,
    StepError,
    StepLog,
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
    write_config,
)
from localcloud.sagemaker.executor.steps.function_step import function_step_problem
from localcloud.sagemaker.executor.steps.script_mode import (
    CODE_DIR,
    ScriptJob,
    is_script_mode,
    stage_code,
    upload_output_data,
)
from localcloud.sagemaker.executor.xgboost_versions import (
    ClientError,
    ModelFormat,
    UnknownVersionError,
    booster_parameters,
    content_type_of,
    version_of,
)
from pipelines.settings import Settings
from processing_scripts import contract

ALGORITHM_COMMAND = [sys.executable, "-m", "localcloud.sagemaker.executor.xgboost_algorithm"]
HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"  # a job without InstanceGroups has this one group
JOB_DIRECTORIES = (
    contract.Training.MODEL,
    f"{contract.OPT_ML}/output/data",
    f"{contract.OPT_ML}/output/intermediate",
)
_NUMBER = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
# The built-in algorithm's predefined metrics: every "#011<channel>-<metric>:<value>" on a "[N]" line.
_EVALUATION_LINE = re.compile(rf"#011(?P<channel>[^-#\s]+)-(?P<metric>[^:#\s]+):(?P<value>{_NUMBER})")


def builtin_metrics(line: str) -> dict[str, float]:
    """The ``<channel>:<metric>`` values on one evaluation line of the algorithm's log."""
    if not line.lstrip().startswith("["):
        return {}
    return {f"{m['channel']}:{m['metric']}": float(m["value"]) for m in _EVALUATION_LINE.finditer(line)}


@dataclass
class MetricCollector:
    """The last value of each metric seen in a job's log (SageMaker's FinalMetricDataList)."""

    definitions: list[dict[str, str]] = field(default_factory=list)
    builtin: bool = True  # the built-in algorithm's predefined metrics too
    values: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        try:
            self._patterns = [(d["Name"], re.compile(d["Regex"])) for d in self.definitions]
        except (KeyError, re.error) as err:
            raise StepError(f"AlgorithmSpecification.MetricDefinitions is invalid: {err}") from err

    def observe(self, _host: str, line: str) -> None:
        found = builtin_metrics(line) if self.builtin else {}
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match and match.groups():
                try:
                    found[name] = float(match.group(1))
                except ValueError:
                    continue
        with self._lock:
            self.values.update(found)

    def final_metric_data(self) -> list[dict[str, Any]]:
        return [{"MetricName": name, "Value": value} for name, value in sorted(self.values.items())]


class Mode(enum.Enum):
    BUILTIN_XGBOOST = "the built-in XGBoost algorithm"
    SCRIPT = "script mode"
    ENTRYPOINT = "the job's ContainerEntrypoint"


def training_mode(image: Image, algorithm: Mapping[str, Any], hyperparameters: Mapping[str, Any]) -> Mode:
    """How SageMaker would run this job's image; a StepError when it cannot run here at all."""
    if algorithm.get("ContainerEntrypoint"):
        return Mode.ENTRYPOINT
    if is_script_mode(dict(hyperparameters)):
        return Mode.SCRIPT
    if image.repository == XGBOOST_REPOSITORY:
        return Mode.BUILTIN_XGBOOST
    if image.kind is ImageKind.BUILTIN_ALGORITHM:
        raise StepError(
            f"image {image.label} is a built-in algorithm whose code only exists in its image; "
            f"only the built-in XGBoost ({XGBOOST_REPOSITORY}) is emulated locally"
        )
    raise StepError(
        f"image {image.label}: the local executor cannot know its training entrypoint; give "
        "AlgorithmSpecification.ContainerEntrypoint or use script mode (sagemaker_program)"
    )


def preflight_problems(arguments: Mapping[str, Any], settings: Settings) -> list[str]:
    """What stops this training job (a CreateTrainingJob request) from running locally, known
    before anything runs, one line each. Unresolved expressions (``{"Get": ...}``) are not judged."""
    algorithm = arguments.get("AlgorithmSpecification")
    if not isinstance(algorithm, Mapping):
        return ["Arguments.AlgorithmSpecification is missing"]
    uri = algorithm.get("TrainingImage")
    if uri is None:
        return [
            f"AlgorithmSpecification: only a TrainingImage can run locally (not AlgorithmName "
            f"{algorithm.get('AlgorithmName')!r})"
        ]
    if not isinstance(uri, str):
        return []
    image = classify(uri, settings.processing_image_uri)
    hyperparameters = arguments.get("HyperParameters") or {}
    try:
        mode = training_mode(image, algorithm, hyperparameters)
    except StepError as err:
        return [err.reason]
    if mode is Mode.BUILTIN_XGBOOST:
        return _builtin_problems(image, arguments, hyperparameters)
    problems = [p for p in (missing_framework_problem(image), isolation_problem(image)) if p]
    if mode is Mode.ENTRYPOINT:
        problems += [
            p for p in (function_step_problem(arguments), _entrypoint_problem(image, algorithm)) if p
        ]
    if mode is Mode.SCRIPT and all(isinstance(v, str) for v in hyperparameters.values()):
        try:
            source = ScriptJob.of(dict(hyperparameters)).source_problem()
        except StepError as err:
            source = err.reason
        problems += [source] if source else []
    return problems


def _entrypoint_problem(image: Image, algorithm: Mapping[str, Any]) -> str | None:
    command = algorithm["ContainerEntrypoint"][0]
    if not command_not_installed(command):
        return None
    return (
        f"entrypoint command {command!r} (from {image.label}) is not installed here: it is inside the image"
    )


@declares_blockers(from_problems(preflight_problems))
def run_training(ctx: StepContext) -> StepResult:
    ctx.start_job("sagemaker:CreateTrainingJob", {"TrainingJobName": ctx.job_name, **ctx.arguments})
    return run_training_job(ctx, ctx.arguments, ctx.job_name, ctx.work_dir, ctx.log)


def _builtin_problems(
    image: Image, arguments: Mapping[str, Any], hyperparameters: Mapping[str, Any]
) -> list[str]:
    """The built-in XGBoost job's version, hyperparameters and content types, as the image checks them."""
    try:
        version = version_of(image.tag)
    except UnknownVersionError as err:
        return [str(err)]
    problems = []
    if all(isinstance(value, str) for value in hyperparameters.values()):
        try:
            booster_parameters(dict(hyperparameters), version)
        except ClientError as err:
            problems.append(f"ClientError: {err}")
    for channel in arguments.get("InputDataConfig") or []:
        content_type = channel.get("ContentType")
        if content_type is None or isinstance(content_type, str):
            try:
                content_type_of(str(channel.get("ChannelName")), content_type)
            except ClientError as err:
                problems.append(f"ClientError: {err}")
    return problems


@dataclass(frozen=True)
class _Launch:
    argv: list[str]
    environment: dict[str, str]
    cwd: str = str(contract.OPT_ML)


def run_training_job(
    ctx: StepContext, request: dict[str, Any], job_name: str, work_dir: Path, log: StepLog
) -> StepResult:
    """Run one training job (a CreateTrainingJob request): its DescribeTrainingJob shape and the
    archives it wrote. Data moves with the job role's clients, as SageMaker moves it."""
    s3 = ctx.access.clients_for(request.get("RoleArn"), SAGEMAKER_SESSION).s3
    algorithm = required(request, "AlgorithmSpecification")
    problems = preflight_problems(request, ctx.settings)
    if problems:
        raise StepError(problems[0])
    image = classify(str(required(algorithm, "TrainingImage")), ctx.settings.processing_image_uri)
    hyperparameters = {str(k): str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    mode = training_mode(image, algorithm, hyperparameters)
    instances = _instances(ctx, request, mode, work_dir / job_name)
    hosts = list(instances)
    metrics = MetricCollector(algorithm.get("MetricDefinitions") or [], builtin=mode is Mode.BUILTIN_XGBOOST)
    processes = []
    for position, (host, opt_ml) in enumerate(instances.items()):
        channels = _stage_channels(
            s3, request.get("InputDataConfig") or [], opt_ml, shard=(position, len(hosts))
        )
        write_config(opt_ml, contract.Training.HYPERPARAMETERS, hyperparameters)
        write_config(opt_ml, contract.Training.INPUT_DATA_CONFIG, channels)
        write_config(opt_ml, contract.Training.RESOURCE_CONFIG, _resource_config(request, host, hosts))
        for directory in JOB_DIRECTORIES:  # SageMaker creates them before the container starts
            host_path(opt_ml, directory, "directory").mkdir(parents=True, exist_ok=True)
        launch = _launch(
            ctx,
            mode,
            image,
            algorithm=algorithm,
            hyperparameters=hyperparameters,
            channels=channels,
            opt_ml=opt_ml,
            job_name=job_name,
            hosts=hosts,
            host=host,
            s3=s3,
        )
        environment = {
            **container_environment(
                request.get("Environment") or {},
                ctx.job_environment(request),
                opt_ml,
                project_code=mode is Mode.BUILTIN_XGBOOST or image.kind is ImageKind.PROJECT,
            ),
            # What the platform sets in every training container (the training toolkit and SDK
            # 3.x ModelTrainer's driver read them).
            "TRAINING_JOB_NAME": job_name,
            "TRAINING_JOB_ARN": job_arn(ctx.settings, "training-job", job_name),
            **launch.environment,
        }
        label = job_name if len(hosts) == 1 else host
        processes.append(ContainerProcess(label, launch.argv, environment, opt_ml, launch.cwd))
    instances_note = f", {len(hosts)} instances" if len(hosts) > 1 else ""
    log.line(f"$ {' '.join(processes[0].argv)}  (job {job_name}, {mode.value}{instances_note})")
    runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    labels = {process.host: opt_ml for process, opt_ml in zip(processes, instances.values(), strict=True)}
    for outcome in run_processes(processes, log, metrics.observe, runtime):
        if outcome.returncode != 0:
            raise failure_of(outcome, labels[outcome.host], image)
    opt_ml = instances[HOST]  # SageMaker keeps the model and output data that algo-1 wrote
    model_uri = _upload_model(s3, opt_ml, request, job_name, builtin=mode is Mode.BUILTIN_XGBOOST)
    output_path = str(required(request, "OutputDataConfig", "S3OutputPath"))
    output_uri = upload_output_data(s3, opt_ml, output_path, job_name)
    description = {
        **request,
        "TrainingJobName": job_name,
        "TrainingJobArn": job_arn(ctx.settings, "training-job", job_name),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "HyperParameters": hyperparameters,
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
        "FinalMetricDataList": metrics.final_metric_data(),
    }
    return StepResult(properties=description, written_uris=[model_uri, *([output_uri] if output_uri else [])])


def _launch(
    ctx: StepContext,
    mode: Mode,
    image: Image,
    *,
    algorithm: Mapping[str, Any],
    hyperparameters: dict[str, str],
    channels: dict[str, Any],
    opt_ml: Path,
    job_name: str,
    hosts: list[str],
    host: str,
    s3: Any,
) -> _Launch:
    if mode is Mode.BUILTIN_XGBOOST:
        version = version_of(image.tag)
        if version.model_format is ModelFormat.LEGACY_BINARY:
            ctx.warn(
                f"{image.label} writes xgboost-model in XGBoost's legacy binary format, which this xgboost "
                "cannot write; the emulation writes UBJSON (readable by xgboost 1.6 and later) instead"
            )
        return _Launch([*ALGORITHM_COMMAND, "--image-version", image.tag], {})
    if mode is Mode.SCRIPT:
        job = ScriptJob.of(hyperparameters)
        code_dir = host_path(opt_ml, CODE_DIR, "code directory")
        stage_code(s3, job, code_dir)
        return _Launch(
            job.command(code_dir, sys.executable), job.environment(job_name, channels, hosts, host), CODE_DIR
        )
    argv = [*map(str, algorithm["ContainerEntrypoint"]), *map(str, algorithm.get("ContainerArguments") or [])]
    return _Launch(local_command(argv), {})


def _resource_config(request: Mapping[str, Any], host: str, hosts: list[str]) -> dict[str, Any]:
    """resourceconfig.json as a training container gets it, instance group fields included (SDK 3.x
    ModelTrainer's driver reads ``current_instance_type``), per
    https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html"""
    instance_type = str((request.get("ResourceConfig") or {}).get("InstanceType", "local"))
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": INSTANCE_GROUP, "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def _instances(ctx: StepContext, request: Mapping[str, Any], mode: Mode, job_dir: Path) -> dict[str, Path]:
    """Each host's own /opt/ml (``algo-1`` ... ``algo-N`` for ``ResourceConfig.InstanceCount``).

    Every host runs the job's code with its own resourceconfig.json and ``SM_HOSTS``, as SageMaker
    starts one container per instance. The built-in XGBoost emulation is one process: its
    distributed training (Rabit across the hosts) is emulated by algo-1 alone, reading all the data.
    """
    count = int((request.get("ResourceConfig") or {}).get("InstanceCount", 1))
    if count < 1:
        raise StepError(f"ResourceConfig.InstanceCount must be >= 1, got {count}")
    if count > 1 and mode is Mode.BUILTIN_XGBOOST:
        ctx.warn(
            f"the built-in XGBoost's distributed training over {count} instances is emulated by one "
            "instance reading all the data"
        )
        count = 1
    if count == 1:
        return {HOST: job_dir}
    return {f"algo-{index + 1}": job_dir / f"algo-{index + 1}" for index in range(count)}


def _stage_channels(
    s3: Any, channels: list[dict[str, Any]], opt_ml: Path, *, shard: tuple[int, int]
) -> dict[str, Any]:
    """Copy every channel into one host; ``shard`` is (this host's position, host count): a
    ``ShardedByS3Key`` channel gives host k every N-th object, as processing inputs do."""
    config: dict[str, Any] = {}
    for index, channel in enumerate(channels):
        name = required(channel, "ChannelName")
        source = required(channel, "DataSource", "S3DataSource")
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise StepError(f"InputDataConfig[{index}] ({name}): only S3Prefix data can run locally")
        uri = str(required(source, "S3Uri"))
        destination = host_path(opt_ml, contract.Training.channel(name), f"channel {name}")
        destination.mkdir(parents=True, exist_ok=True)
        try:
            objects = s3_objects.list_objects(s3, uri)
            if not objects:
                raise StepError(f"InputDataConfig[{index}] ({name}): no object at {uri}")
            if source.get("S3DataDistributionType") == "ShardedByS3Key":
                position, count = shard
                objects = objects[position::count]
            s3_objects.download(s3, uri, objects, destination)
        except StepError:
            raise
        except Exception as err:
            raise aws_failure(f"channel {name}: reading {uri}", err) from err
        config[name] = {
            # A channel without a ContentType has none in inputdataconfig.json either (the built-in
            # XGBoost then reads libsvm).
            **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
    return config


def _upload_model(s3: Any, opt_ml: Path, request: dict[str, Any], job_name: str, *, builtin: bool) -> str:
    model_dir = host_path(opt_ml, contract.Training.MODEL, "model directory")
    model_dir.mkdir(parents=True, exist_ok=True)  # SageMaker archives an empty /opt/ml/model too
    if builtin and not (model_dir / contract.Training.MODEL_FILE).is_file():
        raise StepError(f"AlgorithmError: the job wrote no {contract.Training.MODEL_FILE}")
    output_path = str(required(request, "OutputDataConfig", "S3OutputPath"))
    return pack_and_upload(s3, model_dir, opt_ml / contract.Training.MODEL_ARCHIVE, output_path, job_name)
