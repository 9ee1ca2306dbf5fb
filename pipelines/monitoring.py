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
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import Parameter
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep

from pipelines import parameters as p
from pipelines.job_steps import (
    container_arguments,
    job_retry_policies,
    s3_output,
    script_processor,
    sdk_parameters,
)
from pipelines.sdk_session import OfflinePipelineSession
from pipelines.settings import Settings
from processing_scripts import contract, dataset

MONITOR = "MonitorDataQuality"
REPORT_OUTPUT = "report"


def build_monitoring_pipeline(settings: Settings, session: OfflinePipelineSession) -> Pipeline:
    """The monitoring pipeline for these settings.

    Not cached: identical arguments cover different traffic on every run (the window ends at the
    execution's start time), so a cache hit would silently skip a check.
    """
    params = sdk_parameters(p.monitoring_parameters(settings))
    endpoint = params[p.ENDPOINT_NAME]
    mon = settings.monitoring
    processor = script_processor(
        settings,
        session,
        "monitor",
        params[p.MONITORING_INSTANCE_TYPE],
        # The job calls S3 and CloudWatch itself; name the region rather than rely on the platform.
        environment={"AWS_DEFAULT_REGION": settings.region},
    )
    step_args = processor.run(
        outputs=[
            s3_output(
                REPORT_OUTPUT,
                contract.Monitor.REPORT,
                Join(
                    on="/",
                    values=[settings.reports_uri, endpoint, ExecutionVariables.PIPELINE_EXECUTION_ID],
                ),
            )
        ],
        arguments=container_arguments(
            [
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
                *_model_quality_arguments(settings),
            ]
        ),
    )
    monitor = ProcessingStep(
        name=MONITOR,
        description="Compare the capture window with the baseline; publish drift metrics and a report.",
        step_args=step_args,
        retry_policies=job_retry_policies(),
    )
    return Pipeline(
        name=settings.monitoring_pipeline_name,
        parameters=list(params.values()),
        steps=[monitor],
        sagemaker_session=session,
        # No SageMaker Experiments: lineage is the model package's metadata (GitCommit,
        # TriggeredBy, metrics) and the execution itself; the SDK's default would make every run
        # create an experiment and a trial, which needs sagemaker:CreateExperiment/CreateTrial/...
        # on the pipeline role for records nobody reads.
        pipeline_experiment_config=None,
    )


def _model_quality_arguments(settings: Settings) -> list[tuple[str, str]]:
    """The labels' window and the names the quality alarm reads (processing_scripts.model_quality)."""
    quality = settings.model_quality
    return [
        ("--quality-namespace", quality.metric_namespace),
        ("--quality-endpoint-dimension", quality.endpoint_dimension),
        ("--quality-metrics", ",".join(quality.metrics[dataset.PROBLEM_TYPE])),
        ("--merged-labels-metric", quality.merged_labels_metric),
        ("--evaluation-metric-prefix", quality.evaluation_metric_prefix),
        ("--label-delay-hours", str(quality.label_delay_hours)),
        ("--quality-window-hours", str(quality.window_hours)),
    ]


def _text(parameter: Parameter) -> Join:
    """A non-string parameter as a string: container arguments are strings."""
    return parameter.to_string()
