"""The local cloud: the project's pipelines, alarms, rules and functions on this machine, no Docker, no AWS account.

:class:`LocalCloud` starts and stops it as one object: :class:`LocalAws` (moto's server on
127.0.0.1 seeded with the project's buckets and model package group), the pipelines created in it,
the alarms and rules of ``cdk.out``, the project's Lambda functions (:class:`LambdaRegistry`) and
:class:`LocalPipelineRunner`, which executes a definition JSON against the emulator and returns an
:class:`ExecutionRecord` (also written to ``<runs dir>/<execution id>/record.json``).
See docs/local-execution.md and docs/closed-loop.md.
"""

from localcloud.account import EmulatorError, LocalAws
from localcloud.awslambda import FunctionError, LambdaRegistry, UnknownFunctionError
from localcloud.cloud import LocalCloud, LocalCloudError, Synthesized, synthesize
from localcloud.sagemaker.executor.definition import DefinitionError
from localcloud.sagemaker.executor.engine import DEFAULT_RUNS_DIR, LocalPipelineRunner
from localcloud.sagemaker.executor.records import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus

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
    "StepRecord",
    "StepStatus",
    "Synthesized",
    "UnknownFunctionError",
    "synthesize",
]
