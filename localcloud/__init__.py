"""The local cloud: the project's AWS, emulated on this machine with no Docker and no AWS account.

One module per emulated service: ``account`` (moto on 127.0.0.1), ``s3_objects`` (moving job data),
``cloudformation`` (reading ``cdk.out``), ``awslambda`` (the project's functions), ``cloudwatch``
(alarm evaluation), ``eventbridge`` (rule routing) and ``sagemaker`` (the pipeline executor and the
local endpoint); for pipelines this project did not write, ``seeding`` (their data into S3) and
``user_pipeline`` (building one from the user's code, in the user's interpreter). :class:`LocalCloud` starts and stops them as one object: :class:`LocalAws` (moto's
server seeded with the project's buckets and model package group), the pipelines created in it, the
alarms and rules of ``cdk.out``, the project's Lambda functions (:class:`LambdaRegistry`) and
:class:`LocalPipelineRunner`, which executes a definition JSON against the emulator and returns an
:class:`ExecutionRecord` (also written to ``<runs dir>/<execution id>/record.json``). ``stories``
tells the closed loop and ``simulate`` with them. See docs/local-execution.md and docs/closed-loop.md.
"""

from localcloud.account import EmulatorError, LocalAws
from localcloud.awslambda import FunctionError, LambdaRegistry, UnknownFunctionError
from localcloud.cloud import LocalCloud, LocalCloudError, Synthesized, synthesize
from localcloud.sagemaker.executor.engine import DEFAULT_RUNS_DIR, LocalPipelineRunner, prepare
from localcloud.sagemaker.executor.records import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus
from pipelines.definition import DefinitionError, ParameterError

__all__ = [
    "DEFAULT_RUNS_DIR",
    "DefinitionError",
    "EmulatorError",
    "ExecutionRecord",
    "ExecutionStatus",
    "FunctionError",
    "LambdaRegistry",
    "LocalAws",
    "LocalCloud",
    "LocalCloudError",
    "LocalPipelineRunner",
    "ParameterError",
    "StepRecord",
    "StepStatus",
    "Synthesized",
    "UnknownFunctionError",
    "prepare",
    "synthesize",
]
