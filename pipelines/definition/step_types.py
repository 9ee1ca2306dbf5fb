"""Every step type a definition may contain, and what the model needs to know about each.

Adding a step type is one :class:`StepType` entry here (its readable properties, its step-level
fields, branches, where its references are, caching) plus, to run it locally, one runner in
``localcloud/sagemaker/executor``. Names are the ``Type`` the SageMaker SDK writes (its
``StepTypeEnum``: ``Model``, not ``CreateModel``); the list is every type SDK 2.x and 3.x emit
(each is in an SDK-built fixture, ``tests/pipelines/fixtures/sdk*``) except 3.x's ``Job``, which
its SDK cannot build yet. Where a step's properties come from mirrors the SDK's ``Properties`` of
that step class (a Describe*/Get* response shape in botocore's service model, fixed paths, maps
keyed by what the step creates, the outputs the step declares, its body steps' properties).
``@step`` function steps and notebook jobs are written as ``Training`` steps.
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
    response_shapes: tuple[str, ...] = ()  # Describe*/List*/Get* output shapes the properties come from
    service: str = "sagemaker"  # the botocore service model holding those shapes
    fixed_properties: tuple[str, ...] = ()  # property paths that are not in a response shape
    declared_outputs: bool = False  # OutputParameters['<name>'] for each of the step's OutputParameters
    # Properties that are maps keyed by the names of what the step's arguments create:
    # property -> (the Arguments list, its items' name field), e.g. a Lineage step's
    # ActionArns['<ActionName of one of its Actions>'].
    named_properties: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    property_files: bool = False  # may declare PropertyFiles, read with Std:JsonGet
    branches: tuple[str, ...] = ()  # Arguments fields holding the steps of each branch (or body)
    # A ForEach step: IterationOutputs[<i>].<body step>.<property> and Selected.<property> are
    # properties of its body steps (Selected: of the one its Selector compares).
    iterations: bool = False
    reference_fields: tuple[tuple[str, ...], ...] = (ARGUMENTS,)  # where its own references are
    # Fields the type has beside the ones every step may have (Name, Type, Arguments, DependsOn,
    # ...): the service reads them, so their references count as the step's own too.
    step_fields: tuple[str, ...] = ()
    job_variable: str | None = None  # the Execution variable naming this step's own job
    cacheable: bool = False  # SageMaker accepts a CacheConfig on it
    cache_key: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def scanned_fields(self) -> tuple[tuple[str, ...], ...]:
        """Every place of the step that may hold its references."""
        return (*self.reference_fields, *((name,) for name in self.step_fields))


def a_step(type_name: str) -> str:
    """How findings name a type's steps: "a Processing step", "an EMR step"."""
    return f"{'an' if type_name[:1] in 'AEIOU' else 'a'} {type_name} step"


def _key(*attributes: str, **children: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({**dict.fromkeys(attributes, ()), **children})


_CHECK_KEY = ("CheckJobConfig", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName")
# The step-level fields of QualityCheck and ClarifyCheck steps (the published schema's, and
# FailOnViolation, which the SDK writes and the service reads).
_CHECK_FIELDS = ("CheckType", "FailOnViolation", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName")
_DECLARED_OUTPUTS = "OutputParameters"

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
            StepType(
                "ForEach",  # SDK 3.x: runs its body steps once per item
                fixed_properties=(
                    "Status",
                    "InputItemCount",
                    "TotalStepCount",
                    "SucceededStepCount",
                    "FailedStepCount",
                    "StoppedStepCount",
                ),
                branches=("ForEachBody",),
                iterations=True,
                # body steps read for themselves; the Selector's IterationOutput is the step's own
                reference_fields=(("Arguments", "IterableItems"), ("Arguments", "Selector")),
            ),
            StepType(
                "Lambda",
                declared_outputs=True,
                step_fields=("FunctionArn", _DECLARED_OUTPUTS),
                cacheable=True,
            ),
            StepType(
                "Callback",
                declared_outputs=True,
                step_fields=("SqsQueueUrl", _DECLARED_OUTPUTS),
                cacheable=True,
            ),
            StepType(
                "QualityCheck",
                fixed_properties=(
                    "CalculatedBaselineConstraints",
                    "CalculatedBaselineStatistics",
                    "BaselineUsedForDriftCheckStatistics",
                    "BaselineUsedForDriftCheckConstraints",
                ),
                step_fields=(*_CHECK_FIELDS, "SuppliedBaselineStatistics", "SuppliedBaselineConstraints"),
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
                step_fields=(*_CHECK_FIELDS, "SuppliedBaselineConstraints", "ModelName"),
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
                "EMRServerless",  # SDK 3.x only; not in the published schema
                response_shapes=("GetJobRunResponse",),
                service="emr-serverless",
                cacheable=True,  # the SDK offers a CacheConfig; its key is not documented
            ),
            StepType(
                "AutoML",
                # The SDK's properties are DescribeAutoMLJob's; the service runs AutoML V2 jobs
                # too, whose Describe response names some fields differently.
                response_shapes=("DescribeAutoMLJobResponse", "DescribeAutoMLJobV2Response"),
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
            StepType("Cleanup"),  # SDK 3.x: deletes its sources' S3 outputs; no properties
            StepType("InferenceComponent", response_shapes=("DescribeInferenceComponentOutput",)),
            StepType(
                "Lineage",
                fixed_properties=("Associations",),
                named_properties=MappingProxyType(
                    {
                        "ActionArns": ("Actions", "ActionName"),
                        "ArtifactArns": ("Artifacts", "ArtifactName"),
                        "ContextArns": ("Contexts", "ContextName"),
                    }
                ),
            ),
            # Cacheable: the SDK's step classes write a CacheConfig for both; no key is documented.
            StepType("EndpointConfig", response_shapes=("DescribeEndpointConfigOutput",), cacheable=True),
            StepType("Endpoint", response_shapes=("DescribeEndpointOutput",), cacheable=True),
        )
    }
)
STEP_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        name: tuple(entry.name for entry in STEP_TYPES.values() if name in entry.step_fields)
        for name in sorted({name for entry in STEP_TYPES.values() for name in entry.step_fields})
    }
)
"""Each type-specific step-level field -> the step types that have it."""
JOB_VARIABLES: Mapping[str, str] = MappingProxyType(
    {entry.job_variable: entry.name for entry in STEP_TYPES.values() if entry.job_variable}
)
