"""Every step type a definition may contain, and what the model needs to know about each.

Adding a step type is one :class:`StepType` entry here (its readable properties, branches, where
its references are, caching) plus, to run it locally, one runner in
``localcloud/sagemaker/executor``. Names are the ``Type`` the SageMaker SDK writes (its
``StepTypeEnum``: ``Model``, not ``CreateModel``); where a step's properties come from mirrors the
SDK's ``Properties`` of that step class (a Describe* response shape in botocore's service model,
or a fixed set of paths, or the outputs the step declares).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ARGUMENTS = ("Arguments",)


@dataclass(frozen=True)
class StepType:
    """One step type.

    ``cache_key`` is SageMaker's documented list of the arguments that decide a cache hit
    (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html), each with the
    children that count (empty: all of it); empty for a type whose key is not documented.
    """

    name: str
    response_shapes: tuple[str, ...] = ()  # Describe*/List* output shapes the properties come from
    service: str = "sagemaker"  # the botocore service model holding those shapes
    fixed_properties: tuple[str, ...] = ()  # property paths that are not in a response shape
    declared_outputs: bool = False  # OutputParameters['<name>'] for each of the step's OutputParameters
    property_files: bool = False  # may declare PropertyFiles, read with Std:JsonGet
    branches: tuple[str, ...] = ()  # Arguments fields holding the steps of each branch
    reference_fields: tuple[tuple[str, ...], ...] = (ARGUMENTS,)  # where its own references are
    job_variable: str | None = None  # the Execution variable naming this step's own job
    cacheable: bool = False  # SageMaker accepts a CacheConfig on it
    cache_key: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


def _key(*attributes: str, **children: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({**dict.fromkeys(attributes, ()), **children})


_CHECK_KEY = ("CheckJobConfig", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName")

STEP_TYPES: Mapping[str, StepType] = MappingProxyType(
    {
        entry.name: entry
        for entry in (
            StepType(
                "Processing",
                response_shapes=("DescribeProcessingJobResponse",),
                property_files=True,
                job_variable="ProcessingJobName",
                cacheable=True,
                cache_key=_key("AppSpecification", "Environment", "ProcessingInputs"),
            ),
            StepType(
                "Training",
                response_shapes=("DescribeTrainingJobResponse",),
                job_variable="TrainingJobName",
                cacheable=True,
                cache_key=_key(
                    "AlgorithmSpecification",
                    "CheckpointConfig",
                    "DebugHookConfig",
                    "DebugRuleConfigurations",
                    "Environment",
                    "HyperParameters",
                    "InputDataConfig",
                ),
            ),
            StepType(
                "Tuning",
                response_shapes=(
                    "DescribeHyperParameterTuningJobResponse",
                    "ListTrainingJobsForHyperParameterTuningJobResponse",
                ),
                cacheable=True,
                cache_key=_key(
                    "HyperParameterTuningJobConfig",
                    "TrainingJobDefinitions",
                    TrainingJobDefinition=(
                        "AlgorithmSpecification",
                        "HyperParameterRanges",
                        "InputDataConfig",
                        "StaticHyperParameters",
                        "TuningObjective",
                    ),
                ),
            ),
            StepType(
                "Transform",
                response_shapes=("DescribeTransformJobResponse",),
                cacheable=True,
                cache_key=_key("DataProcessing", "Environment", "ModelName", "TransformInput"),
            ),
            StepType("Model", response_shapes=("DescribeModelOutput",)),
            StepType("RegisterModel", response_shapes=("DescribeModelPackageOutput",)),
            StepType(
                "Condition",
                fixed_properties=("Outcome",),
                branches=("IfSteps", "ElseSteps"),
                reference_fields=(("Arguments", "Conditions"),),  # branch steps read for themselves
            ),
            StepType("Fail"),
            StepType("Lambda", declared_outputs=True, cacheable=True),
            StepType("Callback", declared_outputs=True, cacheable=True),
            StepType(
                "QualityCheck",
                fixed_properties=(
                    "CalculatedBaselineConstraints",
                    "CalculatedBaselineStatistics",
                    "BaselineUsedForDriftCheckStatistics",
                    "BaselineUsedForDriftCheckConstraints",
                ),
                cacheable=True,
                cache_key=_key(
                    "QualityCheckConfig",
                    *_CHECK_KEY,
                    "SuppliedBaselineConstraints",
                    "SuppliedBaselineStatistics",
                ),
            ),
            StepType(
                "ClarifyCheck",
                fixed_properties=("CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints"),
                cacheable=True,
                cache_key=_key("ClarifyCheckConfig", *_CHECK_KEY, "SuppliedBaselineConstraints"),
            ),
            StepType(
                "EMR",
                response_shapes=("Step",),
                service="emr",
                cacheable=True,
                cache_key=_key("ClusterId", "StepConfig"),
            ),
            StepType(
                "AutoML",
                response_shapes=("DescribeAutoMLJobResponse",),
                fixed_properties=(
                    "BestCandidateProperties.ModelInsightsJsonReportPath",
                    "BestCandidateProperties.ExplainabilityJsonReportPath",
                ),
                cacheable=True,
                cache_key=_key(
                    "AutoMLJobObjective",
                    "InputDataConfig",
                    "ProblemType",
                    AutoMLJobConfig=(
                        "CompletionCriteria",
                        "CandidateGenerationConfig",
                        "DataSplitConfig",
                        "Mode",
                    ),
                ),
            ),
        )
    }
)
JOB_VARIABLES: Mapping[str, str] = MappingProxyType(
    {entry.job_variable: entry.name for entry in STEP_TYPES.values() if entry.job_variable}
)
