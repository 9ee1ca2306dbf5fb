"""The local cloud: the project's AWS, emulated on this machine with no Docker and no AWS account.

``account`` (moto on 127.0.0.1), ``sagemaker`` (the pipeline executor and the local endpoint),
``cloudwatch`` (alarm evaluation), ``eventbridge`` (rule routing), ``cloudformation`` (reading
``cdk.out``) and ``s3_objects`` (moving job data); ``stories`` tells the closed loop and
``simulate`` with them. This package exports what running a pipeline definition locally needs:
:class:`LocalAws` is moto's server on 127.0.0.1 seeded with the project's buckets and model
package group; :class:`LocalPipelineRunner` executes a definition JSON against it and returns an
:class:`ExecutionRecord` (also written to ``<runs dir>/<execution id>/record.json``).
See docs/local-execution.md.
"""

from localcloud.account import EmulatorError, LocalAws
from localcloud.sagemaker.executor.engine import DEFAULT_RUNS_DIR, LocalPipelineRunner, prepare
from localcloud.sagemaker.executor.records import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus
from localcloud.sagemaker.executor.steps.lambda_function import LambdaRegistry
from pipelines.definition import DefinitionError, ParameterError

__all__ = [
    "DEFAULT_RUNS_DIR",
    "DefinitionError",
    "EmulatorError",
    "ExecutionRecord",
    "ExecutionStatus",
    "LambdaRegistry",
    "LocalAws",
    "LocalPipelineRunner",
    "ParameterError",
    "StepRecord",
    "StepStatus",
    "prepare",
]
