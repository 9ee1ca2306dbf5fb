"""ClarifyCheck steps: DATA_BIAS runs locally; MODEL_BIAS and MODEL_EXPLAINABILITY are refused.

The SDK uploads Clarify's analysis configuration (``analysis_config.json``: ``dataset_type``,
``headers``, ``label``, ``label_values_or_threshold``, ``facet``, ``group_variable``,
``methods.pre_training_bias.methods``) and hands the processing job two inputs, the config and the
dataset. For DATA_BIAS that is all the pre-training metrics need (:mod:`bias_metrics`), so the step
writes Clarify's ``analysis.json`` and, when it checks, ``constraint_violations.json`` with AWS's
bias-drift rule: a metric farther from 0 than the baseline's value is a violation
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift-violations.html).

MODEL_BIAS and MODEL_EXPLAINABILITY need the model's predictions and SHAP values from a shadow
endpoint, which the local executor does not run; :func:`preflight_problems` refuses them before
anything starts, pointing at ``--stub``.

How a column is read follows smclarify: a facet or label given several values is categorical; a
float column, or an integer column with at least 5% distinct values, is continuous and its single
value is a threshold (positive above it, up to the column's maximum); a categorical facet without
values is reported one value against the rest, for each value.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from localcloud.sagemaker.executor.steps import bias_metrics
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
from processing_scripts import contract

ANALYSIS_FILE = "analysis.json"
CONFIG_FILE = "analysis_config.json"
LOCAL_CHECK_TYPES = ("DATA_BIAS",)
UNIQUENESS_THRESHOLD = 0.05  # smclarify: an integer column this distinct is continuous
VERSION = "1.0"


def preflight_problems(step: Mapping[str, Any]) -> list[str]:
    """What in a ClarifyCheck step (its JSON object) the local executor cannot run; the pre-flight
    prefixes the step's name and adds the ``--stub`` option."""
    check_type = step.get("CheckType")
    if check_type in LOCAL_CHECK_TYPES:
        return []
    return [
        f"a {check_type} ClarifyCheck needs the model's predictions and SHAP values from a shadow "
        f"endpoint, which the local executor does not run (it runs {', '.join(LOCAL_CHECK_TYPES)})"
    ]


@declares_blockers(from_step_problems(preflight_problems))
def run_clarify_check(ctx: StepContext) -> StepResult:
    ctx.start_job("sagemaker:CreateProcessingJob", {"ProcessingJobName": ctx.job_name, **ctx.arguments})
    problems = preflight_problems({**ctx.spec.body, "Arguments": ctx.arguments})
    if problems:
        raise StepError("; ".join(problems))
    settings = CheckSettings.of(ctx)
    previous = require_previous(ctx, settings)
    staged = stage_inputs(ctx)
    config = _config(staged)
    dataset = staged.get("dataset")
    if dataset is None:
        raise StepError("ProcessingInputs: no input named 'dataset'")
    analysis = pre_training_analysis(config, *_read_csv(dataset, config))
    files = {ANALYSIS_FILE: json.dumps(analysis, indent=2)}
    violations: list[dict[str, Any]] = []
    if not settings.skip_check and previous is not None:
        violations = bias_violations(ctx, previous.constraints, analysis)
        files[contract.VIOLATIONS_FILE] = json.dumps({"version": VERSION, "violations": violations}, indent=2)
        ctx.log.line(f"{len(violations)} violation(s) against the previous baseline")
    uri = output_uri(ctx)
    written = upload_outputs(ctx, files, uri)
    if violations and settings.fail_on_violation:
        first = violations[0]
        raise StepError(
            f"ClientError: DATA_BIAS check found {len(violations)} violation(s) ({first['metric_name']} of "
            f"{first['facet']}={first['facet_value']}: {first['description']}); see {uri}/{contract.VIOLATIONS_FILE}"
        )
    return StepResult(
        properties=check_properties(settings, BaselineFiles(written[ANALYSIS_FILE]), previous),
        written_uris=[uri + "/"],
    )


def _config(staged: dict[str, Path]) -> dict[str, Any]:
    folder = staged.get("analysis_config")
    found = sorted(folder.rglob(CONFIG_FILE)) if folder else []
    if not found:
        raise StepError(f"ProcessingInputs: no {CONFIG_FILE} in the 'analysis_config' input")
    try:
        config: dict[str, Any] = json.loads(found[0].read_text())
    except json.JSONDecodeError as err:
        raise StepError(f"ClientError: {CONFIG_FILE} is not JSON ({err})") from err
    if config.get("dataset_type", "text/csv") != "text/csv":
        raise StepError(f"ClientError: dataset_type {config['dataset_type']!r}: only text/csv runs locally")
    return config


def _read_csv(dataset: Path, config: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(column names, rows) of every CSV under ``dataset``; a header row equal to the configured
    headers is skipped, and without configured headers a named label means the files have one."""
    headers = [str(h) for h in config.get("headers") or []]
    named = isinstance(config.get("label"), str) and not headers
    rows: list[list[str]] = []
    for path in sorted(p for p in dataset.rglob("*") if p.is_file()):
        with path.open(newline="") as handle:
            file_rows = [row for row in csv.reader(handle) if row]
        if file_rows and (named or file_rows[0] == headers):
            headers = headers or file_rows[0]
            file_rows = file_rows[1:]
        rows += file_rows
    if not rows:
        raise StepError(f"ClientError: no data rows in {dataset}")
    width = len(rows[0])
    ragged = sum(1 for row in rows if len(row) != width)
    if ragged:
        raise StepError(f"ClientError: {ragged} row(s) of {dataset} do not have {width} columns")
    return headers or [str(i) for i in range(width)], rows


def _column(
    names: list[str], rows: list[list[str]], name_or_index: Any, field: str
) -> tuple[str, np.ndarray]:
    if isinstance(name_or_index, int):
        index = name_or_index
    elif str(name_or_index) in names:
        index = names.index(str(name_or_index))
    else:
        raise StepError(f"ClientError: {field} {name_or_index!r} is not a column ({', '.join(names)})")
    if not 0 <= index < len(rows[0]):
        raise StepError(f"ClientError: {field} index {index} is out of range ({len(rows[0])} columns)")
    return names[index], np.array([row[index] for row in rows], dtype=object)


def _numeric(values: np.ndarray) -> np.ndarray | None:
    try:
        return values.astype(float)
    except ValueError:
        return None


def _continuous(values: np.ndarray, given: list[Any] | None) -> bool:
    """smclarify's ``series_datatype`` rule for a column read from CSV."""
    if given is not None and len(given) > 1:
        return False
    numbers = _numeric(values)
    if numbers is None:
        return False
    if not np.all(numbers == np.round(numbers)):
        return True  # pandas reads it as float
    return len(np.unique(numbers)) / len(numbers) >= UNIQUENESS_THRESHOLD


def _interval(threshold: Any, numbers: np.ndarray) -> str:
    """How pandas prints the interval (threshold, column max] that Clarify calls positive: float
    when the threshold or the column is."""
    top = numbers.max()
    if isinstance(threshold, float) or not np.all(numbers == np.round(numbers)):
        return f"({float(threshold)}, {float(top)}]"
    return f"({int(threshold)}, {int(top)}]"


def _selection(values: np.ndarray, given: list[Any] | None, field: str) -> list[tuple[str, np.ndarray]]:
    """(value_or_threshold text, membership) for each group the facet or label defines."""
    if _continuous(values, given):
        numbers = _numeric(values)
        assert numbers is not None
        if not given:
            raise StepError(f"ClientError: {field}: threshold values must be provided for continuous data")
        return [(_interval(given[0], numbers), numbers > float(given[0]))]
    text = values.astype(str)
    if given:
        wanted = {str(v) for v in given}
        numbers = _numeric(values)
        member = np.isin(text, list(wanted))
        if not member.any() and numbers is not None:  # [1] against "1.0": compare as numbers
            member = np.isin(numbers, [float(v) for v in given])
        return [(",".join(str(v) for v in given), member)]
    return [(value, text == value) for value in dict.fromkeys(text.tolist())]


def pre_training_analysis(config: dict[str, Any], names: list[str], rows: list[list[str]]) -> dict[str, Any]:
    """Clarify's analysis.json for the configured pre-training bias metrics."""
    label_name, label_values = _column(names, rows, config.get("label"), "label")
    given_labels = config.get("label_values_or_threshold")
    if not given_labels:
        raise StepError("ClientError: label_values_or_threshold is required for bias metrics")
    [(label_text, positive)] = _selection(label_values, list(given_labels), "label_values_or_threshold")
    group = None
    if config.get("group_variable") is not None:
        group = _column(names, rows, config["group_variable"], "group_variable")[1].astype(str)
    methods = ((config.get("methods") or {}).get("pre_training_bias") or {}).get("methods", "all")
    chosen = list(bias_metrics.PRE_TRAINING) if methods == "all" else [str(m) for m in methods]
    unknown = [m for m in chosen if m not in bias_metrics.PRE_TRAINING]
    if unknown:
        raise StepError(f"ClientError: unknown pre-training bias metric(s) {', '.join(unknown)}")
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in config.get("facet") or []:
        facet_name, facet_values = _column(names, rows, facet.get("name_or_index"), "facet")
        given = facet.get("value_or_threshold")
        facets[facet_name] = [
            {
                "value_or_threshold": text,
                "metrics": bias_metrics.report(bias_metrics.Groups(member, positive, group), chosen),
            }
            for text, member in _selection(facet_values, given, f"facet {facet_name}")
        ]
    if not facets:
        raise StepError("ClientError: the analysis config names no facet")
    return {
        "version": VERSION,
        "pre_training_bias_metrics": {
            "label": label_name,
            "facets": facets,
            "label_value_or_threshold": label_text,
        },
    }


def bias_violations(ctx: StepContext, constraints_uri: str, analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """Metrics farther from 0 than the previous baseline's value for the same facet value."""
    from processing_scripts.drift.storage import Storage

    try:
        baseline = json.loads(Storage(lambda: job_s3(ctx)).read_bytes(constraints_uri))
    except Exception as err:
        raise StepError(f"ClientError: cannot read the previous baseline {constraints_uri} ({err})") from err
    limits = {
        (facet, entry["value_or_threshold"], metric["name"]): metric.get("value")
        for facet, entries in (baseline.get("pre_training_bias_metrics") or {}).get("facets", {}).items()
        for entry in entries
        for metric in entry.get("metrics", [])
    }
    violations = []
    for facet, entries in analysis["pre_training_bias_metrics"]["facets"].items():
        for entry in entries:
            for metric in entry["metrics"]:
                limit, value = (
                    limits.get((facet, entry["value_or_threshold"], metric["name"])),
                    metric["value"],
                )
                if (
                    isinstance(value, int | float)
                    and isinstance(limit, int | float)
                    and abs(value) > abs(limit)
                ):
                    violations.append(
                        {
                            "facet": facet,
                            "facet_value": entry["value_or_threshold"],
                            "metric_name": metric["name"],
                            "constraint_check_type": "bias_drift_check",
                            "description": f"Value {value} does not meet the constraint requirement",
                        }
                    )
    return violations
