"""The baseline lifecycle QualityCheck and ClarifyCheck steps share, as SageMaker documents it.

From "Baseline calculation, drift detection and lifecycle with ClarifyCheck and QualityCheck steps"
(https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-quality-clarify-baseline-lifecycle.html):

- Both steps always calculate a new baseline from their inputs: ``CalculatedBaseline*``.
- ``SkipCheck`` false: the new data is checked against the *previous* baseline, which is the
  ``SuppliedBaseline*`` files when given, else the ``DriftCheckBaselines`` of the latest approved
  model package in ``ModelPackageGroupName``. The SDK: "If set to False, the previous baseline of
  the configured check type must be available" (same for ``RegisterNewBaseline`` false).
- ``RegisterNewBaseline`` true: ``BaselineUsedForDriftCheck*`` is the new baseline; false: the
  previous one.
- ``FailOnViolation`` true and violations found: the step fails.

The check-specific work (profiling data, bias metrics) lives in :mod:`quality_check` and
:mod:`clarify_check`; this module decides what to compare against and which files the properties
name, and moves the processing job's inputs and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.iam import SAGEMAKER_SESSION
from localcloud.sagemaker.executor.steps.base import StepContext, StepError, aws_failure, required
from localcloud.sagemaker.executor.steps.container import host_path
from processing_scripts import s3_uri

# Where each check type's baseline sits in a model package's DriftCheckBaselines
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DriftCheckBaselines.html).
DRIFT_CHECK_FIELDS: dict[str, tuple[str, str | None, str]] = {
    # check type: (section, statistics field or None, constraints field)
    "DATA_QUALITY": ("ModelDataQuality", "Statistics", "Constraints"),
    "MODEL_QUALITY": ("ModelQuality", "Statistics", "Constraints"),
    "DATA_BIAS": ("Bias", None, "PreTrainingConstraints"),
    "MODEL_BIAS": ("Bias", None, "PostTrainingConstraints"),
    "MODEL_EXPLAINABILITY": ("Explainability", None, "Constraints"),
}


@dataclass(frozen=True)
class BaselineFiles:
    constraints: str
    statistics: str | None = None  # QualityCheck baselines have both files, ClarifyCheck one


@dataclass(frozen=True)
class CheckSettings:
    """The step's own fields (outside Arguments), resolved."""

    check_type: str
    skip_check: bool
    register_new_baseline: bool
    fail_on_violation: bool
    supplied: BaselineFiles | None
    model_package_group: str | None

    @classmethod
    def of(cls, ctx: StepContext) -> CheckSettings:
        body = ctx.spec.body
        check_type = str(body.get("CheckType", ""))
        if check_type not in DRIFT_CHECK_FIELDS:
            raise StepError(f"CheckType {check_type!r} is not one of {', '.join(DRIFT_CHECK_FIELDS)}")
        constraints = _text(ctx.resolve(body.get("SuppliedBaselineConstraints")))
        statistics = _text(ctx.resolve(body.get("SuppliedBaselineStatistics")))
        if statistics and not constraints:
            raise StepError("SuppliedBaselineStatistics is set without SuppliedBaselineConstraints")
        return cls(
            check_type=check_type,
            skip_check=bool(ctx.resolve(body.get("SkipCheck", False))),
            register_new_baseline=bool(ctx.resolve(body.get("RegisterNewBaseline", False))),
            fail_on_violation=bool(ctx.resolve(body.get("FailOnViolation", True))),
            supplied=BaselineFiles(constraints, statistics or None) if constraints else None,
            model_package_group=_text(ctx.resolve(body.get("ModelPackageGroupName"))) or None,
        )

    @property
    def needs_previous(self) -> bool:
        return not self.skip_check or not self.register_new_baseline


def job_s3(ctx: StepContext) -> Any:
    """The S3 client of the check's processing job: its RoleArn's, as SageMaker moves its data."""
    return ctx.access.clients_for(ctx.arguments.get("RoleArn"), SAGEMAKER_SESSION).s3


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def previous_baseline(ctx: StepContext, settings: CheckSettings) -> BaselineFiles | None:
    """The supplied baseline, else the latest approved package's; None when neither exists."""
    if settings.supplied is not None:
        ctx.log.line(f"previous baseline: supplied ({settings.supplied.constraints})")
        return settings.supplied
    if settings.model_package_group is None:
        return None
    sagemaker = ctx.pipeline_clients.sagemaker  # SageMaker looks the baseline up as the pipeline
    try:
        listed = sagemaker.list_model_packages(
            ModelPackageGroupName=settings.model_package_group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        ).get("ModelPackageSummaryList", [])
        if not listed:
            return None
        arn = listed[0]["ModelPackageArn"]
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    except Exception as err:
        if "does not exist" in str(err) or "ResourceNotFound" in str(err):
            return None
        raise aws_failure(f"reading model package group {settings.model_package_group}", err) from err
    section, statistics_field, constraints_field = DRIFT_CHECK_FIELDS[settings.check_type]
    baselines = (package.get("DriftCheckBaselines") or {}).get(section) or {}
    constraints = (baselines.get(constraints_field) or {}).get("S3Uri")
    if not constraints:
        return None
    statistics = (baselines.get(statistics_field) or {}).get("S3Uri") if statistics_field else None
    ctx.log.line(f"previous baseline: DriftCheckBaselines.{section} of {arn}")
    return BaselineFiles(constraints, statistics)


def require_previous(ctx: StepContext, settings: CheckSettings) -> BaselineFiles | None:
    """The previous baseline when the settings need one; a clear failure when there is none."""
    if not settings.needs_previous:
        return None
    found = previous_baseline(ctx, settings)
    if found is None:
        group = settings.model_package_group or "(no ModelPackageGroupName)"
        raise StepError(
            f"{settings.check_type}: SkipCheck={settings.skip_check} and "
            f"RegisterNewBaseline={settings.register_new_baseline} need a previous baseline, and there is "
            f"none: set SuppliedBaselineConstraints, approve a model package with DriftCheckBaselines in "
            f"{group}, or set SkipCheck and RegisterNewBaseline to true for a first baseline"
        )
    return found


def check_properties(
    settings: CheckSettings, calculated: BaselineFiles, previous: BaselineFiles | None
) -> dict[str, Any]:
    """The step properties the SDK reads (``CalculatedBaseline*``, ``BaselineUsedForDriftCheck*``)."""
    used = calculated if settings.register_new_baseline else previous
    properties: dict[str, Any] = {"CalculatedBaselineConstraints": calculated.constraints}
    if used is not None:
        properties["BaselineUsedForDriftCheckConstraints"] = used.constraints
    if calculated.statistics is not None:
        properties["CalculatedBaselineStatistics"] = calculated.statistics
        if used is not None and used.statistics is not None:
            properties["BaselineUsedForDriftCheckStatistics"] = used.statistics
    return properties


# -- the processing job's inputs and outputs --------------------------------------------------------
def stage_inputs(ctx: StepContext) -> dict[str, Path]:
    """Download every ProcessingInput into the work directory; input name -> local directory."""
    staged: dict[str, Path] = {}
    for index, item in enumerate(ctx.arguments.get("ProcessingInputs") or []):
        field = f"ProcessingInputs[{index}]"
        source = required(item, "S3Input")
        uri = str(required(source, "S3Uri"))
        destination = host_path(ctx.work_dir, required(source, "LocalPath"), f"{field}.S3Input.LocalPath")
        destination.mkdir(parents=True, exist_ok=True)
        try:
            objects = s3_objects.list_objects(job_s3(ctx), uri)
            if not objects:
                raise StepError(f"{field} ({item.get('InputName', '?')}): no object at {uri}")
            s3_objects.download(job_s3(ctx), uri, objects, destination)
        except StepError:
            raise
        except Exception as err:
            raise aws_failure(f"{field}: reading {uri}", err) from err
        staged[str(item.get("InputName", index))] = destination
    return staged


def output_uri(ctx: StepContext) -> str:
    """Where the job's one output goes (the SDK gives check steps exactly one)."""
    outputs = (ctx.arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    if len(outputs) != 1:
        raise StepError(f"ProcessingOutputConfig.Outputs: expected one output, got {len(outputs)}")
    return str(required(outputs[0], "S3Output", "S3Uri")).rstrip("/")


def upload_outputs(ctx: StepContext, files: dict[str, str], uri: str) -> dict[str, str]:
    """Write ``files`` (name -> text) under ``uri``; name -> S3 URI."""
    written: dict[str, str] = {}
    bucket, prefix = s3_uri.split(uri)
    for name, text in files.items():
        key = f"{prefix}/{name}" if prefix else name
        try:
            job_s3(ctx).put_object(Bucket=bucket, Key=key, Body=text.encode())
        except Exception as err:
            raise aws_failure(f"writing {uri}/{name}", err) from err
        written[name] = s3_uri.build(bucket, key)
    ctx.log.line(f"wrote {', '.join(files)} to {uri}")
    return written
