"""Would retraining fire? The loop on generated traffic over several monitoring windows.

A team tunes drift thresholds, alarm periods and the storm guard here before deploying. Each
scenario is a sequence of hourly windows of generated traffic (``traffic.py``):

- ``no-drift``: normal traffic throughout; nothing should fire.
- ``drift``: two normal windows, then drifted ones; exactly one retraining should start.
- ``flapping``: normal and drifted windows alternate, so the drift alarm goes in and out of ALARM;
  the retrain guard must hold the storm to at most one start.
- ``bad-data``: two normal windows, then broken records; violations are reported, and at most one
  retraining starts (the guard again).
- ``concept-drift``: features stay normal throughout, but from the third window the labels shift
  (the target's relation to the features changed). Every request carries an InferenceId and the
  window's labels are uploaded as ground truth in the same hour; each monitoring run judges the
  window one label delay back. The data-drift alarm stays quiet, the model-quality alarm fires, and
  exactly one retraining starts, with ``TriggeredBy`` = ``quality-alarm``.

What is real: the synthesized pipelines, templates (alarms, rules) and settings; the local cloud
(:class:`localcloud.cloud.LocalCloud`); one run of the training pipeline (model, baseline,
deployment); the local endpoint with data capture; for each window, an execution of the monitoring
pipeline's definition by the local executor, whose clock is set to the window's end, so the
monitoring step's ``--window-end`` (``Execution.StartDateTime`` in the definition) is that end and
its metrics carry simulated timestamps; the alarm evaluation at each window's next minute; the
rules; the retrain guard against the emulator.

What is counted instead of run: a retraining start is the guard's StartPipelineExecution recorded
in the emulator; the retraining itself is not executed. Time is simulated for traffic, capture,
monitoring executions, metrics, alarms and the storm guard: moto stamps the guard's starts with the
simulated clock and the guard measures its cooldown at the triggering event's time, so a cooldown
shorter than the gap between two alarms lets the second one start a retraining, as it would in AWS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from localcloud.cloud import LocalCloud, Synthesized, synthesize
from localcloud.cloudwatch import AlarmState
from localcloud.eventbridge import PipelineStart
from localcloud.moto_extensions import sagemaker_clock
from localcloud.sagemaker.endpoint import CSV, InvocationError
from localcloud.sagemaker.executor.records import ExecutionRecord
from localcloud.stories import StoryError
from localcloud.stories.monitoring_report import MonitoringReport
from localcloud.stories.serving_traffic import ModeClient, mode_client
from localcloud.stories.traffic import TrafficKind, generate, labels, to_csv_lines
from pipelines.settings import BATCH, Settings
from processing_scripts import s3_uri
from processing_scripts.drift.ground_truth import ground_truth_jsonl, ground_truth_key
from processing_scripts.model_quality import scalar_metrics

if TYPE_CHECKING:
    import pandas as pd

N, D, B, C = TrafficKind.NORMAL, TrafficKind.DRIFTED, TrafficKind.BAD, TrafficKind.CONCEPT_DRIFTED


class SimulationError(StoryError):
    """A stage of the simulation failed; the message names it and where to look."""


class Scenario(StrEnum):
    NO_DRIFT = "no-drift"
    DRIFT = "drift"
    FLAPPING = "flapping"
    BAD_DATA = "bad-data"
    CONCEPT_DRIFT = "concept-drift"


WINDOWS: dict[Scenario, tuple[TrafficKind, ...]] = {
    Scenario.NO_DRIFT: (N, N, N, N, N),
    Scenario.DRIFT: (N, N, D, D, D),
    Scenario.FLAPPING: (N, D, N, D, N, D),
    Scenario.BAD_DATA: (N, N, B, B, B),
    Scenario.CONCEPT_DRIFT: (N, N, C, C, C),
}
# Scenarios whose requests carry InferenceIds and whose labels are uploaded (one row per request,
# so the request's id is the row's).
LABELLED = (Scenario.CONCEPT_DRIFT,)


@dataclass
class SimulatedClock:
    """The simulation's "now", set by the story: what the endpoint, the executor and alarms read."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class WindowOutcome:
    index: int
    end: datetime
    traffic: TrafficKind
    verdict: str
    drifted_share: float | None
    violations: int
    drift_alarm: AlarmState
    transitions: tuple[str, ...]
    guard: tuple[str, ...]  # "started" / "skipped: <reason>" / "failed: <error>" per delivery to the guard
    monitoring_record: Path  # the window's monitoring execution (record.json)
    quality_alarm: AlarmState = AlarmState.INSUFFICIENT_DATA
    merged_labels: int | None = None  # labels merged by this run (for the window one delay back)
    quality: dict[str, float] = field(default_factory=dict)  # e.g. rmse of the merged rows

    @property
    def started(self) -> int:
        return sum(1 for g in self.guard if g == "started")


@dataclass
class SimulationResult:
    scenario: Scenario
    windows: list[WindowOutcome] = field(default_factory=list)
    executions_in_emulator: int = 0

    @property
    def retraining_starts(self) -> int:
        return sum(w.started for w in self.windows)

    @property
    def first_start(self) -> WindowOutcome | None:
        return next((w for w in self.windows if w.started), None)


class Simulator:
    """A prepared rig: the local cloud with a trained and deployed model, on a simulated clock.

    ``prepare()`` does the expensive part once (synthesis, training); ``run(scenario)`` can then be
    called for several scenarios, each starting from fresh metrics, alarm states and executions.
    """

    def __init__(
        self,
        settings: Settings,
        work_dir: Path,
        *,
        rows: int = 300,
        seed: int = 0,
        synthesized: Synthesized | None = None,
    ) -> None:
        """``synthesized``: artifacts already synthesized for these settings (else ``prepare()``
        synthesizes them under ``work_dir``)."""
        if settings.serving.mode == BATCH:
            raise SimulationError(
                "simulate sends traffic to an endpoint and serving.mode batch has none; run "
                "`MLOPS_SERVING_MODE=batch python -m pipelines demo` for the batch loop"
            )
        self.settings = settings
        self.work_dir = work_dir
        self.synthesized = synthesized
        self.rows = rows
        self.seed = seed
        self.clock = SimulatedClock(datetime.now(UTC))
        self._cloud: LocalCloud | None = None

    def __enter__(self) -> Simulator:
        self.prepare()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the local cloud; safe to call twice."""
        if self._cloud is not None:
            self._cloud.stop()
            self._cloud = None

    @property
    def cloud(self) -> LocalCloud:
        if self._cloud is None:
            raise SimulationError("the simulator is not prepared; use it as a context manager")
        return self._cloud

    def prepare(self) -> None:
        synthesized = self.synthesized or synthesize(self.settings, self.work_dir, cdk_validation=False)
        cloud = LocalCloud(
            self.settings,
            synthesized.definitions,
            cdk_out=synthesized.cdk_out,
            runs_dir=self.work_dir / "runs",
            clock=self.clock,
        )
        cloud.start()
        self._cloud = cloud
        try:
            record = cloud.run(self.settings.training_pipeline_name)
        except BaseException:
            self.close()  # __exit__ does not run when __enter__ raises
            raise
        if not record.succeeded:
            self.close()
            raise SimulationError(f"training failed: {record.failure_reason} (record: {record.record_file})")

    def run(
        self, scenario: Scenario, progress: Callable[[WindowOutcome], None] | None = None
    ) -> SimulationResult:
        """Play the scenario's windows; alarms and executions start fresh for each scenario."""
        cloud, clock = self.cloud, self.clock
        training = self.settings.training_pipeline_name
        self._forget_executions(training)
        window_hours = self.settings.monitoring.window_hours
        # A day after the previous scenario: its metrics are out of every alarm's evaluation range.
        start = clock.now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        clock.now = start
        evaluator = cloud.alarm_evaluator()
        starts: list[PipelineStart] = []
        router = cloud.event_router(starts.append)  # counted, not run
        result = SimulationResult(scenario)
        with sagemaker_clock.stamped_by(clock), cloud.endpoint(port=0, seed=self.seed) as ep:
            ep.reconcile()
            client = mode_client(self.settings, ep, cloud.aws.clients.s3)  # the serving mode's API
            for index, kind in enumerate(WINDOWS[scenario]):
                window_start = start + timedelta(hours=index * window_hours)
                window_end = window_start + timedelta(hours=window_hours)
                clock.now = window_start + timedelta(minutes=30)
                rows = generate(kind, self.rows, seed=self.seed + index)
                if scenario in LABELLED:
                    self._send_labelled(client, kind, rows, index)
                    ep.flush()
                    client.flush()
                else:
                    sent = client.send(to_csv_lines(rows), batch_size=25)
                    ep.flush()
                    client.flush()
                    if sent.errors:
                        raise SimulationError(f"window {index}: {sent.errors[0]}")
                clock.now = window_end
                monitoring, report = self._monitor()
                evaluations = evaluator.evaluate(window_end + timedelta(minutes=1))
                guard: list[str] = []
                transitions = []
                for evaluation, event in ((e, e.event) for e in evaluations if e.event is not None):
                    transitions.append(f"{evaluation.alarm.name}: {evaluation.previous}->{evaluation.state}")
                    for delivery in router.route(event):
                        if delivery.kind != "lambda":
                            continue
                        if delivery.error:
                            guard.append(f"failed: {delivery.error}")
                        elif isinstance(delivery.result, dict):
                            action = delivery.result["action"]
                            guard.append(
                                action if action == "started" else f"{action}: {delivery.result['reason']}"
                            )
                outcome = WindowOutcome(
                    index=index,
                    end=window_end,
                    traffic=kind,
                    verdict=report.verdict,
                    drifted_share=report.summary.get("drifted_feature_share"),
                    violations=len(report.violations),
                    drift_alarm=evaluator.states[self.settings.drift_alarm_name].value,
                    quality_alarm=evaluator.states[self.settings.quality_alarm_name].value,
                    merged_labels=report.quality.get("merged"),
                    quality=self._published(scalar_metrics(report.quality.get("model_quality") or {})),
                    transitions=tuple(transitions),
                    guard=tuple(guard),
                    monitoring_record=monitoring.record_file,
                )
                result.windows.append(outcome)
                if progress:
                    progress(outcome)
        summaries = cloud.aws.clients.sagemaker.list_pipeline_executions(PipelineName=training)
        result.executions_in_emulator = len(summaries["PipelineExecutionSummaries"])
        return result

    def _published(self, values: dict[str, float]) -> dict[str, float]:
        """The metrics the job publishes for the problem type (what the alarm and dashboard see)."""
        published = self.settings.model_quality.metrics[self.settings.problem_type]
        return {name: value for name, value in values.items() if name in published}

    def _send_labelled(self, client: ModeClient, kind: TrafficKind, rows: pd.DataFrame, index: int) -> None:
        """One request per row with an InferenceId, then the rows' labels uploaded as ground truth
        in this hour (the reviewers' answer, which the run one label delay later merges)."""
        ids = [f"w{index}-r{row}" for row in range(self.rows)]
        for inference_id, line in zip(ids, to_csv_lines(rows), strict=True):
            try:
                client.client.invoke_endpoint(Body=line + "\n", ContentType=CSV, InferenceId=inference_id)
            except InvocationError as err:
                raise SimulationError(f"window {index}: {err}") from err
        truth = labels(kind, self.rows, seed=self.seed + index)
        body = ground_truth_jsonl(dict(zip(ids, truth.tolist(), strict=True)))
        key = ground_truth_key(self.settings.endpoint_name, self.clock.now, f"labels-window-{index}.jsonl")
        bucket, prefix = s3_uri.split(self.settings.ground_truth_uri, key_required=True)
        self.cloud.aws.clients.s3.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=body)

    def _forget_executions(self, pipeline: str) -> None:
        """Recreate the pipeline in the emulator: a scenario starts with no execution history."""
        self.cloud.aws.clients.sagemaker.delete_pipeline(
            PipelineName=pipeline, ClientRequestToken=str(uuid.uuid4())
        )
        self.cloud.create_pipeline(pipeline)

    def _monitor(self) -> tuple[ExecutionRecord, MonitoringReport]:
        """Run the monitoring pipeline's definition, as its schedule would at the clock's "now"."""
        name = self.settings.monitoring_pipeline_name
        record = self.cloud.run(name)
        if not record.succeeded:
            raise SimulationError(
                f"{name} failed for the window ending {self.clock.now}: {record.failure_reason} "
                f"(record: {record.record_file})"
            )
        return record, MonitoringReport.read(self.cloud.aws.clients.s3, record)
