"""Tuning steps: MaxNumberOfTrainingJobs local training jobs, best one by the objective metric.

Hyperparameters are drawn from the job's ranges with a random search seeded from the tuning
configuration itself (or its ``RandomSeed``), so the same definition proposes the same candidates
on every run and a cache key stays meaningful. SageMaker's Bayesian strategy is not reproduced:
for a handful of jobs random search is the honest local equivalent. The step's properties carry
``BestTrainingJob`` and ``TrainingJobSummaries`` (best first) so the SDK's
``get_top_model_s3_uri(top_k, bucket, prefix)`` expression resolves to
``s3://<bucket>/<prefix>/<TrainingJobSummaries[k].TrainingJobName>/output/model.tar.gz``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import secrets
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from localcloud.sagemaker.executor.steps.base import (
    LabelledLog,
    StepContext,
    StepError,
    StepResult,
    declares_blockers,
    from_problems,
    job_arn,
    required,
)
from localcloud.sagemaker.executor.steps.training import preflight_problems as training_problems
from localcloud.sagemaker.executor.steps.training import run_training_job
from pipelines.settings import Settings

TUNING_JOB_NAME_LENGTH = 32  # SageMaker's limit for HyperParameterTuningJobName
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"  # what SageMaker passes to each job


@dataclass(frozen=True)
class Trial:
    index: int
    job_name: str
    hyperparameters: dict[str, str]


def preflight_problems(arguments: Mapping[str, Any], settings: Settings) -> list[str]:
    """What stops this tuning job's training jobs from running locally, known before anything runs:
    its TrainingJobDefinition checked as a training job, each range standing at its first value."""
    definition = arguments.get("TrainingJobDefinition")
    if not isinstance(definition, Mapping):
        return ["Arguments.TrainingJobDefinition is missing"]
    config = arguments.get("HyperParameterTuningJobConfig") or {}
    ranges = config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}
    first = {
        str(item.get("Name")): item.get("MinValue", (item.get("Values") or [""])[0])
        for kind in ranges.values()
        for item in kind
    }
    static = definition.get("StaticHyperParameters") or {}
    return training_problems({**definition, "HyperParameters": {**static, **first}}, settings)


@declares_blockers(from_problems(preflight_problems))
def run_tuning(ctx: StepContext) -> StepResult:
    args = ctx.arguments
    config = required(args, "HyperParameterTuningJobConfig")
    definition = required(args, "TrainingJobDefinition")
    objective = required(config, "HyperParameterTuningJobObjective")
    metric, direction = required(objective, "MetricName"), objective.get("Type", "Minimize")
    if direction not in ("Minimize", "Maximize"):
        raise StepError(f"HyperParameterTuningJobObjective.Type {direction!r}: use Minimize or Maximize")
    limits = required(config, "ResourceLimits")
    count = int(required(limits, "MaxNumberOfTrainingJobs"))
    parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs", 1)), os.cpu_count() or 1, count))
    ranges = config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}
    tuning_name = ctx.job_name[:TUNING_JOB_NAME_LENGTH].rstrip("-")
    ctx.start_job(
        "sagemaker:CreateHyperParameterTuningJob",
        {"HyperParameterTuningJobName": tuning_name, **args, "RoleArn": definition.get("RoleArn")},
    )
    trials = draw_trials(tuning_name, ranges, count, seed_of(config, definition))
    static = {str(k): str(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()}
    ctx.log.line(f"tuning {count} jobs ({parallel} at a time), objective {direction} {metric}")

    def train(trial: Trial) -> StepResult | StepError:
        request = {
            **definition,
            "HyperParameters": {**static, **trial.hyperparameters, OBJECTIVE_HYPERPARAMETER: metric},
        }
        try:
            return run_training_job(
                ctx, request, trial.job_name, ctx.work_dir, LabelledLog(ctx.log, trial.job_name)
            )
        except StepError as failure:
            ctx.log.line(f"{trial.job_name} failed: {failure.reason}")
            return failure

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tuning") as pool:
        results = list(pool.map(train, trials))
    summaries, failures = [], []
    for trial, result in zip(trials, results, strict=True):
        if isinstance(result, StepError):
            failures.append(f"{trial.job_name}: {result.reason}")
            continue
        metrics = result.properties["FinalMetricDataList"]
        value = next((m["Value"] for m in metrics if m["MetricName"] == metric), None)
        if value is None:
            failures.append(f"{trial.job_name}: the objective metric {metric} never appeared in its log")
            continue
        summaries.append(_summary(ctx, trial, metric, direction, value))
    if not summaries:
        raise StepError(f"all {count} training jobs failed: {'; '.join(failures)}")
    summaries.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    if direction == "Maximize":
        summaries.reverse()
    written = [uri for r in results if not isinstance(r, StepError) for uri in r.written_uris]
    properties = {
        **args,
        "HyperParameterTuningJobName": tuning_name,
        "HyperParameterTuningJobArn": job_arn(ctx.settings, "hyper-parameter-tuning-job", tuning_name),
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": summaries[0],
        "TrainingJobSummaries": summaries,
        "TrainingJobStatusCounters": {"Completed": len(summaries), "Failed": len(failures)},
        "ObjectiveStatusCounters": {"Succeeded": len(summaries), "Failed": len(failures)},
    }
    best = summaries[0]
    ctx.log.line(
        f"best: {best['TrainingJobName']} {metric}={best['FinalHyperParameterTuningJobObjectiveMetric']['Value']}"
    )
    return StepResult(properties=properties, written_uris=written)


def seed_of(config: dict[str, Any], definition: dict[str, Any]) -> int:
    """The tuning job's RandomSeed, else a digest of its configuration (same definition, same draws)."""
    if "RandomSeed" in config:
        return int(config["RandomSeed"])
    text = json.dumps({"config": config, "definition": definition}, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def draw_trials(tuning_name: str, ranges: dict[str, Any], count: int, seed: int) -> list[Trial]:
    rng = random.Random(seed)
    token = secrets.token_hex(4)  # job names are unique per run, like SageMaker's
    return [
        Trial(index, f"{tuning_name}-{index + 1:03d}-{token}", draw(ranges, rng)) for index in range(count)
    ]


def draw(ranges: dict[str, Any], rng: random.Random) -> dict[str, str]:
    """One candidate: a value from every continuous, integer and categorical range."""
    values: dict[str, str] = {}
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high = _bounds(item, float)
        values[item["Name"]] = repr(_scaled(low, high, item.get("ScalingType", "Auto"), rng, item["Name"]))
    for item in ranges.get("IntegerParameterRanges", []):
        low, high = _bounds(item, float)
        value = _scaled(low, high + 1, item.get("ScalingType", "Auto"), rng, item["Name"])
        values[item["Name"]] = str(min(int(high), max(int(low), math.floor(value))))
    for item in ranges.get("CategoricalParameterRanges", []):
        options = [str(v) for v in item.get("Values", [])]
        if not options:
            raise StepError(f"categorical range {item.get('Name')} has no Values")
        values[item["Name"]] = rng.choice(options)
    return values


def _bounds(item: dict[str, Any], kind: type) -> tuple[float, float]:
    try:
        low, high = kind(item["MinValue"]), kind(item["MaxValue"])
    except (KeyError, ValueError) as err:
        raise StepError(f"range {item.get('Name')}: MinValue/MaxValue must be numbers ({err})") from err
    if low > high:
        raise StepError(f"range {item.get('Name')}: MinValue {low} is above MaxValue {high}")
    return low, high


def _scaled(low: float, high: float, scaling: str, rng: random.Random, name: str) -> float:
    if scaling in ("Auto", "Linear"):
        return rng.uniform(low, high)
    if scaling == "Logarithmic":
        if low <= 0:
            raise StepError(f"range {name}: Logarithmic scaling needs MinValue > 0")
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if scaling == "ReverseLogarithmic":
        if high >= 1:
            raise StepError(f"range {name}: ReverseLogarithmic scaling needs MaxValue < 1")
        return 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    raise StepError(f"range {name}: unknown ScalingType {scaling!r}")


def _summary(ctx: StepContext, trial: Trial, metric: str, direction: str, value: float) -> dict[str, Any]:
    return {
        "TrainingJobName": trial.job_name,
        "TrainingJobArn": job_arn(ctx.settings, "training-job", trial.job_name),
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": trial.hyperparameters,
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "Type": direction,
            "MetricName": metric,
            "Value": value,
        },
        "ObjectiveStatus": "Succeeded",
    }
