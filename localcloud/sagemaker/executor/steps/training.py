"""Training steps with the built-in XGBoost image, emulated by :mod:`localcloud.sagemaker.executor.xgboost_algorithm`.

The job is laid out exactly as SageMaker lays out a training container (config JSON files, one
directory per channel, ``/opt/ml/model``), the algorithm runs as a subprocess, metrics are parsed
from its log with the algorithm's predefined metric definitions plus any in the job's
``MetricDefinitions``, and ``/opt/ml/model`` is packed into
``<S3OutputPath>/<TrainingJobName>/output/model.tar.gz``, where SageMaker puts it.
"""

from __future__ import annotations

import re
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.iam import SAGEMAKER_SESSION
from localcloud.sagemaker.executor.steps.base import (
    StepContext,
    StepError,
    StepLog,
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
    run_processes,
    write_config,
    write_resource_config,
)
from processing_scripts import contract, s3_uri

XGBOOST_REPOSITORY = "sagemaker-xgboost"
ALGORITHM_COMMAND = [sys.executable, "-m", "localcloud.sagemaker.executor.xgboost_algorithm"]
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
    values: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        try:
            self._patterns = [(d["Name"], re.compile(d["Regex"])) for d in self.definitions]
        except (KeyError, re.error) as err:
            raise StepError(f"AlgorithmSpecification.MetricDefinitions is invalid: {err}") from err

    def observe(self, _host: str, line: str) -> None:
        found = builtin_metrics(line)
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


def run_training(ctx: StepContext) -> StepResult:
    ctx.start_job("sagemaker:CreateTrainingJob", {"TrainingJobName": ctx.job_name, **ctx.arguments})
    job = run_training_job(ctx, ctx.arguments, ctx.job_name, ctx.work_dir, ctx.log)
    return StepResult(properties=job, written_uris=[job["ModelArtifacts"]["S3ModelArtifacts"]])


def run_training_job(
    ctx: StepContext, request: dict[str, Any], job_name: str, work_dir: Path, log: StepLog
) -> dict[str, Any]:
    """Run one training job (a CreateTrainingJob request, already authorized); returns its
    DescribeTrainingJob shape. Data moves with the job role's clients, as SageMaker moves it."""
    s3 = ctx.access.clients_for(request.get("RoleArn"), SAGEMAKER_SESSION).s3
    algorithm = required(request, "AlgorithmSpecification")
    check_xgboost_image(ctx, algorithm.get("TrainingImage"))
    opt_ml = work_dir / job_name
    hyperparameters = {str(k): str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    channels = _stage_channels(s3, request.get("InputDataConfig") or [], opt_ml)
    write_config(opt_ml, contract.Training.HYPERPARAMETERS, hyperparameters)
    write_config(opt_ml, contract.Training.INPUT_DATA_CONFIG, channels)
    write_resource_config(opt_ml, contract.Training.RESOURCE_CONFIG, "algo-1", ["algo-1"])
    metrics = MetricCollector(algorithm.get("MetricDefinitions") or [])
    environment = container_environment(
        request.get("Environment") or {}, ctx.job_environment(request), opt_ml
    )
    log.line(f"$ {' '.join(ALGORITHM_COMMAND)}  (job {job_name})")
    runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    process = ContainerProcess(job_name, ALGORITHM_COMMAND, environment, opt_ml)
    (outcome,) = run_processes([process], log, metrics.observe, runtime)
    if outcome.returncode != 0:
        raise failure_of(outcome, opt_ml)
    model_uri = _upload_model(s3, opt_ml, request, job_name)
    return {
        **request,
        "TrainingJobName": job_name,
        "TrainingJobArn": job_arn(ctx.settings, "training-job", job_name),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "HyperParameters": hyperparameters,
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
        "FinalMetricDataList": metrics.final_metric_data(),
    }


def check_xgboost_image(ctx: StepContext, image: Any) -> None:
    """Only the built-in XGBoost algorithm can be emulated; warn when its version differs."""
    repository, _, version = str(image or "").rpartition(":")
    if repository.rsplit("/", 1)[-1] != XGBOOST_REPOSITORY:
        raise StepError(
            f"AlgorithmSpecification.TrainingImage {image!r}: only the built-in XGBoost image "
            f"({XGBOOST_REPOSITORY}) can be emulated locally"
        )
    expected = ctx.settings.training.xgboost_version
    if version != expected:
        ctx.warn(
            f"XGBoost image version {version} differs from settings ({expected}); the definition is stale"
        )


def _stage_channels(s3: Any, channels: list[dict[str, Any]], opt_ml: Path) -> dict[str, Any]:
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
            s3_objects.download(s3, uri, objects, destination)
        except StepError:
            raise
        except Exception as err:
            raise aws_failure(f"channel {name}: reading {uri}", err) from err
        config[name] = {
            "ContentType": channel.get("ContentType", "text/csv"),
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
    return config


def _upload_model(s3: Any, opt_ml: Path, request: dict[str, Any], job_name: str) -> str:
    model_dir = host_path(opt_ml, contract.Training.MODEL, "model directory")
    if not (model_dir / contract.Training.MODEL_FILE).is_file():
        raise StepError(f"AlgorithmError: the job wrote no {contract.Training.MODEL_FILE}")
    archive = opt_ml / contract.Training.MODEL_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    output_path = str(required(request, "OutputDataConfig", "S3OutputPath"))
    uri = s3_uri.join(output_path, job_name, "output", contract.Training.MODEL_ARCHIVE)
    bucket, key = s3_uri.split(uri, key_required=True)
    try:
        s3.upload_file(str(archive), bucket, key)
    except Exception as err:
        raise aws_failure(f"writing {uri}", err) from err
    return uri
