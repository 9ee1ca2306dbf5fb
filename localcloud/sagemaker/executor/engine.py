"""The local executor: runs a SageMaker pipeline definition JSON step by step against the emulator.

It reads the same bytes ``upsert`` ships, through the same model ``validate`` uses
(:mod:`pipelines.definition`): a definition with errors, or a step type it cannot run, is refused
before anything runs. It behaves like the service where it matters to a pipeline's author:
parameters with defaults and typed overrides (rejected before anything runs),
property references between steps, condition branches (steps only in the branch not taken do not
run), step caching with SageMaker's cache-key rule, the definition's retry policies, and the
execution variables. A failing step fails the execution with that step's reason and nothing
after it starts. Steps run one at a time, in dependency order (ties in document order), so a run
is reproducible and its log reads top to bottom.

Time comes from an injectable clock (default: the wall clock): ``Execution.StartDateTime`` and
``Execution.CurrentDateTime``, the record's and steps' start and end times, and the step cache's
notion of "now". A story replaying past windows (``simulate``) sets the clock to a window's end, so
a definition that reads its window from ``StartDateTime`` checks that window, unchanged.

Usage (the emulator stays up for as many runs as you like)::

    with LocalAws(settings) as aws:
        runner = LocalPipelineRunner(settings, aws)
        record = runner.run(definition, {"QualityThreshold": "2.5"}, pipeline_name=name)
        record.status, record.model_package_arn
"""

from __future__ import annotations

import logging
import secrets
import shutil
import string
import time
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.dashboard import PIPELINE_NAMESPACE
from localcloud import s3_objects
from localcloud.account import LocalAws
from localcloud.awslambda import LambdaRegistry
from localcloud.clock import Clock, utc_now
from localcloud.iam import SAGEMAKER_SESSION, AccessControl
from localcloud.iam.calls import with_denials
from localcloud.sagemaker.executor import preflight
from localcloud.sagemaker.executor.caching import StepCache, cache_key
from localcloud.sagemaker.executor.preflight import Stubs
from localcloud.sagemaker.executor.progress import ProgressListener, SilentProgress
from localcloud.sagemaker.executor.records import (
    CacheHit,
    ExecutionRecord,
    ExecutionStatus,
    StepRecord,
    StepStatus,
    running,
    settle_abandoned,
    timestamp,
)
from localcloud.sagemaker.executor.steps.base import (
    ExecutionInfo,
    StepContext,
    StepError,
    StepLog,
    StepRunner,
)
from localcloud.sagemaker.executor.steps.callback import CallbackRunner
from localcloud.sagemaker.executor.steps.clarify_check import run_clarify_check
from localcloud.sagemaker.executor.steps.lambda_function import LambdaRunner
from localcloud.sagemaker.executor.steps.processing import run_processing
from localcloud.sagemaker.executor.steps.quality_check import run_quality_check
from localcloud.sagemaker.executor.steps.registry import run_create_model, run_register_model
from localcloud.sagemaker.executor.steps.training import run_training
from localcloud.sagemaker.executor.steps.transform import run_transform
from localcloud.sagemaker.executor.steps.tuning import run_tuning
from pipelines.definition import (
    DefinitionError,
    ExpressionError,
    ParameterError,
    ParameterValue,
    PipelineDefinition,
    Step,
    read_definition,
)
from pipelines.definition.expressions import as_text, evaluate, evaluate_condition
from pipelines.settings import Settings
from processing_scripts import s3_uri

DEFAULT_RUNS_DIR = Path("build/runs")
CACHE_DIR = "cache"
LOGS_DIR = "logs"
WORK_DIR = "work"
INTERRUPTED = "stopped by the user (Ctrl-C)"
_ID_ALPHABET = string.ascii_lowercase + string.digits
# The step types this executor runs: a runner each (see LocalPipelineRunner), and the two it
# evaluates itself. Any other type is refused before anything runs.
JOB_RUNNERS: dict[str, StepRunner] = {
    "Processing": run_processing,
    "Training": run_training,
    "Tuning": run_tuning,
    "Model": run_create_model,
    "RegisterModel": run_register_model,
    "Callback": CallbackRunner(),
    "Transform": run_transform,
    "QualityCheck": run_quality_check,
    "ClarifyCheck": run_clarify_check,
}
ENGINE_STEP_TYPES = ("Condition", "Fail")
LOCAL_STEP_TYPES = (*JOB_RUNNERS, "Lambda", *ENGINE_STEP_TYPES)
_RUNNABLE_TYPES: dict[str, StepRunner | None] = dict.fromkeys((*JOB_RUNNERS, "Lambda"))

_OUTCOME_METRICS = {
    ExecutionStatus.SUCCEEDED: "ExecutionSucceeded",
    ExecutionStatus.FAILED: "ExecutionFailed",
    ExecutionStatus.STOPPED: "ExecutionStopped",
}
log = logging.getLogger(__name__)


def prepare(
    definition: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    *,
    runners: Mapping[str, StepRunner | None] | None = None,
    stubs: Collection[str] = (),
    settings: Settings | None = None,
) -> tuple[PipelineDefinition, dict[str, ParameterValue]]:
    """Read a definition and resolve its parameters, or refuse before anything starts.

    :class:`DefinitionError` lists its errors (the findings ``validate`` prints), else everything
    the pre-flight finds (:func:`preflight.blockers`: steps that cannot run locally, each with the
    option that gets past it) together with any parameter problems, so one attempt shows them all
    and the exit status is the same with or without ``-p``. Only parameter problems raise
    ``ParameterError``. ``runners`` defaults to the step types alone (a
    :class:`LocalPipelineRunner` passes its own runners, whose declared blockers are then checked
    too, against ``settings``); ``stubs`` names the steps that will not run.
    """
    parsed = read_definition(definition)
    parsed.raise_for_errors()
    problems = preflight.blockers(
        parsed, runners if runners is not None else _RUNNABLE_TYPES, ENGINE_STEP_TYPES, stubs, settings
    )
    try:
        values = parsed.resolve_parameters(parameters or {})
    except ParameterError as err:
        if not problems:
            raise
        problems += err.problems
    if problems:
        raise DefinitionError(problems)
    return parsed, values


class LocalPipelineRunner:
    """Runs definitions against one running :class:`LocalAws`; reusable for many executions."""

    def __init__(
        self,
        settings: Settings,
        aws: LocalAws,
        runs_dir: Path = DEFAULT_RUNS_DIR,
        *,
        use_cache: bool = True,
        lambdas: LambdaRegistry | None = None,
        progress: ProgressListener | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utc_now,
        access: AccessControl | None = None,
    ) -> None:
        """``lambdas`` defaults to the project's functions; ``clock`` to the wall clock; ``access``
        to no IAM checks (every call as the emulator's administrator)."""
        self.settings = settings
        self.aws = aws
        # Absolute: steps run in subprocesses whose working directory is their own staging area,
        # so a relative path (the CLI's default) would resolve twice.
        self.runs_dir = runs_dir.resolve()
        self.use_cache = use_cache
        self.progress: ProgressListener = progress or SilentProgress()
        self.cache = StepCache(self.runs_dir / CACHE_DIR)
        self._sleep = sleep
        self.clock = clock
        self.access = access or AccessControl(aws, None)
        self._runners: dict[str, StepRunner] = {
            **JOB_RUNNERS,
            "Lambda": LambdaRunner(lambdas or LambdaRegistry.for_project(settings)),
        }

    def run(
        self,
        definition: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        *,
        pipeline_name: str,
        execution_arn: str | None = None,
        stubs: Stubs | None = None,
    ) -> ExecutionRecord:
        """Run one execution; raises (before anything runs) what :meth:`prepare` raises.

        ``parameters`` overrides the definition's defaults (strings, parsed as the declared type,
        as StartPipelineExecution's values are). Pass ``execution_arn`` to run an execution that
        was started elsewhere (e.g. by the retrain guard's StartPipelineExecution against the
        emulator) under that ARN. A step named in ``stubs`` does not run: its properties are its
        resolved arguments (what SageMaker's Describe* echoes back) overlaid by the stub's keys.
        """
        stubs = stubs or {}
        parsed, values = self.prepare(definition, parameters, stubs=stubs)
        for path in settle_abandoned(self.runs_dir, self.clock()):
            log.warning("%s: its process was gone; the execution is now %s", path, ExecutionStatus.FAILED)
        arn = execution_arn or self._new_execution_arn(pipeline_name)
        execution_id = arn.rsplit("/", 1)[-1]
        record = ExecutionRecord(
            pipeline_name=pipeline_name,
            execution_id=execution_id,
            execution_arn=arn,
            run_dir=self.runs_dir / execution_id,
            parameters=values,
            started_at=self.clock(),
        )
        for spec in parsed.execution_order:
            record.steps[spec.name] = StepRecord(name=spec.name, type=spec.type)
        project = preflight.is_project_definition(definition, self.settings)
        _Execution(self, parsed, record, stubs, project, self._pipeline_role(pipeline_name)).run()
        return record

    def prepare(
        self,
        definition: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        *,
        stubs: Collection[str] = (),
    ) -> tuple[PipelineDefinition, dict[str, ParameterValue]]:
        """:func:`prepare` with this runner's runners (so their declared blockers are checked)."""
        return prepare(definition, parameters, runners=self._runners, stubs=stubs, settings=self.settings)

    def _pipeline_role(self, pipeline_name: str) -> str | None:
        """The role SageMaker runs the pipeline as: the one it was created with in the emulator
        (None: IAM is off, or the pipeline was never created there, so nothing is checked for it)."""
        if not self.access.enforcing:
            return None
        try:
            return str(self.aws.clients.sagemaker.describe_pipeline(PipelineName=pipeline_name)["RoleArn"])
        except ClientError:  # not created in the emulator (a bare runner, in a test)
            return None

    def _new_execution_arn(self, pipeline_name: str) -> str:
        execution_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        return f"{self.settings.pipeline_arn(pipeline_name)}/execution/{execution_id}"


@dataclass
class _Execution:
    """The state of one run: the record it fills in and the scope expressions read from."""

    runner: LocalPipelineRunner
    definition: PipelineDefinition
    record: ExecutionRecord
    stubs: Stubs
    project_definition: bool  # see preflight.is_project_definition
    pipeline_role: str | None = None

    @property
    def info(self) -> ExecutionInfo:
        return ExecutionInfo(self.record.pipeline_name, self.record.execution_id, self.record.execution_arn)

    def run(self) -> None:
        with running(self.record.run_dir):  # released however this process ends: see records.LOCK_FILE
            self._run()

    def _run(self) -> None:
        record, progress = self.record, self.runner.progress
        record.write()
        progress.execution_started(record)
        self._publish("ExecutionStarted", record.started_at or self.runner.clock())
        try:
            for spec in self.definition.execution_order:
                if record.status != ExecutionStatus.EXECUTING:
                    break  # after a failure nothing else starts; the rest stay NotStarted
                step = record.steps[spec.name]
                if self._skipped(spec):
                    step.status = StepStatus.SKIPPED
                    progress.step_finished(record, step)
                    continue
                self._run_step(spec, step)
                if step.status == StepStatus.FAILED:
                    record.status = ExecutionStatus.FAILED
                    record.failure_reason = (
                        step.failure_reason
                        if spec.type == "Fail"
                        else f"step {spec.name} failed: {step.failure_reason}"
                    )
            if record.status == ExecutionStatus.EXECUTING:
                record.status = ExecutionStatus.SUCCEEDED
        except KeyboardInterrupt:
            record.status = ExecutionStatus.STOPPED
            record.failure_reason = INTERRUPTED
            raise
        finally:
            record.ended_at = self.runner.clock()
            record.write()
            progress.execution_finished(record)
            outcome = _OUTCOME_METRICS.get(record.status)
            if outcome:
                self._publish(outcome, record.ended_at)

    def _publish(self, metric: str, at: datetime) -> None:
        """The execution metric SageMaker Pipelines publishes (namespace and names: infra/dashboard.py,
        from https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html), so the
        alarms and the dashboard see local executions as they would see deployed ones."""
        try:
            self.runner.aws.clients.cloudwatch.put_metric_data(
                Namespace=PIPELINE_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": [{"Name": "PipelineName", "Value": self.record.pipeline_name}],
                        "Timestamp": at,
                        "Value": 1.0,
                        "Unit": "Count",
                    }
                ],
            )
        except (ClientError, BotoCoreError) as err:  # a metric is not worth failing an execution for
            log.warning("%s not published: %s", metric, err)

    def _skipped(self, spec: Step) -> bool:
        """In a branch not taken, or downstream of a step that did not run."""
        steps = self.record.steps
        if spec.condition is not None:
            condition = steps[spec.condition.condition]
            if (
                condition.status != StepStatus.SUCCEEDED
                or condition.properties.get("Outcome") != spec.condition.when
            ):
                return True
        return any(steps[name].status == StepStatus.SKIPPED for name in spec.dependencies)

    # -- one step ---------------------------------------------------------------------------------
    def _run_step(self, spec: Step, step: StepRecord) -> None:
        record, progress = self.record, self.runner.progress
        log_path = record.run_dir / LOGS_DIR / f"{spec.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        step.log_file = log_path.relative_to(record.run_dir).as_posix()
        step.started_at = self.runner.clock()
        record.write()  # says which step is running, should this process be killed during it
        progress.step_started(record, step)
        denials = self.runner.access.log.mark()
        try:
            with log_path.open("w") as stream:
                self._execute(spec, step, StepLog(stream))
            step.status = StepStatus.SUCCEEDED
        except (StepError, ExpressionError) as err:
            step.status = StepStatus.FAILED
            reason = err.reason if isinstance(err, StepError) else str(err)
            step.failure_reason = with_denials(reason, self.runner.access.log.denied_since(denials))
        except KeyboardInterrupt:
            step.status = StepStatus.STOPPED
            step.failure_reason = INTERRUPTED
            raise
        except Exception as err:  # a bug in a runner: keep the run's record and the traceback
            step.status = StepStatus.FAILED
            step.failure_reason = f"local executor error: {type(err).__name__}: {err} (see {step.log_file})"
            with log_path.open("a") as stream:
                traceback.print_exc(file=stream)
        finally:
            step.ended_at = self.runner.clock()
            record.write()
            progress.step_finished(record, step)

    def _execute(self, spec: Step, step: StepRecord, log: StepLog) -> None:
        job_name = self._job_name(spec)
        scope = _Scope(self, job_name, spec)
        if spec.name in self.stubs:
            self._stub(spec, step, scope, log)
            return
        if spec.type == "Condition":
            conditions = spec.arguments.get("Conditions", [])
            outcome = all(evaluate_condition(condition, scope) for condition in conditions)
            step.arguments = {"Conditions": conditions}
            step.properties = {"Outcome": outcome}
            log.line(f"conditions evaluated to {outcome}")
            return
        step.arguments = evaluate(spec.arguments, scope)
        if spec.type == "Fail":
            message = (
                as_text(step.arguments.get("ErrorMessage", "")) if isinstance(step.arguments, dict) else ""
            )
            log.line(f"Fail step: {message}")
            raise StepError(message or f"Fail step {spec.name}")
        key = cache_key(spec, _cache_source(spec, step.arguments, scope)) if spec.cache.enabled else None
        if key is not None and self.runner.use_cache and self._reuse(spec, step, key, log):
            return
        ctx = StepContext(
            settings=self.runner.settings,
            aws=self.runner.aws,
            spec=spec,
            arguments=step.arguments,
            execution=self.info,
            job_name=job_name,
            work_dir=self.record.run_dir / WORK_DIR / spec.name,
            log=log,
            warn=lambda message: self._warn(step, message),
            resolve=lambda value: evaluate(value, scope),
            project_definition=self.project_definition,
            access=self.runner.access,
            pipeline_role=self.pipeline_role,
        )
        result = self._with_retries(spec, step, lambda: self._attempt(spec, ctx), log)
        step.properties = result.properties
        shutil.rmtree(ctx.work_dir, ignore_errors=True)  # a failed step's directory stays for debugging
        if key is not None:
            self._remember(spec, step, key, result.written_uris)

    def _stub(self, spec: Step, step: StepRecord, scope: _Scope, log: StepLog) -> None:
        """Not run: the properties are the resolved arguments overlaid by the stub file's keys."""
        arguments = spec.arguments if spec.type == "Condition" else evaluate(spec.arguments, scope)
        step.arguments = arguments
        step.properties = {**(arguments if isinstance(arguments, dict) else {}), **self.stubs[spec.name]}
        step.stubbed = True
        log.line(f"stubbed (--stub): not run; properties from the stub file: {sorted(self.stubs[spec.name])}")

    def _attempt(self, spec: Step, ctx: StepContext) -> Any:
        shutil.rmtree(ctx.work_dir, ignore_errors=True)  # every attempt starts from a clean /opt/ml
        ctx.work_dir.mkdir(parents=True)
        return self.runner._runners[spec.type](ctx)

    def _with_retries(self, spec: Step, step: StepRecord, attempt: Callable[[], Any], log: StepLog) -> Any:
        """Run an attempt; retry per the step's RetryPolicies while a policy matches the failure."""
        first_attempt = time.monotonic()
        retries: dict[int, int] = {}
        while True:
            step.attempts += 1
            try:
                return attempt()
            except StepError as failure:
                index, policy = _matching_policy(spec, failure)
                if policy is None:
                    raise
                done = retries.get(index, 0)
                if "MaxAttempts" in policy and done >= int(policy["MaxAttempts"]):
                    raise
                elapsed_minutes = (time.monotonic() - first_attempt) / 60
                if "ExpireAfterMin" in policy and elapsed_minutes >= float(policy["ExpireAfterMin"]):
                    raise
                delay = (
                    float(policy.get("IntervalSeconds", 1)) * float(policy.get("BackoffRate", 2.0)) ** done
                )
                retries[index] = done + 1
                log.line(f"attempt {step.attempts} failed ({failure.exception_type}): {failure.reason}")
                log.line(f"retrying in {delay:g}s (RetryPolicies[{index}])")
                self.runner.progress.step_retrying(step, failure.reason, delay)
                self.runner._sleep(delay)

    # -- caching ----------------------------------------------------------------------------------
    def _reuse(self, spec: Step, step: StepRecord, key: str, log: StepLog) -> bool:
        entry = self.runner.cache.lookup(
            self.record.pipeline_name, spec.name, key, spec.cache.expire_after, self.runner.clock()
        )
        if entry is None:
            log.line(f"cache miss (key {key})")
            return False
        try:
            restored = self.runner.cache.restore(entry, self.runner.aws.clients.s3)
        except Exception as err:
            self._warn(step, f"cache entry {entry.directory} could not be restored ({err}); running the step")
            return False
        step.properties = entry.properties
        step.cache_hit = CacheHit(entry.source_execution_arn, key, timestamp(entry.created_at) or "")
        log.line(f"cache hit (key {key}) from {entry.source_execution_arn}: restored {restored} object(s)")
        return True

    def _remember(self, spec: Step, step: StepRecord, key: str, written_uris: list[str]) -> None:
        try:
            self.runner.cache.store(
                self.record.pipeline_name,
                spec.name,
                key,
                execution_arn=self.record.execution_arn,
                created_at=step.started_at or self.runner.clock(),
                properties=step.properties,
                written_uris=written_uris,
                s3=self.runner.aws.clients.s3,
            )
        except (OSError, ValueError) as err:
            self._warn(step, f"could not store the cache entry: {err}")

    # -- helpers ----------------------------------------------------------------------------------
    def _job_name(self, spec: Step) -> str:
        """SageMaker-style generated job name: pipelines-<execution id>-<step>-<random>."""
        slug = "".join(c if c.isalnum() or c == "-" else "-" for c in spec.name)[:30].strip("-")
        return f"pipelines-{self.record.execution_id}-{slug}-{secrets.token_hex(3)}"

    def _warn(self, step: StepRecord, message: str) -> None:
        if message in step.warnings:
            return
        step.warnings.append(message)
        self.record.warnings.append(f"{step.name}: {message}")
        self.runner.progress.warning(step, message)


# A check step's cache key names the SDK's configs; in the JSON they are the step's Arguments (the
# processing job the SDK builds from them), so a changed dataset or output is a new key.
_CHECK_CONFIGS = ("QualityCheckConfig", "ClarifyCheckConfig", "CheckJobConfig")


def _cache_source(spec: Step, arguments: Any, scope: _Scope) -> Any:
    """The values a step's cache-key attributes name: its resolved Arguments and, for the types
    whose key names step-level fields (a check step's SkipCheck, Supplied* ...), those resolved."""
    if not isinstance(arguments, dict) or spec.kind is None or not spec.kind.step_fields:
        return arguments
    fields = {name: evaluate(spec.body[name], scope) for name in spec.kind.step_fields if name in spec.body}
    configs = (
        dict.fromkeys(_CHECK_CONFIGS, arguments) if spec.type in ("QualityCheck", "ClarifyCheck") else {}
    )
    return {**fields, **configs, **arguments}


def _matching_policy(spec: Step, failure: StepError) -> tuple[int, Mapping[str, Any] | None]:
    if failure.exception_type is None:
        return -1, None
    for index, policy in enumerate(spec.retry_policies):
        if failure.exception_type in (policy.get("ExceptionType") or []):
            return index, policy
    return -1, None


class _Scope:
    """What expressions in one step's arguments can read (see :class:`pipelines.definition.Scope`)."""

    def __init__(self, execution: _Execution, job_name: str, step: Step) -> None:
        self._execution = execution
        self._job_name = job_name
        self._job_variable = step.kind.job_variable if step.kind else None
        self._documents: dict[str, Any] = {}

    def parameter(self, name: str) -> Any:
        return self._execution.record.parameters[name]

    def execution_variable(self, name: str) -> Any:
        if name == self._job_variable:  # validation allows a job's own name only inside its step
            return self._job_name
        record = self._execution.record
        variables = {
            "PipelineExecutionId": record.execution_id,
            "PipelineExecutionArn": record.execution_arn,
            "PipelineName": record.pipeline_name,
            "PipelineArn": record.execution_arn.split("/execution/")[0],
            "StartDateTime": timestamp(record.started_at),
            "CurrentDateTime": timestamp(self._execution.runner.clock()),
        }
        return variables[name]

    def step_properties(self, step_name: str) -> dict[str, Any]:
        step = self._execution.record.steps[step_name]
        if step.status != StepStatus.SUCCEEDED:
            raise ExpressionError(f"Steps.{step_name}: the step did not run ({step.status})")
        return step.properties

    def property_file(self, step_name: str, file_name: str) -> Any:
        declared = self._execution.definition.step(step_name).property_files[file_name]
        outputs = self.step_properties(step_name).get("ProcessingOutputConfig", {}).get("Outputs", [])
        output = next((o for o in outputs if o.get("OutputName") == declared.output_name), None)
        if output is None:
            raise ExpressionError(
                f"Steps.{step_name}.PropertyFiles.{file_name}: the step has no output {declared.output_name!r}"
            )
        uri = s3_uri.join(output["S3Output"]["S3Uri"], declared.file_path)
        return self.read_json(uri)

    def read_json(self, uri: str) -> Any:
        if uri not in self._documents:
            try:
                # SageMaker reads a JsonGet's document as the pipeline's role (a Condition step's
                # property file, the quality gate's report).
                execution = self._execution
                s3 = execution.runner.access.clients_for(execution.pipeline_role, SAGEMAKER_SESSION).s3
                self._documents[uri] = s3_objects.read_json(s3, uri)
            except Exception as err:
                raise ExpressionError(f"cannot read JSON at {uri}: {err}") from err
        return self._documents[uri]
