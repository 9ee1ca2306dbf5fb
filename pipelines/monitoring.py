"""The monitoring pipeline: one processing job that checks an endpoint's captured traffic for drift.

It runs ``processing_scripts.monitor`` (the project's own drift engine, in the project's image)
on a schedule. The job reads the capture window straight from S3, compares it with the baseline
registered next to the deployed model, writes a report and publishes the CloudWatch metrics the
drift alarms watch. Its arguments are exactly the interface in ``processing_scripts.monitor``;
every value comes from the settings or a pipeline parameter.
"""

from __future__ import annotations

import pipelines.sdk_session  # noqa: F401  (prepares the environment the SDK reads at import)

# isort: split
from sagemaker.core.processing import Processor
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import Parameter
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep

from pipelines import parameters as p
from pipelines.job_steps import (
    container_arguments,
    execution_output_uri,
    job_retry_policies,
    s3_input,
    s3_output,
    script_processor,
    sdk_parameters,
)
from pipelines.sdk_session import OfflinePipelineSession
from pipelines.settings import Settings
from processing_scripts import contract

MONITOR = "MonitorDataQuality"
PROFILE = "ProfileCaptureShards"  # only with monitoring.instance_count > 1
REPORT_OUTPUT = "report"
PARTIALS_OUTPUT = "partials"


def build_monitoring_pipeline(settings: Settings, session: OfflinePipelineSession) -> Pipeline:
    """The monitoring pipeline for these settings.

    Not cached: identical arguments cover different traffic on every run (the window ends at the
    execution's start time), so a cache hit would silently skip a check.

    With ``monitoring.instance_count`` above 1 the check is sharded and takes two steps: the
    instances of one processing job cannot talk to each other, so a profile job on that many
    instances writes one partial profile per instance, and a one-instance merge job (still named
    ``MonitorDataQuality``, with the same outputs) turns them into the check's files and metrics.
    With 1 it is the single job, unchanged.
    """
    params = sdk_parameters(p.monitoring_parameters(settings))
    endpoint = params[p.ENDPOINT_NAME]
    arguments = _monitor_arguments(settings, params)
    report = s3_output(
        REPORT_OUTPUT,
        contract.Monitor.REPORT,
        Join(on="/", values=[settings.reports_uri, endpoint, ExecutionVariables.PIPELINE_EXECUTION_ID]),
    )
    steps: list[ProcessingStep] = []
    inputs = None
    if settings.monitoring.instance_count > 1:
        shards = _processor(settings, session, params, settings.monitoring.instance_count).run(
            outputs=[
                s3_output(
                    PARTIALS_OUTPUT,
                    contract.Monitor.PARTIALS,
                    execution_output_uri(
                        settings, settings.monitoring_pipeline_name, PROFILE, PARTIALS_OUTPUT
                    ),
                )
            ],
            arguments=container_arguments([*arguments, ("--mode", contract.Monitor.PROFILE_MODE)]),
        )
        profile = ProcessingStep(
            name=PROFILE,
            description="Profile each instance's share of the capture window into a partial profile.",
            step_args=shards,
            retry_policies=job_retry_policies(),
        )
        steps.append(profile)
        partials = profile.properties.ProcessingOutputConfig.Outputs[PARTIALS_OUTPUT].S3Output.S3Uri
        inputs = [s3_input(PARTIALS_OUTPUT, partials, contract.Monitor.PARTIALS_INPUT)]
        arguments = [*arguments, ("--mode", contract.Monitor.MERGE_MODE)]
    step_args = _processor(settings, session, params, 1).run(
        inputs=inputs, outputs=[report], arguments=container_arguments(arguments)
    )
    steps.append(
        ProcessingStep(
            name=MONITOR,
            description="Compare the capture window with the baseline; publish drift metrics and a report.",
            step_args=step_args,
            retry_policies=job_retry_policies(),
        )
    )
    return Pipeline(
        name=settings.monitoring_pipeline_name,
        parameters=list(params.values()),
        steps=steps,
        sagemaker_session=session,
        # No SageMaker Experiments: lineage is the model package's metadata (GitCommit,
        # TriggeredBy, metrics) and the execution itself; the SDK's default would make every run
        # create an experiment and a trial, which needs sagemaker:CreateExperiment/CreateTrial/...
        # on the pipeline role for records nobody reads.
        pipeline_experiment_config=None,
    )


def _processor(
    settings: Settings, session: OfflinePipelineSession, params: dict[str, Parameter], instances: int
) -> Processor:
    return script_processor(
        settings,
        session,
        "monitor",
        params[p.MONITORING_INSTANCE_TYPE],
        instance_count=instances,
    )


def _monitor_arguments(settings: Settings, params: dict[str, Parameter]) -> list[tuple[str, object]]:
    """``processing_scripts.monitor``'s interface, every value from the settings or a parameter."""
    endpoint = params[p.ENDPOINT_NAME]
    mon = settings.monitoring
    return [
        ("--capture-uri", Join(on="/", values=[settings.capture_uri, endpoint])),
        ("--endpoint-name", endpoint),
        ("--window-hours", _text(params[p.WINDOW_HOURS])),
        ("--window-end", ExecutionVariables.START_DATETIME),
        ("--baseline-uri", params[p.BASELINE_URI]),
        ("--ground-truth-uri", params[p.GROUND_TRUTH_URI]),
        ("--metric-namespace", mon.metric_namespace),
        ("--endpoint-dimension", mon.endpoint_dimension),
        ("--schedule-dimension", mon.schedule_dimension),
        ("--schedule-name", settings.monitoring_schedule_name),
        ("--feature-metric-prefix", mon.feature_drift_metric_prefix),
        ("--share-metric", mon.drifted_share_metric),
        ("--violations-metric", mon.violations_metric),
        ("--share-threshold", str(settings.alarms.drift_share_threshold)),
        ("--execution-id", ExecutionVariables.PIPELINE_EXECUTION_ID),
        ("--stage", params[p.STAGE]),
        *_stage_arguments(settings),
        *_model_quality_arguments(settings),
    ]


def _stage_arguments(settings: Settings) -> list[tuple[str, str]]:
    """With deployment stages: the stage this pipeline may check (``Stage``), where the registry
    records what it serves, and its schedule's name (the metrics' schedule dimension)."""
    stage = settings.monitored_stage
    if stage is None:
        return []
    return [
        ("--monitored-stage", stage.name),
        ("--model-package-group", settings.model_package_group),
        ("--stage-deployed-key", settings.stage_approval_key(stage, "deployed-at")),
        ("--stage-schedule-name", settings.stage_monitoring_schedule_name(stage)),
    ]


def _model_quality_arguments(settings: Settings) -> list[tuple[str, str]]:
    """The labels' window and the names the quality alarm reads (processing_scripts.model_quality)."""
    quality = settings.model_quality
    return [
        ("--quality-namespace", quality.metric_namespace),
        ("--quality-endpoint-dimension", quality.endpoint_dimension),
        ("--quality-metrics", ",".join(quality.metrics[settings.problem_type])),
        ("--merged-labels-metric", quality.merged_labels_metric),
        ("--evaluation-metric-prefix", quality.evaluation_metric_prefix),
        ("--label-delay-hours", str(quality.label_delay_hours)),
        ("--quality-window-hours", str(quality.window_hours)),
    ]


def _text(parameter: Parameter) -> Join:
    """A non-string parameter as a string: container arguments are strings."""
    return parameter.to_string()
