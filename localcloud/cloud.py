"""The local cloud as one object: started and stopped together, wired once the way the stacks wire AWS.

A story (the closed-loop demo, ``simulate``) and ``run-local`` all need the same parts, put
together the same way; this object owns them so no caller assembles them by hand:

- the emulator (:class:`LocalAws`), with the pipelines created in it as the pipeline stack creates
  them (the retrain guard starts executions through SageMaker's API, so they must exist);
- the templates read from ``cdk.out`` (:class:`TemplateSet`): the alarms CloudWatch would evaluate
  and the rules EventBridge would route;
- the project's Lambda functions (:class:`LambdaRegistry`): one registry for the pipelines' Lambda
  steps and the rules' Lambda targets;
- the pipeline runner (:class:`LocalPipelineRunner`), which executes the pipelines' definitions;
- for a pipeline that is not the project's (``run-local``'s "bring your own pipeline"): the buckets
  its definition names, the user's seeds (:mod:`localcloud.seeding`), the user's Lambda handlers
  (:class:`UserHandler`, run in the user's interpreter) and pipelines added once the emulator runs
  (:meth:`LocalCloud.add_pipeline`: one built by the user's own code, see :mod:`localcloud.user_pipeline`);
- one clock for what stamps time (the runner's execution variables and records, the endpoint's
  capture, the alarms' creation): the wall clock, or a story's simulated one.

It builds, on request, the alarm evaluator, the event router and the local endpoint.
:func:`synthesize` produces what it runs, from this checkout::

    synthesized = synthesize(settings, Path("build/loop"), cdk_validation=False)
    with LocalCloud(settings, synthesized.definitions, cdk_out=synthesized.cdk_out) as cloud:
        record = cloud.run(settings.training_pipeline_name)
        evaluator, router = cloud.alarm_evaluator(), cloud.event_router(start_pipeline=starts.append)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import seeding
from localcloud.account import LocalAws
from localcloud.awslambda import (
    FunctionError,
    LambdaRegistry,
    UnknownFunctionError,
    UserFunction,
    UserHandler,
)
from localcloud.clock import Clock, utc_now
from localcloud.cloudformation import TemplateSet
from localcloud.cloudwatch import AlarmDefinition, AlarmEvaluator, load_alarms
from localcloud.eventbridge import EventRouter, PipelineStart, Rule, load_invoke_configs, load_rules
from localcloud.iam import AccessControl, PolicyStore
from localcloud.lifecycle import Service
from localcloud.moto_extensions import lambda_invoke
from localcloud.sagemaker.endpoint import LocalEndpoint
from localcloud.sagemaker.executor.engine import DEFAULT_RUNS_DIR, LocalPipelineRunner
from localcloud.sagemaker.executor.preflight import Stubs
from localcloud.sagemaker.executor.progress import ProgressListener
from localcloud.sagemaker.executor.records import ExecutionRecord
from localcloud.seeding import Seed
from pipelines.definition import ParameterValue, PipelineDefinition
from pipelines.settings import (
    GIT_COMMIT_ENV,
    PIPELINE_ROLE,
    REPO_ROOT,
    SERVING_MODE_ENV,
    STAGES_ENV,
    Settings,
    format_stages,
)

Definitions = Mapping[str, Mapping[str, Any]]  # pipeline name -> definition JSON


class LocalCloudError(RuntimeError):
    """The local cloud cannot do what was asked (synthesis failed, unknown pipeline); one line."""


@dataclass(frozen=True)
class Synthesized:
    """What would be deployed: the pipeline definitions and the CDK app's templates."""

    definitions: dict[str, dict[str, Any]]
    cdk_out: Path


def synthesize(settings: Settings, out_dir: Path, *, cdk_validation: bool) -> Synthesized:
    """The pipeline JSON (``out_dir/pipelines``) and the CDK app (``out_dir/cdk.out``), freshly synthesized.

    The CDK app runs as ``app.py`` in a subprocess, as ``cdk synth`` would run it, with the
    settings' environment, account and region; ``cdk_validation`` turns on the CDK's own
    CloudFormation validation (slow; CI keeps it on). Everything lands under ``out_dir``, so a
    story never overwrites the ``cdk.out`` of the user's own ``make synth``, and two stories never
    write the same folder. The two are independent (``app.py`` renders the pipelines itself), so the
    pipeline JSON is written while the CDK app runs: the synthesis takes as long as the slower one.
    """
    from pipelines.synth import write_pipelines

    env = {
        **os.environ,
        "MLOPS_ENV": settings.env,
        "MLOPS_ACCOUNT": settings.account,
        "MLOPS_REGION": settings.region,
        # The same GitCommit default in the templates' pipelines as in the JSON written here.
        GIT_COMMIT_ENV: settings.source_commit,
        SERVING_MODE_ENV: settings.serving.mode,  # the templates' alarms and grants are the mode's
        "MLOPS_EXAMPLE": settings.example,  # the templates' names, alarms and dashboard are the example's
        STAGES_ENV: format_stages(settings.stages),
        "CDK_VALIDATION": "true" if cdk_validation else "false",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    python = REPO_ROOT / ".venv" / "bin" / "python"
    # Its errors go to a file, not a pipe: a pipe nobody reads while the JSON is written could fill
    # and stall the app.
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            [str(python if python.exists() else sys.executable), str(REPO_ROOT / "app.py")],
            cwd=out_dir,  # app.py writes cdk.out/ in its working directory
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        ) as app,
    ):
        try:
            written = write_pipelines(settings, out_dir / "pipelines")
        except BaseException:
            app.kill()  # leaving the block waits for it: no CDK app keeps running
            raise
        if app.wait() != 0:
            errors.seek(0)
            tail = "\n".join(errors.read().strip().splitlines()[-15:])
            raise LocalCloudError(f"app.py (CDK synth) failed with exit {app.returncode}:\n{tail}")
    return Synthesized({p.stem: json.loads(p.read_text()) for p in written}, out_dir / "cdk.out")


def assembled(settings: Settings, cdk_out: Path) -> Synthesized:
    """An existing cloud assembly, as is (no synthesis): the pipelines are the definitions its
    ``AWS::SageMaker::Pipeline`` resources embed, so a hand-edited policy or definition in ``cdk_out``
    is exactly what runs."""
    templates = TemplateSet.load(settings, cdk_out)
    definitions: dict[str, dict[str, Any]] = {}
    for resource in templates.resources("AWS::SageMaker::Pipeline"):
        body = (templates.property(resource, "PipelineDefinition") or {}).get("PipelineDefinitionBody")
        if not isinstance(body, str):
            raise LocalCloudError(
                f"{resource.where('PipelineDefinition')}: no PipelineDefinitionBody (a definition in S3 "
                "cannot be read offline)"
            )
        try:
            definitions[str(templates.property(resource, "PipelineName"))] = json.loads(body)
        except json.JSONDecodeError as err:
            raise LocalCloudError(f"{resource.where('PipelineDefinitionBody')}: not JSON ({err})") from err
    if not definitions:
        raise LocalCloudError(f"{cdk_out}: no AWS::SageMaker::Pipeline in the templates")
    return Synthesized(definitions, Path(cdk_out))


class LocalCloud(Service):
    """The emulator, the deployed pipelines, alarms, rules and functions, and the pipeline runner.

    Use it as a context manager: the emulator starts (seeded, pipelines created) on entry and stops
    on exit, also on Ctrl-C or an exception. Without ``cdk_out`` there are no alarms and no rules
    (``run-local`` needs neither). The templates are read when the object is made, so a bad
    ``cdk.out`` is reported before the emulator starts.
    """

    def __init__(
        self,
        settings: Settings,
        definitions: Definitions,
        *,
        cdk_out: Path | None = None,
        runs_dir: Path = DEFAULT_RUNS_DIR,
        clock: Clock = utc_now,
        use_cache: bool = True,
        progress: ProgressListener | None = None,
        lambdas: LambdaRegistry | None = None,
        seeds: Sequence[Seed] = (),
        user_handlers: Sequence[UserHandler] = (),
        user_python: str = sys.executable,
    ) -> None:
        """``seeds`` go into S3 when the emulator starts; ``user_handlers`` are Lambda functions
        the definitions name that are not the project's, run with ``user_python``."""
        self.settings = settings
        self.definitions = dict(definitions)
        self.clock = clock
        self.templates = TemplateSet.load(settings, cdk_out) if cdk_out is not None else None
        self.alarms: list[AlarmDefinition] = load_alarms(self.templates) if self.templates else []
        self.rules: list[Rule] = load_rules(self.templates) if self.templates else []
        self.invoke_configs = load_invoke_configs(self.templates) if self.templates else {}
        self.aws = LocalAws(settings)
        self.lambdas = (lambdas or LambdaRegistry.for_project(settings)).with_user_functions(
            tuple(
                UserFunction(handler, user_python, self.aws.process_environment) for handler in user_handlers
            )
        )
        self.seeds = tuple(seeds)
        self.seeded: list[str] = []  # the object URIs the seeds wrote, once started
        # IAM is enforced when there are policies to enforce: the templates' (read now, so a policy
        # that cannot be resolved is reported before the emulator starts).
        self.access = AccessControl(
            self.aws, PolicyStore.from_templates(self.templates) if self.templates else None
        )
        self.runner = LocalPipelineRunner(
            settings,
            self.aws,
            runs_dir,
            use_cache=use_cache,
            lambdas=self.lambdas,
            progress=progress,
            clock=clock,
            access=self.access,
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the emulator, create the buckets the definitions name, upload the seeds and
        create the pipelines."""
        self.aws.start()
        try:
            self.seeded = seeding.seed(self.aws, self.definitions.values(), self.seeds)
            for name in self.definitions:
                self.create_pipeline(name)
            self.access.activate()
            lambda_invoke.install(self._invoke)  # a client's lambda:Invoke (e.g. `pipelines promote`)
        except BaseException:
            self.aws.stop()
            raise

    def stop(self) -> None:
        """Stop the emulator and forget its state; the calls IAM saw go to the runs directory
        (``iam-calls.json``, read by ``python -m pipelines iam-report``). Safe to call twice."""
        if self.aws.running:
            lambda_invoke.install(None)
            self.access.deactivate()
            self.access.write_calls(self.runner.runs_dir)
        self.aws.stop()

    # -- what runs in it --------------------------------------------------------------------------
    def create_pipeline(self, name: str) -> None:
        """Create pipeline ``name`` in the emulator, as the pipeline stack does in the account."""
        self.aws.clients.sagemaker.create_pipeline(
            PipelineName=name,
            PipelineDefinition=json.dumps(self._definition(name)),
            RoleArn=self.access.pipeline_role(name) or self.settings.role_arn(PIPELINE_ROLE),
        )

    def add_pipeline(self, name: str, definition: Mapping[str, Any]) -> None:
        """Add a pipeline to the running cloud (one the user's code built against it): its
        buckets are created and the pipeline is created in the emulator."""
        self.definitions[name] = definition
        seeding.seed(self.aws, [definition], ())
        self.create_pipeline(name)

    def prepare(
        self, pipeline_name: str, parameters: Mapping[str, Any] | None = None, *, stubs: Collection[str] = ()
    ) -> tuple[PipelineDefinition, dict[str, ParameterValue]]:
        """The pre-flight, without running anything (see :meth:`LocalPipelineRunner.prepare`)."""
        return self.runner.prepare(self._definition(pipeline_name), parameters, stubs=stubs)

    def run(
        self,
        pipeline_name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        execution_arn: str | None = None,
        stubs: Stubs | None = None,
    ) -> ExecutionRecord:
        """Execute the pipeline's definition locally (see :meth:`LocalPipelineRunner.run`)."""
        return self.runner.run(
            self._definition(pipeline_name),
            parameters,
            pipeline_name=pipeline_name,
            execution_arn=execution_arn,
            stubs=stubs,
        )

    def alarm_evaluator(self) -> AlarmEvaluator:
        """CloudWatch's evaluation of the templates' alarms over the emulator's metrics, created now."""
        return AlarmEvaluator(
            self.alarms,
            self.aws.clients.cloudwatch,
            self.settings.account,
            self.settings.region,
            created_at=self.clock(),
            cloudwatch_in=lambda account, region: self.aws.administrator(account, region).cloudwatch,
        )

    def event_router(self, start_pipeline: Callable[[PipelineStart], Any]) -> EventRouter:
        """EventBridge over the templates' rules; ``start_pipeline`` gets every pipeline start."""
        return EventRouter(
            rules=self.rules,
            settings=self.settings,
            client=self.aws.clients.client,
            start_pipeline=start_pipeline,
            lambdas=self.lambdas,
            invoke_configs=self.invoke_configs,
            access=self.access,
            client_in=lambda account, region: self.aws.administrator(account, region).client,
        )

    def endpoint(self, *, port: int | None = None, seed: int | None = None) -> LocalEndpoint:
        """The local endpoint serving what the emulator says is deployed, on this cloud's clock."""
        return LocalEndpoint(
            self.settings, self.aws.clients, port=port, seed=seed, clock=self.clock, access=self.access
        )

    def _invoke(self, function_name: str, event: Any) -> tuple[Any, str | None] | None:
        """Lambda's Invoke of one of this cloud's functions, as its role (None: not one of them)."""
        try:
            function = self.lambdas.function(function_name)
        except UnknownFunctionError:
            return None
        try:
            return function.invoke(event, self.access.function_clients(function.arn, function.name)), None
        except FunctionError as err:
            return str(err), type(err.__cause__ or err).__name__

    def _definition(self, name: str) -> Mapping[str, Any]:
        if name not in self.definitions:
            known = ", ".join(self.definitions) or "none"
            raise LocalCloudError(f"no definition for pipeline {name!r} in the local cloud (known: {known})")
        return self.definitions[name]
