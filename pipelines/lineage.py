"""Where a model came from: package -> execution, steps, jobs -> data -> code -> baselines -> approval
-> where it is deployed, and what triggered the run. What ``pipelines lineage`` prints and the demo saves.

Everything is read from what AWS keeps anyway: the model package (its CustomerMetadataProperties are
written by the Register step: :data:`METADATA_KEYS`), the pipeline execution and its steps
(ListPipelineExecutionSteps, Describe*Job), Preprocess's data-version manifests in S3, the endpoints,
and SageMaker's own lineage entities (QueryLineage) where the account has them. What an endpoint
does not offer (moto has no ListPipelineExecutionSteps and no QueryLineage) becomes one line in
``notes``, and a local run's record (``runs_dir``) stands in for the execution's steps.

The JSON form (:meth:`Lineage.to_json`) is a stable schema, ``SCHEMA`` names its version; fields are
only ever added. Clients are passed in (from the one factory); nothing here creates one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines import parameters as p
from pipelines.settings import UNKNOWN_COMMIT, Settings
from processing_scripts import contract, data_version, s3_uri

SCHEMA = "mlops-lineage/1"

# Model package CustomerMetadataProperties the Register step writes (besides the parameters).
DATA_MANIFEST_URI = "DataManifestUri"  # where Preprocess's data-version-<host>.json files are
PROCESSING_IMAGE_TAG = "ProcessingImageTag"
PIPELINE_EXECUTION_ARN = "PipelineExecutionArn"
DIRTY_SUFFIX = "-dirty"  # what pipelines.settings.with_checkout_commit appends for uncommitted changes
_MANIFEST_PREFIX, _, _MANIFEST_SUFFIX = contract.Preprocess.DATA_VERSION_FILE.partition("{host}")


class LineageError(Exception):
    """The model cannot be found; ``hint`` says how to name it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Step:
    name: str
    type: str
    status: str
    job_arn: str | None = None
    image: str | None = None
    inputs: list[str] = field(default_factory=list)
    cache_hit_from: str | None = None  # the earlier execution whose results the step reused


@dataclass
class Lineage:
    model: dict[str, Any]
    approval: dict[str, Any]
    trigger: dict[str, Any]
    execution: dict[str, Any] | None
    steps: list[Step]
    data: dict[str, Any]
    code: dict[str, Any]
    baselines: dict[str, Any]
    deployments: list[dict[str, str]]
    lineage_entities: list[dict[str, str]] | None
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Lineage:
        if document.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema {document.get('schema')!r})")
        fields = {k: v for k, v in document.items() if k != "schema"}
        fields["steps"] = [Step(**step) for step in fields["steps"]]
        return cls(**fields)


def find_package(sagemaker: Any, settings: Settings, target: str) -> dict[str, Any]:
    """DescribeModelPackage of a version number (in the settings' group), a package ARN, or the
    package an endpoint serves."""
    if target.startswith("arn:") and ":model-package/" in target:
        return sagemaker.describe_model_package(ModelPackageName=target)
    group = settings.model_package_group
    if target.isdigit():
        for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
            for summary in page.get("ModelPackageSummaryList", []):
                if str(summary.get("ModelPackageVersion")) == target:
                    return sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        raise LineageError(
            f"{group} has no version {target}", "`pipelines lineage` takes a version that exists"
        )
    served = _served_packages(sagemaker, target)
    if served is None:
        raise LineageError(
            f"{target!r} is neither a version number, a model package ARN nor an endpoint",
            f"e.g. `pipelines lineage 2`, or the endpoint `{settings.endpoint_name}`",
        )
    if not served:
        raise LineageError(f"endpoint {target} serves no model package", "name a model version instead")
    return sagemaker.describe_model_package(ModelPackageName=served[0][1])


def trace(
    sagemaker: Any,
    s3: Any,
    settings: Settings,
    target: str,
    *,
    runs_dir: Path | None = None,
    query_entities: bool = True,
) -> Lineage:
    """The lineage of the model ``target`` names (see :func:`find_package`).

    ``query_entities=False`` skips QueryLineage where it is known to be missing (the local cloud:
    moto's server would log a traceback for the call).
    """
    notes: list[str] = []
    package = find_package(sagemaker, settings, target)
    metadata = package.get("CustomerMetadataProperties") or {}
    arn = package["ModelPackageArn"]
    execution_arn = metadata.get(PIPELINE_EXECUTION_ARN)
    execution, steps = _execution(sagemaker, execution_arn, runs_dir, notes)
    commit = metadata.get(p.GIT_COMMIT, UNKNOWN_COMMIT)
    if commit == UNKNOWN_COMMIT:
        notes.append(
            "GitCommit is unknown: the pipeline was deployed without a commit (upsert it, or set "
            "MLOPS_GIT_COMMIT for cdk deploy)"
        )
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    quality = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    by = package.get("LastModifiedBy") or {}
    return Lineage(
        model={
            "package_arn": arn,
            "group": package.get("ModelPackageGroupName"),
            "version": package.get("ModelPackageVersion"),
            "created": _text(package.get("CreationTime")),
            "model_data_url": containers[0].get("ModelDataUrl"),
            "serving_image": containers[0].get("Image"),
            "metrics": ((package.get("ModelMetrics") or {}).get("ModelQuality") or {})
            .get("Statistics", {})
            .get("S3Uri"),
        },
        approval={
            "status": package.get("ModelApprovalStatus"),
            "note": package.get("ApprovalDescription"),
            "by": by.get("UserProfileName") or (by.get("IamIdentity") or {}).get("Arn"),
            "at": _text(package.get("LastModifiedTime")),
        },
        trigger={
            "triggered_by": metadata.get(p.TRIGGERED_BY),
            "detail": (execution or {}).get("description"),
        },
        execution=execution,
        steps=steps,
        data=_data(s3, metadata, notes),
        code={
            "git_commit": commit,
            "dirty": commit.endswith(DIRTY_SUFFIX),
            "processing_image_tag": metadata.get(PROCESSING_IMAGE_TAG),
            "images": sorted({step.image for step in steps if step.image}),
        },
        baselines={
            "statistics": (quality.get("Statistics") or {}).get("S3Uri"),
            "constraints": (quality.get("Constraints") or {}).get("S3Uri"),
        },
        deployments=_deployments(sagemaker, settings, arn, notes),
        lineage_entities=_lineage_entities(sagemaker, arn, notes) if query_entities else None,
        notes=notes,
    )


# -- the execution ---------------------------------------------------------------------------------
def _execution(
    sagemaker: Any, arn: str | None, runs_dir: Path | None, notes: list[str]
) -> tuple[dict[str, Any] | None, list[Step]]:
    if not arn:
        notes.append(
            f"the package records no {PIPELINE_EXECUTION_ARN}: it was not registered by the pipeline"
        )
        return None, []
    record = _local_record(runs_dir, arn) if runs_dir else None
    execution: dict[str, Any] = {"arn": arn, "pipeline": arn.split(":pipeline/")[-1].split("/")[0]}
    described = _optional(lambda: sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn))
    if described is not None:
        execution |= {
            "status": described.get("PipelineExecutionStatus"),
            "started": _text(described.get("CreationTime")),
            "description": described.get("PipelineExecutionDescription"),
        }
    elif record is not None:
        execution |= {"status": record["status"], "started": record["started_at"], "description": None}
    else:
        notes.append(f"execution {arn} is not found here (its pipeline may have been deleted)")
    if record is not None:  # a local run's own record: what ran, without asking an emulator
        return execution, [_record_step(step) for step in record["steps"]]
    listed = _optional(lambda: _list_steps(sagemaker, arn))
    if listed is not None:
        return execution, [_api_step(sagemaker, step, notes) for step in listed]
    notes.append(
        "steps: this endpoint has no ListPipelineExecutionSteps (moto); pass --runs-dir with the local "
        "runs to read them from the run records"
    )
    return execution, []


def _list_steps(sagemaker: Any, arn: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for page in sagemaker.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=arn):
        steps += page.get("PipelineExecutionSteps", [])
    return list(reversed(steps))  # SageMaker lists the newest first


def _api_step(sagemaker: Any, step: dict[str, Any], notes: list[str]) -> Step:
    metadata = step.get("Metadata") or {}
    kind = next(iter(metadata), "")
    job_arn = (metadata.get(kind) or {}).get("Arn")
    described: dict[str, Any] | None = None
    if job_arn and kind in _DESCRIBE:
        action, argument = _DESCRIBE[kind]
        described = _optional(lambda: getattr(sagemaker, action)(**{argument: job_arn.rsplit("/", 1)[-1]}))
        if described is None:
            notes.append(f"{step['StepName']}: {action} is not available here")
    cached = (step.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn")
    return Step(
        step["StepName"],
        kind,
        step.get("StepStatus", "?"),
        job_arn,
        *_job_image_and_inputs(described),
        cached,
    )


# Metadata key of a job step -> the call that describes its job and the argument naming the job.
_DESCRIBE = {
    "ProcessingJob": ("describe_processing_job", "ProcessingJobName"),
    "TrainingJob": ("describe_training_job", "TrainingJobName"),
    "TuningJob": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
    "TransformJob": ("describe_transform_job", "TransformJobName"),
}


def _local_record(runs_dir: Path, arn: str) -> dict[str, Any] | None:
    for path in runs_dir.glob("*/record.json"):
        record = json.loads(path.read_text())
        if record.get("execution_arn") == arn:
            return record
    return None


def _record_step(step: dict[str, Any]) -> Step:
    properties = step.get("properties") or {}
    job_arn = next(
        (
            properties[k]
            for k in ("ProcessingJobArn", "TrainingJobArn", "HyperParameterTuningJobArn")
            if k in properties
        ),
        None,
    )
    cached = (step.get("cache_hit") or {}).get("source_execution_arn")
    return Step(
        step["name"], step["type"], step["status"], job_arn, *_job_image_and_inputs(properties), cached
    )


def _job_image_and_inputs(job: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    """The image and S3 inputs of a Describe*Job answer (a local record's properties have its shape)."""
    if not job:
        return None, []
    definition = job.get("TrainingJobDefinition") or job  # a tuning job describes its training jobs
    image = (job.get("AppSpecification") or {}).get("ImageUri") or (
        definition.get("AlgorithmSpecification") or {}
    ).get("TrainingImage")
    inputs = [
        uri for item in job.get("ProcessingInputs") or [] if (uri := (item.get("S3Input") or {}).get("S3Uri"))
    ] + [
        uri
        for item in definition.get("InputDataConfig") or []
        if (uri := ((item.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
    ]
    return image, inputs


# -- data, deployments, lineage entities ----------------------------------------------------------
def _data(s3: Any, metadata: dict[str, str], notes: list[str]) -> dict[str, Any]:
    manifest_uri = metadata.get(DATA_MANIFEST_URI)
    data: dict[str, Any] = {
        "input_url": metadata.get(p.INPUT_DATA_URL),
        "snapshot": metadata.get(p.DATA_SNAPSHOT),
        "manifest_uri": manifest_uri,
        "sha256": None,
        "objects": [],
    }
    if not manifest_uri:
        notes.append(
            "data: the package records no DataManifestUri (registered before data versions were recorded)"
        )
        return data
    try:
        objects = _manifest_objects(s3, manifest_uri)
    except Exception as err:  # (any failure to read is one line, not a lost lineage)
        notes.append(f"data: cannot read the manifests under {manifest_uri} ({_first_line(err)})")
        return data
    if not objects:
        notes.append(f"data: no {contract.Preprocess.DATA_VERSION_FILE} under {manifest_uri}")
    data["objects"] = [asdict(o) for o in sorted(objects, key=lambda o: o.uri)]
    data["sha256"] = data_version.combined_sha256(objects) if objects else None
    return data


def _manifest_objects(s3: Any, manifest_uri: str) -> list[data_version.InputObject]:
    bucket, prefix = s3_uri.split(manifest_uri)
    prefix = prefix.rstrip("/") + "/"
    objects: list[data_version.InputObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) :]
            if name.startswith(_MANIFEST_PREFIX) and name.endswith(_MANIFEST_SUFFIX) and "/" not in name:
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                objects += data_version.parse_manifest(body, s3_uri.build(bucket, item["Key"]))
    return objects


def _served_packages(sagemaker: Any, endpoint: str) -> list[tuple[str, str]] | None:
    """(variant, package ARN) for each variant of ``endpoint`` built from a model package; None when
    there is no such endpoint."""
    try:
        config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except Exception as err:  # (SageMaker: ValidationException "Could not find endpoint")
        if "could not find" in str(err).lower() or _code(err) in ("ValidationException", "ResourceNotFound"):
            return None
        raise
    described = sagemaker.describe_endpoint_config(EndpointConfigName=config)
    served = []
    for variant in [*described.get("ProductionVariants", []), *described.get("ShadowProductionVariants", [])]:
        model = sagemaker.describe_model(ModelName=variant["ModelName"])
        for container in model.get("Containers") or [model.get("PrimaryContainer") or {}]:
            if container.get("ModelPackageName"):
                served.append((variant["VariantName"], container["ModelPackageName"]))
    return served


def _deployments(
    sagemaker: Any, settings: Settings, package_arn: str, notes: list[str]
) -> list[dict[str, str]]:
    """The project's endpoint variants serving this package (a version's ARN, or the versionless
    group ARN a deploy may name)."""
    try:
        served = _served_packages(sagemaker, settings.endpoint_name) or []
    except Exception as err:
        notes.append(f"deployments: cannot read endpoint {settings.endpoint_name} ({_first_line(err)})")
        return []
    return [
        {"endpoint": settings.endpoint_name, "variant": variant}
        for variant, served_arn in served
        if served_arn == package_arn
    ]


def _lineage_entities(sagemaker: Any, package_arn: str, notes: list[str]) -> list[dict[str, str]] | None:
    """SageMaker's lineage graph upstream of the package (QueryLineage), where the service keeps one."""
    try:
        answer = sagemaker.query_lineage(
            StartArns=[package_arn], Direction="Ascendants", IncludeEdges=False, MaxDepth=10
        )
    except Exception as err:  # (moto: not implemented; an account without lineage: an error)
        reason = "not implemented by this endpoint" if _unimplemented(err) else _first_line(err)
        notes.append(f"SageMaker lineage entities: not available here ({reason})")
        return None
    return [
        {"arn": v.get("Arn", ""), "type": v.get("Type", ""), "lineage_type": v.get("LineageType", "")}
        for v in answer.get("Vertices", [])
    ]


def _optional(call: Callable[[], Any]) -> Any:
    """The call's answer, or None when the endpoint does not implement it (moto: HTTP 500/501) or the
    resource is gone."""
    try:
        return call()
    except Exception as err:
        if _unimplemented(err) or _code(err) in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def _unimplemented(err: Exception) -> bool:
    """moto answers an action it lacks with HTTP 500 (server) or NotImplementedError (in-process)."""
    status = getattr(err, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return isinstance(err, NotImplementedError) or status in (500, 501)


def _code(err: Exception) -> str | None:
    return getattr(err, "response", {}).get("Error", {}).get("Code")


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def saved_file(out_dir: Path, version: object) -> Path:
    """Where the demo saves a model version's lineage: its emulator is gone once it ends, and
    ``pipelines lineage <version> --demo-out <out>`` reads it from here."""
    return out_dir / "lineage" / f"v{version}.json"


def save(lineage: Lineage, out_dir: Path) -> Path:
    path = saved_file(out_dir, lineage.model["version"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lineage.to_json(), indent=2, sort_keys=True) + "\n")
    return path
