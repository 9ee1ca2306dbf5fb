"""QualityCheck steps: the Model Monitor analyzer's job, done by the project's own engines.

The SDK writes a processing job for AWS's ``sagemaker-model-monitor-analyzer`` image whose
``Environment`` says what to do (``dataset_source``, ``dataset_format``, ``analysis_type``,
``problem_type``, ``inference_attribute``, ...). Locally:

- ``DATA_QUALITY``: :mod:`processing_scripts.drift` profiles the dataset into Model Monitor's
  statistics.json / constraints.json (the format notes are in docs/monitoring.md) and, unless
  ``SkipCheck``, checks it against the previous baseline into constraint_violations.json.
- ``MODEL_QUALITY``: :mod:`processing_scripts.quality_metrics` scores the inference column against
  the ground-truth column into Model Monitor's model-quality statistics.json
  (``{"regression_metrics": {...}}``) and constraints.json (each metric's baseline value as its
  threshold, with the comparison that means "worse"); a check compares the new metrics with the
  previous constraints.

The baseline lifecycle (which baseline, which properties, failing on violations) is
:mod:`check_baselines`. Headerless CSV columns are named ``_c0``, ``_c1``, ... as Spark (and so the
analyzer) names them, which is what ``inference_attribute: "_c0"`` refers to.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from localcloud.sagemaker.executor.steps.base import (
    StepContext,
    StepError,
    StepResult,
    declares_blockers,
    from_step_problems,
)
from localcloud.sagemaker.executor.steps.check_baselines import (
    BaselineFiles,
    CheckSettings,
    check_properties,
    job_s3,
    output_uri,
    require_previous,
    stage_inputs,
    upload_outputs,
)
from localcloud.sagemaker.executor.steps.container import host_path
from processing_scripts import contract, quality_metrics
from processing_scripts.split_schema import BINARY_CLASSIFICATION, REGRESSION

# The analyzer's problem_type values and the project's names for them.
PROBLEM_TYPES = {"Regression": REGRESSION, "BinaryClassification": BINARY_CLASSIFICATION}
DATASET_FORMATS = ("csv", "parquet")
UNSUPPORTED_ENVIRONMENT = ("record_preprocessor_script", "post_analytics_processor_script")
LESS = "LessThanThreshold"
GREATER = "GreaterThanThreshold"
# The comparison under which a metric is worse than its baseline (higher error, lower score).
WORSE_WHEN = {
    "mse": GREATER,
    "rmse": GREATER,
    "mae": GREATER,
    "r2": LESS,
    "accuracy": LESS,
    "precision": LESS,
    "recall": LESS,
    "f0_5": LESS,
    "f1": LESS,
    "f2": LESS,
    "auc": LESS,
    "true_positive_rate": LESS,
    "true_negative_rate": LESS,
    "false_positive_rate": GREATER,
    "false_negative_rate": GREATER,
}


def preflight_problems(step: Mapping[str, Any]) -> list[str]:
    """What in a QualityCheck step (its JSON object) the local executor cannot run (literal values
    only; ``problem_type`` is set only for MODEL_QUALITY)."""
    arguments = step.get("Arguments")
    environment = (arguments.get("Environment") if isinstance(arguments, dict) else None) or {}
    problems = [
        f"Arguments.Environment.{name}: custom analyzer scripts cannot run locally"
        for name in UNSUPPORTED_ENVIRONMENT
        if environment.get(name)
    ]
    dataset_format = environment.get("dataset_format")
    if isinstance(dataset_format, str):
        try:
            kinds = list(json.loads(dataset_format))
        except (json.JSONDecodeError, TypeError):
            kinds = [dataset_format]
        if not kinds or kinds[0] not in DATASET_FORMATS:
            problems.append(
                f"Arguments.Environment.dataset_format {dataset_format}: only {' and '.join(DATASET_FORMATS)} "
                "datasets can run locally"
            )
    problem_type = environment.get("problem_type")
    if isinstance(problem_type, str) and problem_type not in PROBLEM_TYPES:
        problems.append(
            f"Arguments.Environment.problem_type {problem_type!r}: only {', '.join(PROBLEM_TYPES)} "
            "can run locally"
        )
    return problems


@declares_blockers(from_step_problems(preflight_problems))
def run_quality_check(ctx: StepContext) -> StepResult:
    ctx.start_job("sagemaker:CreateProcessingJob", {"ProcessingJobName": ctx.job_name, **ctx.arguments})
    problems = preflight_problems({**ctx.spec.body, "Arguments": ctx.arguments})
    if problems:
        raise StepError("; ".join(problems))
    settings = CheckSettings.of(ctx)
    if settings.check_type not in ("DATA_QUALITY", "MODEL_QUALITY"):
        raise StepError(f"CheckType {settings.check_type} is a ClarifyCheck type, not a QualityCheck one")
    previous = require_previous(ctx, settings)
    if previous is not None and previous.statistics is None:
        raise StepError(f"{settings.check_type}: the previous baseline needs a statistics file too")
    environment = ctx.arguments.get("Environment") or {}
    stage_inputs(ctx)
    dataset = host_path(
        ctx.work_dir, str(environment.get("dataset_source", "")), "Environment.dataset_source"
    )
    header = _header(str(environment.get("dataset_format", "{}")))
    compare_to = None if settings.skip_check else previous
    if settings.check_type == "DATA_QUALITY":
        files, violations = _data_quality(ctx, dataset, header, compare_to)
    else:
        files, violations = _model_quality(ctx, environment, dataset, header, compare_to)
    uri = output_uri(ctx)
    written = upload_outputs(ctx, files, uri)
    calculated = BaselineFiles(written[contract.CONSTRAINTS_FILE], written[contract.STATISTICS_FILE])
    if compare_to is not None:
        ctx.log.line(f"{len(violations)} violation(s) against the previous baseline")
        if violations and settings.fail_on_violation:
            raise StepError(
                f"ClientError: {settings.check_type} check found {len(violations)} violation(s) "
                f"({violations[0]['description']}); see {uri}/{contract.VIOLATIONS_FILE}"
            )
    return StepResult(properties=check_properties(settings, calculated, previous), written_uris=[uri + "/"])


def _header(dataset_format: str) -> bool | None:
    try:
        document = json.loads(dataset_format)
    except json.JSONDecodeError:
        return None
    options = document.get("csv") if isinstance(document, dict) else None
    return bool(options.get("header", True)) if isinstance(options, dict) else None


def _data_quality(
    ctx: StepContext, dataset: Path, header: bool | None, previous: BaselineFiles | None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    from processing_scripts.drift import engine, sources
    from processing_scripts.drift.config import MonitoringConfig
    from processing_scripts.drift.errors import DriftInputError
    from processing_scripts.drift.formats import json_text, violations_to_json
    from processing_scripts.drift.storage import Storage

    storage = Storage(lambda: job_s3(ctx))
    try:
        baseline = engine.build_baseline(
            sources.open_source(storage, str(dataset), header=header), MonitoringConfig()
        )
        files = baseline.outputs()
        if previous is None or previous.statistics is None:
            return files, []
        prior = engine.load_baseline_files(storage, previous.statistics, previous.constraints)
        result = engine.run_check(prior, sources.open_source(storage, str(dataset), header=header))
    except DriftInputError as err:
        raise StepError(f"ClientError: {err}") from err
    document = violations_to_json(result.violations)
    files[contract.VIOLATIONS_FILE] = json_text(document)
    return files, list(document["violations"])


def _model_quality(
    ctx: StepContext,
    environment: dict[str, Any],
    dataset: Path,
    header: bool | None,
    previous: BaselineFiles | None,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    problem_type = PROBLEM_TYPES[str(environment.get("problem_type", "Regression"))]
    columns = _read_columns(dataset, header is not False)
    truth = _column(columns, environment, "ground_truth_attribute")
    if problem_type == BINARY_CLASSIFICATION and environment.get("probability_attribute"):
        predicted = _column(columns, environment, "probability_attribute")
    else:
        predicted = _column(columns, environment, "inference_attribute")
    threshold = float(
        environment.get("probability_threshold_attribute") or quality_metrics.DECISION_THRESHOLD
    )
    try:
        quality = quality_metrics.model_quality(
            problem_type, truth, predicted, threshold=threshold, source=str(dataset)
        )
    except quality_metrics.QualityInputError as err:
        raise StepError(f"ClientError: {err}") from err
    metrics = {k: v for k, v in quality.metrics.items() if isinstance(v, dict) and "value" in v}
    statistics = {"version": 0.0, "dataset": {"item_count": quality.rows}, **quality.to_json()}
    constraints = {
        "version": 0.0,
        f"{problem_type}_constraints": {
            name: {"threshold": entry["value"], "comparison_operator": WORSE_WHEN[name]}
            for name, entry in metrics.items()
            if name in WORSE_WHEN and entry["value"] is not None
        },
    }
    files = {
        contract.STATISTICS_FILE: json.dumps(statistics, indent=2),
        contract.CONSTRAINTS_FILE: json.dumps(constraints, indent=2),
    }
    if previous is None:
        return files, []
    violations = _metric_violations(ctx, previous.constraints, problem_type, metrics)
    files[contract.VIOLATIONS_FILE] = json.dumps({"violations": violations}, indent=2)
    return files, violations


def _read_columns(dataset: Path, header: bool) -> Any:
    """The CSV/Parquet files under ``dataset`` as one pyarrow table."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    tables = []
    try:
        for path in sorted(p for p in dataset.rglob("*") if p.is_file()):
            if path.suffix == ".parquet":
                tables.append(pq.read_table(path))
                continue
            table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(autogenerate_column_names=not header))
            if not header:  # pyarrow names them f0, f1, ...; Spark (the analyzer) _c0, _c1, ...
                table = table.rename_columns([f"_c{i}" for i in range(table.num_columns)])
            tables.append(table)
        if not tables:
            raise StepError(f"ClientError: no dataset files under {dataset}")
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as err:
        raise StepError(f"ClientError: cannot read the dataset under {dataset}: {err}") from err


def _column(table: Any, environment: dict[str, Any], attribute: str) -> np.ndarray:
    """The named column as floats (a missing value is NaN, left out and counted by the metrics)."""
    import pyarrow as pa

    name = environment.get(attribute)
    if not name:
        raise StepError(f"ClientError: Environment.{attribute} is required for MODEL_QUALITY")
    if name not in table.column_names:
        raise StepError(
            f"ClientError: {attribute} {name!r} is not a column (columns: {', '.join(table.column_names)})"
        )
    try:
        column = table[str(name)].cast(pa.float64())
    except pa.ArrowException as err:
        raise StepError(f"ClientError: {attribute} {name!r} is not numeric ({err})") from err
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def _metric_violations(
    ctx: StepContext, constraints_uri: str, problem_type: str, metrics: dict[str, Any]
) -> list[dict[str, Any]]:
    """Model Monitor's model-quality violations: a metric on the worse side of its threshold."""
    from processing_scripts.drift.storage import Storage

    raise_unread = f"ClientError: cannot read the previous constraints {constraints_uri}"
    try:
        document = json.loads(Storage(lambda: job_s3(ctx)).read_bytes(constraints_uri))
    except Exception as err:
        raise StepError(f"{raise_unread} ({err})") from err
    limits = document.get(f"{problem_type}_constraints") if isinstance(document, dict) else None
    if not isinstance(limits, dict):
        raise StepError(f"{raise_unread}: it has no {problem_type}_constraints")
    violations = []
    for name, limit in limits.items():
        value = (metrics.get(name) or {}).get("value")
        threshold, operator = limit.get("threshold"), limit.get("comparison_operator")
        if value is None or threshold is None or math.isnan(value):
            continue
        if (operator == GREATER and value > threshold) or (operator == LESS and value < threshold):
            violations.append(
                {
                    "constraint_check_type": operator,
                    "description": f"Metric {name} with {value:.6g} was {operator} '{threshold}'",
                    "metric_name": name,
                }
            )
    return violations
