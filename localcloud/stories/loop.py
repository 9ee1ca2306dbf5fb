"""The closed retraining loop, run locally end to end: what ``python -m pipelines demo`` does.

Nothing here restates a name, threshold, pattern or parameter: the pipelines come from
``pipelines.synth``, the alarms and rules from the CDK app's ``cdk.out`` templates, everything else
from settings. The steps, each recorded in a timeline with when and why:

1. synthesize the pipeline JSON and the CloudFormation templates (``localcloud.cloud.synthesize``),
   unless the caller already did (``LoopOptions.synthesized``);
2. start the local cloud (:class:`localcloud.cloud.LocalCloud`): the AWS emulator with the pipelines
   created in it, as the stack would, the alarms and rules of the templates, the Lambda functions;
3. run the training pipeline locally; its Deploy step (the deploy function) creates the endpoint;
4. start the local endpoint, which serves what the emulated control plane says is deployed; with
   deployment stages (``MLOPS_STAGES``), promote that version through them, each in its own
   emulated account (:mod:`localcloud.stories.promotion`: staging deploy and test, the recorded
   prod approval, prod deploy), and the retrained version likewise after step 7;
5. send normal traffic, run the monitoring pipeline, evaluate the alarms: no alarm expected (with
   stages the traffic goes to the prod endpoint, served as the prod model role, and the build
   account's prod schedule and prod drift alarm watch it: docs/multi-account.md);
6. send drifted traffic and run the monitoring pipeline again; meanwhile a data team lands new
   labelled data (the sample rows plus labelled rows of the drifted population) at
   ``settings.raw_data_uri``, the training pipeline's default ``InputDataUrl``;
7. evaluate the alarms: the drift alarm's transition to ALARM is an event, routed through the
   synthesized rules to the retrain guard, which starts the training pipeline (``TriggeredBy`` from
   the rule, ``DataSnapshot`` = the event's time), run locally under the guard's execution ARN; its
   Deploy step updates the endpoint and the local endpoint swaps models;
8. score both registered versions, with the endpoint's own inference code, on freshly drawn labelled
   rows of the drifted population: the retrained version must do better on the example's own gate
   metric (``[gate]`` of examples/<name>/example.toml: RMSE lower for abalone, AUC higher for credit).
9. trace the lineage of each registered version (commit, data versions, images, trigger) and save it
   under ``<out>/lineage/`` (:mod:`pipelines.lineage`), since the emulator is gone after the demo.

After every execution the events SageMaker would send (its status change; the registered package's
state change) are routed through the synthesized rules as well (:mod:`localcloud.sagemaker.events`):
the approved package reaches the deploy function by the package-approved rule, a failure the
notification topic by the pipeline-failed rule.

The loop is closed when the endpoint (with stages: the prod endpoint, in the prod account) serves
the model version the retraining registered, and that
version was really retrained: its job steps ran (no step-cache hits) and its model artifact and
drift baseline differ from the first version's. Retraining that reused the cached steps would
re-register the old model: the hollow loop this check exists to catch.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra import variants
from infra.lambdas.deploy import REPLACE
from localcloud.account import LocalAws
from localcloud.cloud import LocalCloud, Synthesized, assembled, synthesize
from localcloud.cloudwatch import AlarmEvaluator, AlarmState, Evaluation
from localcloud.eventbridge import Delivery, EventRouter, PipelineStart
from localcloud.iam import CALLS_FILE, Call
from localcloud.sagemaker.endpoint import (
    CSV,
    PROGRAM_ENV,
    SUBMIT_DIRECTORY_ENV,
    Deployment,
    LocalEndpoint,
    RuntimeClient,
)
from localcloud.sagemaker.events import (
    endpoint_state_change,
    model_package_state_change,
    pipeline_execution_status_change,
)
from localcloud.sagemaker.executor.records import ExecutionRecord
from localcloud.stories import StoryError
from localcloud.stories.dashboard import write_dashboard
from localcloud.stories.monitoring_report import MonitoringReport
from localcloud.stories.promotion import promote_through_stages, serve, stage_endpoint
from localcloud.stories.serving_traffic import ModeClient, mode_client
from localcloud.stories.traffic import (
    TrafficKind,
    generate,
    labelled_drifted_rows,
    load_raw,
    to_csv_lines,
    to_features,
)
from pipelines import lineage
from pipelines import parameters as params
from pipelines.definition import read_definition
from pipelines.settings import BATCH, REALTIME, Settings, Stage
from processing_scripts import dataset, inference, quality_gate, s3_uri, script_model
from processing_scripts.example import GateSpec
from processing_scripts.quality_metrics import model_quality

DEFAULT_OUT = Path("build/loop")
AB_BATCH_ROWS = 4  # rows per request in the A/B test: more requests, so both variants get a fair number
DASHBOARD_MARGIN_MINUTES = 5  # the dashboard page shows the loop's span and this much either side
# Who captured the demo's traffic, per serving mode (docs/serving.md).
CAPTURED_BY = {
    "realtime": "captured by the endpoint at its config's sampling percentage",
    "serverless": "a serverless endpoint captures nothing: the client wrote each answered request as a capture record",
    "async": "InvokeEndpointAsync: payloads put in S3, answers read from the output location; captured by the endpoint",
}


class LoopError(StoryError):
    """A stage of the loop failed; the message names the stage and where to look."""


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: seconds since the start, what happened, and why."""

    elapsed: float
    what: str
    why: str = ""
    paths: tuple[str, ...] = ()


@dataclass
class Timeline:
    started: float = field(default_factory=time.perf_counter)
    entries: list[Entry] = field(default_factory=list)
    listener: Callable[[Entry], None] | None = None

    def add(self, what: str, why: str = "", paths: tuple[str, ...] = ()) -> None:
        entry = Entry(round(time.perf_counter() - self.started, 1), what, why, paths)
        self.entries.append(entry)
        if self.listener:
            self.listener(entry)


@dataclass(frozen=True)
class LoopOptions:
    out_dir: Path = DEFAULT_OUT
    port: int | None = None  # None: settings.serving.local_port
    rows_per_phase: int = 600
    labelled_rows: int = 4000  # new labelled rows of the drifted population landed for retraining
    holdout_rows: int = 1000  # a fresh draw of that population, to compare the two versions on
    drift_strength: float = 0.5
    seed: int = 0
    cdk_validation: bool = False  # the CDK's own CloudFormation validation (slow; CI keeps it on)
    # Artifacts already synthesized from this checkout for these settings (the tests' once-per-run
    # synthesis): the loop runs on them instead of synthesizing again. None: synthesize now.
    synthesized: Synthesized | None = None
    # An existing cloud assembly, run as is (pipelines, policies, alarms, rules): a hand-edited
    # policy is tried before it is committed. Wins over ``synthesized``.
    cdk_out: Path | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """What identifies a registered model version: its artifact (by content) and drift baseline;
    for a script-mode model, also its code (``sourcedir.tar.gz``) and the module that serves it."""

    version: int
    model_data_url: str
    artifact_sha256: str
    statistics_uri: str
    artifact: bytes = field(repr=False, default=b"")
    code: bytes = field(repr=False, default=b"")
    program: str = ""

    def score(self, labelled: pd.DataFrame, gate: GateSpec) -> float:
        """The gate's metric (the evaluate step's, by the same code) on labelled raw rows, predicted by
        the code the endpoint runs: the project's inference code, or the model's own hooks."""
        body = "\n".join(to_csv_lines(to_features(labelled))).encode()
        predicted = self._predict(body, len(labelled))
        spec = dataset.schema()
        quality = model_quality(spec.problem_type, labelled[spec.target].to_numpy(dtype=float), predicted)
        value = quality_gate.metric_at(quality.to_json(), gate.metric_path)
        if value is None:
            raise LoopError(f"{gate.metric_path} is undefined on the drifted rows: draw more holdout rows")
        return value

    def _predict(self, body: bytes, rows: int) -> np.ndarray:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "model.tar.gz").write_bytes(self.artifact)
            if not self.program:
                model = inference.load_model(folder)
                return np.array(inference.predict_csv(model, body).split(), dtype=float)
            (root / "sourcedir.tar.gz").write_bytes(self.code)
            model_dir = script_model.extract_code(root / "model.tar.gz", root / "model")
            code_dir = script_model.extract_code(root / "sourcedir.tar.gz", root / "code")
            handle = script_model.serve(script_model.import_program(code_dir, self.program), model_dir)
            return script_model.predictions_from_csv(handle(body, CSV, CSV), rows)

    @classmethod
    def read(cls, aws: LocalAws, package_arn: str) -> RegisteredModel:
        package = aws.clients.sagemaker.describe_model_package(ModelPackageName=package_arn)
        container = package["InferenceSpecification"]["Containers"][0]
        url = container["ModelDataUrl"]
        artifact = _s3_bytes(aws, url)
        environment = container.get("Environment") or {}
        program = environment.get(PROGRAM_ENV, "")
        code = _s3_bytes(aws, environment[SUBMIT_DIRECTORY_ENV]) if program else b""
        baseline = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
        return cls(
            package["ModelPackageVersion"],
            url,
            hashlib.sha256(artifact).hexdigest(),
            baseline,
            artifact,
            code,
            program,
        )


def _s3_bytes(aws: LocalAws, uri: str) -> bytes:
    bucket, key = s3_uri.split(uri, key_required=True)
    return bytes(aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


@dataclass
class LoopResult:
    timeline: Timeline
    closed: bool
    alarm_name: str | None = None
    model_version: int | None = None
    runs: list[ExecutionRecord] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    summary_file: Path | None = None
    denied_calls: list[Call] = field(default_factory=list)  # what IAM refused during the loop
    dashboard: Path | None = None  # the deployed dashboard's widgets drawn from the loop's metrics
    serving_stage: str = ""  # with stages: the stage whose endpoint closed the loop ("prod (2222...)")

    @property
    def final_line(self) -> str:
        if self.closed:
            where = f" to {self.serving_stage}" if self.serving_stage else ""
            return (
                f"retraining started by {self.alarm_name} -> model version {self.model_version} "
                f"registered and deployed{where}"
            )
        return "the loop did not close: see the timeline above"


# -- the loop ------------------------------------------------------------------------------------
class ClosedLoop:
    """One demo run: the local cloud, the endpoint, and what the loop saw on the way."""

    def __init__(self, settings: Settings, options: LoopOptions, timeline: Timeline) -> None:
        self.settings = settings
        self.options = options
        self.timeline = timeline
        self.runs: list[ExecutionRecord] = []
        self.definitions: dict[str, dict[str, Any]] = {}
        self.reports_dir = options.out_dir / "reports"
        self._pending: list[PipelineStart] = []

    def run(self) -> LoopResult:
        result = LoopResult(self.timeline, closed=False)
        synthesized = self._synthesized()
        self.definitions = synthesized.definitions
        cloud = LocalCloud(
            self.settings,
            self.definitions,
            cdk_out=synthesized.cdk_out,
            runs_dir=self.options.out_dir / "runs",
        )
        self.timeline.add(
            f"read {len(cloud.alarms)} alarms and {len(cloud.rules)} rules from {synthesized.cdk_out}",
            "alarms and routing come from the templates, so a wrong threshold or pattern shows here",
        )
        with cloud:
            self.timeline.add(
                f"AWS emulator on {cloud.aws.endpoint_url}", "moto on 127.0.0.1; no AWS account"
            )
            self.timeline.add(
                f"created pipelines {', '.join(self.definitions)} in the emulator",
                "as the pipeline stack does; the retrain guard starts executions through SageMaker's API",
            )
            with cloud.endpoint(port=self.options.port, seed=self.options.seed) as ep:
                try:
                    self._close(cloud=cloud, endpoint=ep, result=result)
                finally:
                    result.denied_calls = cloud.access.log.denied
            # After the endpoint has published its last minute of invocation metrics.
            started = min((r.started_at for r in self.runs if r.started_at), default=cloud.clock())
            margin = timedelta(minutes=DASHBOARD_MARGIN_MINUTES)
            result.dashboard = write_dashboard(
                self.settings,
                cloud.aws.clients.cloudwatch,
                started - margin,
                cloud.clock() + margin,
                self.options.out_dir,
            )
        self._add_iam_summary(cloud, result)
        result.runs = self.runs
        result.summary_file = self._write_summary(result)
        return result

    def _add_iam_summary(self, cloud: LocalCloud, result: LoopResult) -> None:
        calls = cloud.access.log.calls
        denied = ", ".join(
            f"{c.principal.rsplit('/', 1)[-1]}: {c.action} on {c.resource}" for c in result.denied_calls
        )
        self.timeline.add(
            f"IAM: {len(calls)} distinct calls authorized against the templates' policies, "
            f"{len(result.denied_calls)} denied" + (f" ({denied})" if denied else ""),
            "every call as its principal (job, function, pipeline, target role); `python -m pipelines "
            "iam-report` compares them with the grants",
            (str(cloud.runner.runs_dir / CALLS_FILE),),
        )

    def _synthesized(self) -> Synthesized:
        """The artifacts the loop runs on: synthesized now, or the caller's, said on the timeline."""
        if self.options.cdk_out is not None:
            assembly = assembled(self.settings, self.options.cdk_out)
            self.timeline.add(
                f"running on {len(assembly.definitions)} pipelines and the cloud assembly in "
                f"{self.options.cdk_out} as is",
                "given with --cdk-out: its pipelines, policies, alarms and rules, not synthesized again",
                (str(self.options.cdk_out),),
            )
            return assembly
        given = self.options.synthesized
        if given is not None:
            self.timeline.add(
                f"running on {len(given.definitions)} pipelines and the CDK app synthesized before",
                "given by the caller (LoopOptions.synthesized), from this checkout; not synthesized again",
                (str(given.cdk_out),),
            )
            return given
        synthesized = synthesize(
            self.settings, self.options.out_dir, cdk_validation=self.options.cdk_validation
        )
        validation = "on" if self.options.cdk_validation else "off (CDK_VALIDATION=false)"
        self.timeline.add(
            f"synthesized {len(synthesized.definitions)} pipelines and the CDK app",
            f"the loop runs the artifacts that would be deployed; CDK validation {validation}",
            (str(self.options.out_dir / "pipelines"), str(synthesized.cdk_out)),
        )
        return synthesized

    def _phases(
        self,
        cloud: LocalCloud,
        router: EventRouter,
        result: LoopResult,
        serve: Callable[[TrafficKind, str], object],
        stage: Stage | None = None,
    ) -> None:
        """Normal, then drifted input served (``serve``), each followed by the monitoring schedule
        and the alarms: normal must not alarm, drifted must move the drift alarm to ALARM (whose
        retraining then runs from ``_pending``). With ``stage``, the traffic is that stage's and
        so are the monitoring run and the drift alarm watched."""
        evaluator = cloud.alarm_evaluator()
        alarm = (
            self.settings.drift_alarm_name if stage is None else self.settings.stage_drift_alarm_name(stage)
        )
        endpoint = None if stage is None else self.settings.stage_endpoint_name(stage)
        for phase, kind in (("normal", TrafficKind.NORMAL), ("drifted", TrafficKind.DRIFTED)):
            serve(kind, phase)
            self._monitor(cloud, router, endpoint)
            if kind is TrafficKind.DRIFTED:
                self._land_labelled_data(cloud.aws)
            changed = self._evaluate(evaluator, router, result)
            while self._pending:
                self._run_pipeline(cloud, router, self._pending.pop(0))
            drift_state = evaluator.states[alarm].value
            if kind is TrafficKind.NORMAL and drift_state is AlarmState.ALARM:
                raise LoopError(
                    f"the drift alarm {alarm} fired on normal traffic: check the threshold in settings/infra"
                )
            if kind is TrafficKind.DRIFTED and not any(e.alarm.name == alarm for e in changed):
                raise LoopError(
                    f"drifted traffic did not move {alarm} to ALARM (state {drift_state}); see the monitoring report"
                )

    def _close(self, *, cloud: LocalCloud, endpoint: LocalEndpoint, result: LoopResult) -> None:
        if self.settings.serving.mode == BATCH:
            self._close_batch(cloud, result)
            return
        training = self.settings.training_pipeline_name
        # Pipeline starts wait in _pending, so they run after the delivery is on the timeline.
        router = cloud.event_router(self._pending.append)
        first = self._run_pipeline(cloud, router, PipelineStart(training, {}, "demo (first training)"))
        self._require_deployed(first)
        deployed = self._serving(endpoint)
        self.timeline.add(
            f"endpoint {endpoint.url} serves model version {deployed.model_version}",
            f"reconciled from the emulated control plane: {deployed.endpoint_config}",
        )
        self._promote(cloud, first)
        client = mode_client(self.settings, endpoint, cloud.aws.clients.s3)
        monitored = self.settings.monitored_stage
        if monitored is None:
            self._phases(cloud, router, result, lambda kind, phase: self._send(endpoint, client, kind, phase))
        else:
            self._stage_phases(cloud, router, result, monitored)
        retrained = [r for r in self.runs[1:] if r.pipeline_name == training]
        if not retrained:
            self.timeline.add("no retraining ran", "no rule delivered the alarm to a pipeline start")
            return
        last = retrained[-1]
        self._require_deployed(last)
        if self.settings.serving.new_model_as != REPLACE:
            self._ab_test(cloud, endpoint, client)
        deployed = self._serving(endpoint)
        version = (
            cloud.aws.clients.sagemaker.describe_model_package(ModelPackageName=last.model_package_arn)
        ).get("ModelPackageVersion")
        answer = client.invoke(to_csv_lines(generate(TrafficKind.NORMAL, 1, seed=1))[0])
        self.timeline.add(
            f"endpoint swapped to model version {deployed.model_version}; it answers {answer}",
            "the retraining's Deploy step (or, in an A/B or shadow test, the promote) updated the endpoint; "
            "the local endpoint followed",
        )
        self._require_retrained(cloud.aws, first, last)
        self._promote(cloud, last)
        self._save_lineage(cloud, last)
        served = deployed.model_version if monitored is None else self._stage_serves(cloud, monitored)
        result.closed = served == version and version is not None
        result.model_version = served
        result.serving_stage = "" if monitored is None else f"{monitored.name} ({monitored.account})"
        result.deliveries = router.deliveries

    def _close_batch(self, cloud: LocalCloud, result: LoopResult) -> None:
        """Serving mode batch: scheduled scoring -> monitoring of its capture -> drift alarm ->
        retraining -> the approved version becomes the batch model -> the next scoring uses it."""
        training = self.settings.training_pipeline_name
        router = cloud.event_router(self._pending.append)
        first = self._run_pipeline(cloud, router, PipelineStart(training, {}, "demo (first training)"))
        self._require_deployed(first)
        self.timeline.add(
            f"batch model {self.settings.batch_model_name} is model version {self._batch_model_version(cloud)}",
            "serving mode batch: the Deploy step pointed the batch pipeline's model at the approved package",
        )
        self._phases(cloud, router, result, lambda kind, phase: self._score(cloud, router, kind, phase))
        retrained = [r for r in self.runs[1:] if r.pipeline_name == training]
        if not retrained:
            self.timeline.add("no retraining ran", "no rule delivered the alarm to a pipeline start")
            return
        last = retrained[-1]
        self._require_deployed(last)
        version = cloud.aws.clients.sagemaker.describe_model_package(
            ModelPackageName=str(last.model_package_arn)
        ).get("ModelPackageVersion")
        scored = self._score(cloud, router, TrafficKind.NORMAL, "next")
        self.timeline.add(
            f"the next scoring run used model version {scored}",
            "the retraining's Deploy step made the batch model the new package; the scheduled run read it",
        )
        self._require_retrained(cloud.aws, first, last)
        self._save_lineage(cloud, last)
        result.closed = scored == version and version is not None
        result.model_version = scored
        result.deliveries = router.deliveries

    def _score(self, cloud: LocalCloud, router: EventRouter, kind: TrafficKind, phase: str) -> int | None:
        """Land a phase's records under the batch input prefix (one object per phase; earlier ones
        stay, as in a real prefix until someone moves them), fire the batch schedule and run the
        scoring it starts; returns the model version that scored."""
        rows = generate(
            kind, self.options.rows_per_phase, seed=self.options.seed, strength=self.options.drift_strength
        )
        bucket, prefix = s3_uri.split(self.settings.batch_input_uri)
        body = ("\n".join(to_csv_lines(rows)) + "\n").encode()
        cloud.aws.clients.s3.put_object(Bucket=bucket, Key=f"{prefix}{phase}.csv", Body=body)
        self.timeline.add(
            f"landed {len(rows)} {phase} records at {self.settings.batch_input_uri}{phase}.csv",
            "serving mode batch: records to score land under the input prefix",
        )
        name = self.settings.batch_pipeline_name
        self._run_scheduled(cloud, router, name)
        return self._batch_model_version(cloud)

    def _batch_model_version(self, cloud: LocalCloud) -> int | None:
        sagemaker = cloud.aws.clients.sagemaker
        model = sagemaker.describe_model(ModelName=self.settings.batch_model_name)
        package = (model.get("PrimaryContainer") or {}).get("ModelPackageName")
        return (
            sagemaker.describe_model_package(ModelPackageName=package).get("ModelPackageVersion")
            if package
            else None
        )

    # -- stages ------------------------------------------------------------------------------------
    def _promote(self, cloud: LocalCloud, record: ExecutionRecord) -> None:
        """With deployment stages (MLOPS_STAGES): the registered version through staging to prod,
        each in its own emulated account (docs/multi-account.md); nothing without stages."""
        if not self.settings.stages or record.model_package_arn is None:
            return
        promote_through_stages(
            self.settings,
            cloud.aws,
            cloud.access,
            cloud.lambdas,
            record.model_package_arn,
            note=self.timeline.add,
            router=cloud.event_router(self._pending.append),
        )

    @property
    def _in_build_account(self) -> str:
        """With stages, the timeline says which account each hop is in (a stage's own are named)."""
        return f" in the build account ({self.settings.account})" if self.settings.stages else ""

    def _stage_phases(self, cloud: LocalCloud, router: EventRouter, result: LoopResult, stage: Stage) -> None:
        """The traffic phases on the monitored stage's endpoint (prod), served locally as the stage's
        model role from the stage account's control plane; its capture lands in the build account's
        capture bucket, where the build account's prod schedule checks it."""
        with stage_endpoint(self.settings, cloud.aws, cloud.access, stage) as served:
            serve(served, cloud.access, stage)
            deployment = self._serving(served)
            self.timeline.add(
                f"{stage.name} ({stage.account}): endpoint {served.endpoint_name} at {served.url} serves "
                f"model version {deployment.model_version}; the traffic phases go to it",
                f"the build account ({self.settings.account}) monitors the last stage: its capture is in "
                f"{self.settings.capture_uri}/{served.endpoint_name}/ (staging sees only the staging test's rows)",
            )
            # A stage endpoint is real-time whatever the build endpoint's serving mode (deploy_to_stage).
            client = ModeClient(REALTIME, RuntimeClient(served.url))
            to = f" to {served.endpoint_name} in the {stage.name} account ({stage.account})"
            self._phases(
                cloud,
                router,
                result,
                lambda kind, phase: self._send(served, client, kind, phase, to=to),
                stage,
            )

    def _stage_serves(self, cloud: LocalCloud, stage: Stage) -> int | None:
        """The model version the stage's endpoint serves now, answering one request."""
        with stage_endpoint(self.settings, cloud.aws, cloud.access, stage) as served:
            serve(served, cloud.access, stage)
            deployment = self._serving(served)
            answer = RuntimeClient(served.url).invoke_endpoint(
                Body=to_csv_lines(generate(TrafficKind.NORMAL, 1, seed=1))[0] + "\n", ContentType=CSV
            )
            self.timeline.add(
                f"{stage.name} ({stage.account}): endpoint {served.endpoint_name} serves model version "
                f"{deployment.model_version}; it answers {bytes(answer['Body']).decode().strip()}",
                "the retrained version reached the monitored stage: the loop is closed across accounts",
            )
        return deployment.model_version

    def _run_pipeline(self, cloud: LocalCloud, router: EventRouter, start: PipelineStart) -> ExecutionRecord:
        shown = ", ".join(f"{k}={v}" for k, v in start.parameters.items()) or "defaults"
        self.timeline.add(
            f"run {start.pipeline_name} ({shown}){self._in_build_account}",
            f"requested by {start.requested_by}",
        )
        record = cloud.run(start.pipeline_name, start.parameters, execution_arn=start.execution_arn)
        self.runs.append(record)
        if record.succeeded:
            self.timeline.add(
                f"{start.pipeline_name} {record.status} ({record.execution_id})",
                _run_summary(record),
                (str(record.record_file),),
            )
        self._route_sagemaker_events(cloud, router, record)  # a failure notifies before the loop stops
        if not record.succeeded:
            raise LoopError(
                f"{start.pipeline_name} execution {record.execution_id} {record.status}: {record.failure_reason} "
                f"(record: {record.record_file})"
            )
        return record

    def _require_deployed(self, record: ExecutionRecord) -> None:
        status = _deploy_status(record)
        if status not in {"created", "updated", "unchanged"}:
            raise LoopError(
                f"{record.pipeline_name} {record.execution_id} did not deploy (deploy step: {status or 'skipped'}); "
                f"record: {record.record_file}"
            )

    def _serving(self, endpoint: LocalEndpoint) -> Deployment:
        """What the endpoint serves after a Deploy step said it deployed (so something must be)."""
        deployment = endpoint.reconcile()
        if deployment is None:
            raise LoopError(
                f"endpoint {self.settings.endpoint_name} is not in the emulator although the Deploy "
                "step reported it deployed; see the deploy step's log in the run record"
            )
        return deployment

    def _land_labelled_data(self, aws: LocalAws) -> None:
        """Write a new version of the raw dataset: the sample rows plus labelled drifted rows."""
        original = load_raw()
        new = labelled_drifted_rows(
            self.options.labelled_rows, seed=self.options.seed, strength=self.options.drift_strength
        )
        uri = self.settings.raw_data_uri
        bucket, key = s3_uri.split(uri, key_required=True)
        body = pd.concat([original, new], ignore_index=True).to_csv(index=False, float_format="%.6g")
        aws.clients.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        self.timeline.add(
            f"new labelled data landed at {uri}: {len(original)} sample rows + {len(new)} labelled rows "
            "of the drifted population",
            "what a data team does once drift shows; the object is overwritten in place, so only the "
            "retrain guard's new DataSnapshot (the alarm event's time) makes the retraining read it",
        )

    def _require_retrained(self, aws: LocalAws, first: ExecutionRecord, last: ExecutionRecord) -> None:
        """The retraining ran its job steps and registered a different model with a new baseline."""
        definition = read_definition(self.definitions[last.pipeline_name])
        cacheable = [step.name for step in definition.steps if step.cache.enabled]
        reused = [name for name in cacheable if last.steps[name].cache_hit]
        if reused:
            raise LoopError(
                f"the retraining {last.execution_id} reused cached steps {', '.join(reused)} "
                f"({params.DATA_SNAPSHOT}={last.parameters.get(params.DATA_SNAPSHOT)}): it did not read the "
                f"new data; record: {last.record_file}"
            )
        if first.model_package_arn is None or last.model_package_arn is None:
            raise LoopError("a training run registered no model package; see the run records")
        before = RegisteredModel.read(aws, first.model_package_arn)
        after = RegisteredModel.read(aws, last.model_package_arn)
        if after.artifact_sha256 == before.artifact_sha256 or after.model_data_url == before.model_data_url:
            raise LoopError(
                f"model version {after.version} has the same model as version {before.version} "
                f"({after.model_data_url}, sha256 {after.artifact_sha256[:12]}): the retraining did not retrain"
            )
        if after.statistics_uri == before.statistics_uri:
            raise LoopError(f"model version {after.version} kept version {before.version}'s baseline")
        self.timeline.add(
            f"retraining reran {', '.join(cacheable)} (no cache hits): model version {after.version} "
            f"sha256 {after.artifact_sha256[:12]} (version {before.version}: {before.artifact_sha256[:12]})",
            f"new model {after.model_data_url}; new baseline {after.statistics_uri}",
        )
        self._require_better(before, after)

    def _save_lineage(self, cloud: LocalCloud, last: ExecutionRecord) -> None:
        """Trace every registered model while the emulator still runs, and save each: `pipelines
        lineage <version> --demo-out <out>` shows them after the demo (its emulator is gone then)."""
        clients = cloud.aws.clients
        saved = {}
        for record in self.runs:
            if record.model_package_arn:
                found = lineage.trace(
                    clients.sagemaker, clients.s3, self.settings, record.model_package_arn,
                    runs_dir=cloud.runner.runs_dir, query_entities=False,  # moto has no QueryLineage
                )  # fmt: skip
                saved[record.model_package_arn] = (found, lineage.save(found, self.options.out_dir))
        found, path = saved[str(last.model_package_arn)]
        self.timeline.add(
            f"lineage of model version {found.model['version']}: commit {found.code['git_commit']}, "
            f"data sha256 {str(found.data['sha256'])[:12]} ({len(found.data['objects'])} object version(s)), "
            f"image {found.code['processing_image_tag']}, {found.trigger['detail'] or found.trigger['triggered_by']}",
            f"`python -m pipelines lineage {found.model['version']} --demo-out {self.options.out_dir}` shows it all",
            (str(path),),
        )

    def _require_better(self, before: RegisteredModel, after: RegisteredModel) -> None:
        """The retrained version predicts the drifted population better than the one it replaces."""
        fresh = labelled_drifted_rows(
            self.options.holdout_rows, seed=self.options.seed + 1, strength=self.options.drift_strength
        )
        gate = self.settings.example_spec.gate
        old, new = before.score(fresh, gate), after.score(fresh, gate)
        metric = gate.metric_path.split(".")[-2].upper()
        if not (new > old if gate.higher_is_better else new < old):
            raise LoopError(
                f"model version {after.version} is not better on the drifted population "
                f"({metric} {new:.3f} vs {old:.3f} for version {before.version}): review the new data and the quality gate"
            )
        self.timeline.add(
            f"on {len(fresh)} freshly drawn labelled rows of the drifted population: {metric} "
            f"version {before.version} {old:.3f} -> version {after.version} {new:.3f}",
            f"the retrained model learned the population the drift alarm saw ({metric} "
            f"{'higher' if gate.higher_is_better else 'lower'} is better: the example's quality gate metric)",
        )

    def _ab_test(self, cloud: LocalCloud, endpoint: LocalEndpoint, client: ModeClient) -> None:
        """The retrained model joined the champion (``serving.new_model_as``): send traffic, compare
        the variants on their own metrics, promote it, as ``pipelines variants report|promote`` do."""
        endpoint.reconcile()
        found = variants.variants(cloud.aws.clients.sagemaker, self.settings)
        self.timeline.add(
            "endpoint variants: "
            + ", ".join(
                f"{v.name} = version {v.version} ({'shadow' if v.shadow else f'weight {v.weight:g}'})"
                for v in found
            ),
            f"serving.new_model_as = {self.settings.serving.new_model_as}: the new model joins the champion "
            "instead of replacing it",
        )
        self._send(endpoint, client, TrafficKind.DRIFTED, "A/B test", batch_size=AB_BATCH_ROWS)
        start, end = variants.window(cloud.clock(), hours=1)
        metrics = variants.variant_metrics(
            cloud.aws.clients.cloudwatch, self.settings, [v.name for v in found], start, end
        )
        for v in found:
            m = metrics[v.name]
            self.timeline.add(
                f"{v.name} (version {v.version}): {m.invocations:g} invocations, {m.errors:g} errors, "
                f"latency p50 {m.latency_ms['p50'] or 0:.2f} ms, p99 {m.latency_ms['p99'] or 0:.2f} ms",
                "AWS/SageMaker metrics with dimension VariantName over the last hour, as `pipelines variants "
                "report` reads them (the champion's include the traffic before the test)",
            )
        promoted = variants.promote(cloud.aws.clients.client, self.settings)
        self.timeline.add(
            f"promoted {promoted['model_name']} to {self.settings.serving.variant_name} ({promoted['status']})",
            "`pipelines variants promote`: the new model's package deployed alone, by the deploy function's code",
        )

    def _send(
        self,
        endpoint: LocalEndpoint,
        client: ModeClient,
        kind: TrafficKind,
        phase: str,
        batch_size: int = 20,
        *,
        to: str = "",
    ) -> None:
        rows = generate(
            kind, self.options.rows_per_phase, seed=self.options.seed, strength=self.options.drift_strength
        )
        sent = client.send(to_csv_lines(rows), batch_size=batch_size)
        files = endpoint.flush() + client.flush()
        if sent.errors:
            raise LoopError(f"{phase} traffic: {len(sent.errors)} requests failed, first: {sent.errors[0]}")
        self.timeline.add(
            f"sent {sent.rows} {phase} rows{to} in {sent.requests} {client.mode} requests; {len(files)} capture files",
            CAPTURED_BY[client.mode],
            tuple(files[:1]),
        )

    def _monitor(self, cloud: LocalCloud, router: EventRouter, endpoint: str | None = None) -> None:
        """Fire the monitoring schedules' rules, run the monitoring pipeline they start, download the
        report of the run for ``endpoint`` (None: the build endpoint's, the only one without stages)
        and put its verdict on the timeline."""
        record = self._run_scheduled(cloud, router, self.settings.monitoring_pipeline_name, endpoint)
        s3 = cloud.aws.clients.s3
        report = MonitoringReport.read(s3, record)
        folder = self.reports_dir / record.execution_id
        report.download(s3, folder)
        if not report.summary:
            return
        self.timeline.add(
            f"monitoring verdict: {report.summary.get('verdict')} "
            f"(drifted share {report.summary.get('drifted_feature_share')})",
            "",
            (str(folder),),
        )

    def _run_scheduled(
        self, cloud: LocalCloud, router: EventRouter, name: str, endpoint: str | None = None
    ) -> ExecutionRecord:
        """Fire the templates' scheduled rules that start pipeline ``name`` and run each start (with
        stages, two start the monitoring pipeline: the build endpoint's and the prod endpoint's);
        returns the run for ``endpoint`` (None: the first)."""
        fired = router.fire_schedules(self.settings.pipeline_arn(name), cloud.clock())
        starts = [
            (d.rule, d.pipeline_start)
            for d in fired
            if d.pipeline_start and d.pipeline_start.pipeline_name == name
        ]
        if not starts:
            raise LoopError(
                f"no enabled scheduled rule in the templates starts {name}: see infra/monitoring.py"
            )
        runs = []
        for rule, start in starts:
            self._pending.remove(start)  # run here, after the schedule is on the timeline
            self.timeline.add(
                f"schedule {rule.name} ({rule.schedule}) fired -> {name}",
                "the scheduled rule of the templates, as EventBridge fires it",
            )
            runs.append((start, self._run_pipeline(cloud, router, start)))
        wanted = [
            r for s, r in runs if endpoint is None or s.parameters.get(params.ENDPOINT_NAME) == endpoint
        ]
        if not wanted:
            raise LoopError(
                f"no enabled scheduled rule in the templates starts {name} for {endpoint}: see infra/monitoring.py"
            )
        return wanted[0]

    def _evaluate(
        self, evaluator: AlarmEvaluator, router: EventRouter, result: LoopResult
    ) -> list[Evaluation]:
        at = datetime.now(UTC) + timedelta(minutes=1)  # the next once-a-minute evaluation
        changed = [e for e in evaluator.evaluate(at) if e.changed]
        states = _transitions(changed)
        self.timeline.add(
            f"alarms evaluated at {at:%H:%M}Z{self._in_build_account}: {states}",
            "CloudWatch's rules over the emulator's metrics",
        )
        for evaluation, event in ((e, e.event) for e in changed if e.event is not None):
            for delivery in router.route(event):
                self._add_delivery(f"{evaluation.alarm.name} {evaluation.state}", delivery)
                if delivery.pipeline_start and result.alarm_name is None:
                    result.alarm_name = evaluation.alarm.name
        return changed

    def _route_sagemaker_events(
        self, cloud: LocalCloud, router: EventRouter, record: ExecutionRecord
    ) -> None:
        """The events SageMaker would send for this execution, through the synthesized rules: the
        final status (a failure notifies), and the registered package's state (approved in our
        group: the deploy function, which finds the Deploy step's work done and answers unchanged)."""
        at = record.ended_at or record.started_at
        events = [pipeline_execution_status_change(record, self.settings.pipeline_arn(record.pipeline_name))]
        sagemaker = cloud.aws.clients.sagemaker
        if record.model_package_arn:
            package = sagemaker.describe_model_package(ModelPackageName=record.model_package_arn)
            events.append(model_package_state_change(package, at))
        if _deploy_status(record) in {"created", "updated"} and self.settings.serving.mode != BATCH:
            endpoint = sagemaker.describe_endpoint(EndpointName=self.settings.endpoint_name)
            tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
            events.append(endpoint_state_change(endpoint, {t["Key"]: t["Value"] for t in tags}, at))
        for event in events:
            for delivery in router.route(event):
                self._add_delivery(event["detail-type"], delivery)

    def _add_delivery(self, what: str, delivery: Delivery) -> None:
        answer = delivery.result if isinstance(delivery.result, dict) else {}
        outcome = delivery.error or answer.get("action") or answer.get("status") or delivery.kind
        stage = f" (stage {answer['stage']})" if answer.get("stage") else ""
        self.timeline.add(
            f"event {what} -> rule {delivery.rule.name} -> {delivery.kind} "
            f"{delivery.note or delivery.target.id}{stage}{self._in_build_account}: {outcome}",
            answer.get("reason", ""),
        )

    def _write_summary(self, result: LoopResult) -> Path:
        path = self.options.out_dir / "timeline.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "closed": result.closed,
            "final": result.final_line,
            "timeline": [e.__dict__ | {"paths": list(e.paths)} for e in self.timeline.entries],
            "denied_calls": [c.__dict__ | {"grants": list(c.grants)} for c in result.denied_calls],
            "runs": [
                {"pipeline": r.pipeline_name, "execution": r.execution_arn, "record": str(r.record_file)}
                for r in self.runs
            ],
        }
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        return path


def _deploy_status(record: ExecutionRecord) -> str | None:
    """What the execution's Deploy step (its Lambda step) answered: created, updated, unchanged."""
    deploy = next((s for s in record.steps.values() if s.type == "Lambda"), None)
    outputs = (deploy.properties.get("OutputParameters") if deploy else None) or {}
    status = outputs.get("status")
    return str(status) if status is not None else None


def _transitions(changed: list[Evaluation]) -> str:
    """ "a: OK->ALARM, 14 alarms INSUFFICIENT_DATA->OK": names only where few alarms moved together."""
    groups: dict[str, list[str]] = {}
    for evaluation in changed:
        groups.setdefault(f"{evaluation.previous}->{evaluation.state}", []).append(evaluation.alarm.name)
    parts = [
        f"{', '.join(names)}: {move}" if len(names) <= 4 else f"{len(names)} alarms {move}"
        for move, names in groups.items()
    ]
    return "; ".join(parts) or "no transitions"


def _run_summary(record: ExecutionRecord) -> str:
    package = record.model_package_arn
    parts = [
        f"{name}={record.parameters[name]}"
        for name in (params.TRIGGERED_BY, params.DATA_SNAPSHOT)
        if record.parameters.get(name)
    ]
    if package:
        parts.append(f"registered {package.rsplit('/', 2)[-2:][0]}/{package.rsplit('/', 1)[-1]}")
    cached = [name for name, step in record.steps.items() if step.cache_hit]
    if cached:
        parts.append(f"reused from the step cache (same inputs): {', '.join(cached)}")
    return "; ".join(parts)


def run_demo(
    settings: Settings, options: LoopOptions, listener: Callable[[Entry], None] | None = None
) -> LoopResult:
    """Run the whole loop; raises LoopError naming the stage that failed."""
    timeline = Timeline(listener=listener)
    return ClosedLoop(settings, options, timeline).run()
