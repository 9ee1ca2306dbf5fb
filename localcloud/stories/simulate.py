"""Would retraining fire? The loop on generated traffic over several monitoring windows.

A team tunes drift thresholds, alarm periods and the storm guard here before deploying. Each
scenario is a sequence of hourly windows of generated traffic (``traffic.py``):

- ``no-drift``: normal traffic throughout; nothing should fire.
- ``drift``: two normal windows, then drifted ones; exactly one retraining should start.
- ``flapping``: normal and drifted windows alternate, so the drift alarm goes in and out of ALARM;
  the retrain guard must hold the storm to at most one start.
- ``bad-data``: two normal windows, then broken records; violations are reported, and at most one
  retraining starts (the guard again).

What is real: the synthesized pipelines, templates (alarms, rules) and settings; the emulator; one
run of the training pipeline (model, baseline, deployment); the local endpoint with data capture;
the monitoring job (``processing_scripts.monitor``, the exact arguments of the monitoring
pipeline's step, but ``--window-end`` set to each simulated window's end); the alarm evaluation at
each window's next minute; the rules; the retrain guard against the emulator.

What is counted instead of run: a retraining start is the guard's StartPipelineExecution recorded
in the emulator; the retraining itself is not executed. Time is simulated for traffic, capture,
monitoring windows, metrics and alarms; the guard's cooldown runs on the wall clock, so during a
simulation (seconds long) a start blocks every later one, like a cooldown spanning all windows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from localcloud.account import LocalAws
from localcloud.cloudformation import TemplateSet
from localcloud.cloudwatch import AlarmEvaluator, AlarmState, load_alarms
from localcloud.eventbridge import EventRouter, PipelineStart, load_rules
from localcloud.sagemaker.endpoint import LocalEndpoint, RuntimeClient, send_csv
from localcloud.sagemaker.executor.engine import LocalPipelineRunner
from localcloud.stories.loop import LoopError, _environment, _handlers, create_pipelines, synthesize
from localcloud.stories.traffic import TrafficKind, generate, to_csv_lines
from pipelines.settings import Settings
from processing_scripts import contract

N, D, B = TrafficKind.NORMAL, TrafficKind.DRIFTED, TrafficKind.BAD


class Scenario(StrEnum):
    NO_DRIFT = "no-drift"
    DRIFT = "drift"
    FLAPPING = "flapping"
    BAD_DATA = "bad-data"


WINDOWS: dict[Scenario, tuple[TrafficKind, ...]] = {
    Scenario.NO_DRIFT: (N, N, N, N, N),
    Scenario.DRIFT: (N, N, D, D, D),
    Scenario.FLAPPING: (N, D, N, D, N, D),
    Scenario.BAD_DATA: (N, N, B, B, B),
}


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
    guard: tuple[str, ...]  # "started" / "skipped: <reason>" per delivery to the guard

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
    """A prepared rig: emulator, trained and deployed model, endpoint, alarms and rules.

    ``prepare()`` does the expensive part once (synthesis, training); ``run(scenario)`` can then be
    called for several scenarios, each starting from fresh metrics, alarm states and executions.
    """

    def __init__(self, settings: Settings, work_dir: Path, *, rows: int = 300, seed: int = 0) -> None:
        self.settings = settings
        self.work_dir = work_dir
        self.rows = rows
        self.seed = seed
        self._aws: LocalAws | None = None
        self._templates: TemplateSet | None = None
        self._definitions: dict[str, dict[str, Any]] = {}
        self._clock = datetime.now(UTC)

    def __enter__(self) -> Simulator:
        self.prepare()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._aws is not None:
            self._aws.stop()
            self._aws = None

    @property
    def aws(self) -> LocalAws:
        if self._aws is None:
            raise LoopError("the simulator is not prepared; use it as a context manager")
        return self._aws

    def prepare(self) -> None:
        definitions, cdk_out = synthesize(self.settings, self.work_dir, cdk_validation=False)
        self._definitions = definitions
        self._templates = TemplateSet.load(self.settings, cdk_out)
        self._aws = LocalAws(self.settings)
        self._aws.start()
        create_pipelines(self._aws, self.settings, definitions)
        name = self.settings.training_pipeline_name
        record = LocalPipelineRunner(self.settings, self._aws, self.work_dir / "runs").run(
            definitions[name], {}, pipeline_name=name
        )
        if not record.succeeded:
            raise LoopError(f"training failed: {record.failure_reason} (record: {record.record_file})")

    def run(
        self, scenario: Scenario, progress: Callable[[WindowOutcome], None] | None = None
    ) -> SimulationResult:
        """Play the scenario's windows; alarms and executions start fresh for each scenario."""
        if self._templates is None:
            raise LoopError("the simulator is not prepared; use it as a context manager")
        training = self.settings.training_pipeline_name
        self._forget_executions(training)
        window_hours = self.settings.monitoring.window_hours
        # A day after the previous scenario: its metrics are out of every alarm's evaluation range.
        start = self._clock.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        clock = {"now": start}
        evaluator = AlarmEvaluator(
            load_alarms(self._templates), self.aws.clients.cloudwatch, self.settings.account,
            self.settings.region, created_at=start,
        )  # fmt: skip
        starts: list[PipelineStart] = []
        router = EventRouter(
            rules=load_rules(self._templates),
            settings=self.settings,
            client=self.aws.clients.client,
            start_pipeline=starts.append,  # counted, not run
            handlers=_handlers(),
            environment=lambda purpose: _environment(self.settings, purpose),
        )
        result = SimulationResult(scenario)
        with LocalEndpoint(
            self.settings, self.aws.clients, port=0, seed=self.seed, clock=lambda: clock["now"]
        ) as ep:
            ep.reconcile()
            client = RuntimeClient(ep.url)
            for index, kind in enumerate(WINDOWS[scenario]):
                window_start = start + timedelta(hours=index * window_hours)
                window_end = window_start + timedelta(hours=window_hours)
                clock["now"] = window_start + timedelta(minutes=30)
                rows = generate(kind, self.rows, seed=self.seed + index)
                sent = send_csv(client, to_csv_lines(rows), batch_size=25)
                ep.flush()
                if sent.errors:
                    raise LoopError(f"window {index}: {sent.errors[0]}")
                summary, violations = self._monitor(window_end)
                evaluations = evaluator.evaluate(window_end + timedelta(minutes=1))
                guard: list[str] = []
                transitions = []
                for evaluation in (e for e in evaluations if e.changed):
                    transitions.append(f"{evaluation.alarm.name}: {evaluation.previous}->{evaluation.state}")
                    for delivery in router.route(evaluation.event):
                        if delivery.kind == "lambda" and isinstance(delivery.result, dict):
                            action = delivery.result["action"]
                            guard.append(
                                action if action == "started" else f"{action}: {delivery.result['reason']}"
                            )
                outcome = WindowOutcome(
                    index=index,
                    end=window_end,
                    traffic=kind,
                    verdict=str(summary.get("verdict", "nothing_to_check")),
                    drifted_share=summary.get("drifted_feature_share"),
                    violations=violations,
                    drift_alarm=evaluator.states[self.settings.drift_alarm_name].value,
                    transitions=tuple(transitions),
                    guard=tuple(guard),
                )
                result.windows.append(outcome)
                if progress:
                    progress(outcome)
            self._clock = window_end
        summaries = self.aws.clients.sagemaker.list_pipeline_executions(PipelineName=training)
        result.executions_in_emulator = len(summaries["PipelineExecutionSummaries"])
        return result

    def _forget_executions(self, pipeline: str) -> None:
        """Recreate the pipeline in the emulator: a scenario starts with no execution history."""
        sagemaker = self.aws.clients.sagemaker
        sagemaker.delete_pipeline(PipelineName=pipeline, ClientRequestToken=str(uuid.uuid4()))
        create_pipelines(self.aws, self.settings, {pipeline: self._definitions[pipeline]})

    def _monitor(self, window_end: datetime) -> tuple[dict[str, Any], int]:
        """Run the monitoring job for one window, with the monitoring step's arguments."""
        settings, monitoring = self.settings, self.settings.monitoring
        args = {
            "--capture-uri": f"{settings.capture_uri}/{settings.endpoint_name}",
            "--endpoint-name": settings.endpoint_name,
            "--window-hours": str(monitoring.window_hours),
            "--window-end": window_end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--baseline-uri": "",
            "--ground-truth-uri": "",
            "--metric-namespace": monitoring.metric_namespace,
            "--endpoint-dimension": monitoring.endpoint_dimension,
            "--schedule-dimension": monitoring.schedule_dimension,
            "--schedule-name": settings.monitoring_schedule_name,
            "--feature-metric-prefix": monitoring.feature_drift_metric_prefix,
            "--share-metric": monitoring.drifted_share_metric,
            "--violations-metric": monitoring.violations_metric,
        }
        with tempfile.TemporaryDirectory(prefix="simulate-monitor-") as opt_ml:
            env = {**os.environ, **self.aws.process_environment(), contract.BASE_DIR_ENV: opt_ml}
            command = [
                sys.executable,
                "-m",
                "processing_scripts.monitor",
                *[x for kv in args.items() for x in kv],
                "--no-report",
            ]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise LoopError(
                    f"monitoring job failed for the window ending {window_end}: {done.stderr.strip()[-500:]}"
                )
            report = Path(opt_ml) / PurePosixPath(contract.Monitor.REPORT).relative_to(contract.OPT_ML)
            summary_file, violations_file = (
                report / contract.DRIFT_SUMMARY_FILE,
                report / contract.VIOLATIONS_FILE,
            )
            summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
            violations = (
                json.loads(violations_file.read_text()).get("violations", [])
                if violations_file.exists()
                else []
            )
        return summary, len(violations)
