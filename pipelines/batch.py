"""The batch scoring pipeline: one transform job scores the batch input prefix and captures it.

Serving mode ``batch`` has no endpoint: records land under ``settings.batch_input_uri`` and a
scheduled run of this pipeline scores them with a SageMaker batch transform job, writing
``<input object>.out`` files under ``<batch_output_uri>/<execution id>/``. The job's
``DataCaptureConfig`` writes its capture to ``settings.batch_capture_uri`` (the endpoint name's
capture folder), so the monitoring pipeline, the drift alarm and retraining apply unchanged
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-batch.html).

Which model scores: the ``ModelName`` parameter, whose default is ``settings.batch_model_name``,
one fixed model name that is made to refer to the latest approved package when a package is
approved. That keeps the pipeline a single Transform step with no lookup: a Lambda step resolving
"the latest approved package" would need its own function, role and grants, and a ModelStep from a
package ARN parameter would need someone to pass the ARN on every scheduled start (an EventBridge
schedule's target input is fixed). A transform job reads its model when it is created, so
replacing the model between two runs never changes a running job.
"""

from __future__ import annotations

import pipelines.sdk_session  # noqa: F401  (prepares the environment the SDK reads at import)

# isort: split
from sagemaker.core.inputs import BatchDataCaptureConfig
from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import TransformStep

from pipelines import parameters as p
from pipelines.job_steps import job_retry_policies, job_tags, sdk_parameters
from pipelines.sdk_session import OfflinePipelineSession
from pipelines.settings import Settings

SCORE = "ScoreBatch"
CSV = "text/csv"


def build_batch_pipeline(settings: Settings, session: OfflinePipelineSession) -> Pipeline:
    """The batch scoring pipeline for these settings.

    Not cached: the same arguments score different input on every run (new objects land under the
    input prefix), so a cache hit would silently skip scoring.
    """
    params = sdk_parameters(p.batch_parameters(settings))
    transformer = Transformer(
        model_name=params[p.MODEL_NAME],
        instance_type=params[p.TRANSFORM_INSTANCE_TYPE],
        instance_count=1,
        # One CSV line per record, many records per request, answers joined line by line: each
        # output line is the score of the input line at the same position.
        strategy="MultiRecord",
        assemble_with="Line",
        accept=CSV,
        output_path=Join(
            on="/", values=[settings.batch_output_uri, ExecutionVariables.PIPELINE_EXECUTION_ID]
        ),
        output_kms_key=settings.isolation.kms_key_arn,
        volume_kms_key=settings.isolation.kms_key_arn,
        tags=job_tags(settings),
        sagemaker_session=session,
    )
    step_args = transformer.transform(
        data=params[p.BATCH_INPUT_URI],
        data_type="S3Prefix",
        content_type=CSV,
        split_type="Line",
        batch_data_capture_config=BatchDataCaptureConfig(
            destination_s3_uri=settings.batch_capture_uri, kms_key_id=settings.isolation.kms_key_arn
        ),
    )
    score = TransformStep(
        name=SCORE,
        description="Score the batch input prefix with the batch model; capture inputs and outputs.",
        step_args=step_args,
        retry_policies=job_retry_policies(),
    )
    return Pipeline(
        name=settings.batch_pipeline_name,
        parameters=list(params.values()),
        steps=[score],
        sagemaker_session=session,
        pipeline_experiment_config=None,  # as the other pipelines: no Experiments records
    )
