"""Pipeline parameter names, types and defaults: what an operator may change when starting a run.

Plain Python (no SDK) so the CLI, the retrain guard, the local executor and the docs can name a
parameter without importing the SageMaker SDK. The pipeline definitions turn these declarations
into SDK parameter objects (see ``pipelines/training.py`` and ``pipelines/monitoring.py``); nothing else
spells a parameter name.

Everything an operator might reasonably change per run is a parameter; everything that changes
what the pipeline *is* (step graph, images, output layout) is a setting, so it shows up in a
definition diff instead of hiding in an execution's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipelines.settings import UNKNOWN_COMMIT, Settings

ParameterType = Literal["String", "Integer", "Float"]

# -- training pipeline -------------------------------------------------------------------------
INPUT_DATA_URL = "InputDataUrl"
DATA_SNAPSHOT = "DataSnapshot"
PROCESSING_INSTANCE_TYPE = "ProcessingInstanceType"
PROCESSING_INSTANCE_COUNT = "ProcessingInstanceCount"
TRAINING_INSTANCE_TYPE = "TrainingInstanceType"
TRAINING_INSTANCE_COUNT = "TrainingInstanceCount"
MAX_TUNING_JOBS = "MaxTuningJobs"
MAX_PARALLEL_TUNING_JOBS = "MaxParallelTuningJobs"
QUALITY_THRESHOLD = "QualityThreshold"
MODEL_APPROVAL_STATUS = "ModelApprovalStatus"
GIT_COMMIT = "GitCommit"
TRIGGERED_BY = "TriggeredBy"

# -- monitoring pipeline -----------------------------------------------------------------------
ENDPOINT_NAME = "EndpointName"
WINDOW_HOURS = "WindowHours"
BASELINE_URI = "BaselineUri"
GROUND_TRUTH_URI = "GroundTruthUri"
MONITORING_INSTANCE_TYPE = "MonitoringInstanceType"
STAGE = "Stage"

MANUAL_TRIGGER = "manual"  # TriggeredBy for a run started by a person
INITIAL_SNAPSHOT = "initial"  # DataSnapshot until someone says the data behind InputDataUrl changed


@dataclass(frozen=True)
class ParameterDeclaration:
    """One pipeline parameter: its name, SageMaker type, default and what it is for.

    ``allowed`` (String only) becomes the parameter's ``EnumValues``, so SageMaker itself rejects
    a start request with any other value.
    """

    name: str
    type: ParameterType
    default: str | int | float
    description: str
    allowed: tuple[str, ...] = ()


def training_parameters(settings: Settings) -> list[ParameterDeclaration]:
    """The training pipeline's parameters in declaration order.

    The tuning limits exist only when tuning is enabled: a declared parameter that no step reads
    would let an operator change a value that does nothing.
    """
    declarations = [
        ParameterDeclaration(
            INPUT_DATA_URL,
            "String",
            settings.raw_data_uri,
            f"S3 URI of the raw {settings.example} CSV (an object or a prefix of CSV shards).",
        ),
        ParameterDeclaration(
            DATA_SNAPSHOT,
            "String",
            INITIAL_SNAPSHOT,
            "Version of the data behind InputDataUrl (e.g. when it landed). Steps are cached per "
            "snapshot: a new value re-reads the data and reruns every step after it; the same value "
            "reuses cached steps.",
        ),
        ParameterDeclaration(
            PROCESSING_INSTANCE_TYPE,
            "String",
            settings.processing.instance_type,
            "Instance type of the preprocess, baseline and evaluate jobs.",
        ),
        ParameterDeclaration(
            PROCESSING_INSTANCE_COUNT,
            "Integer",
            settings.processing.instance_count,
            "Preprocess instances; more than 1 shards the input by S3 key.",
        ),
        ParameterDeclaration(
            TRAINING_INSTANCE_TYPE,
            "String",
            settings.training.instance_type,
            "Instance type of the training (or each tuning) job.",
        ),
        ParameterDeclaration(
            TRAINING_INSTANCE_COUNT,
            "Integer",
            settings.training.instance_count,
            "Instances per training job.",
        ),
    ]
    if settings.training.tuning_enabled:
        declarations += [
            ParameterDeclaration(
                MAX_TUNING_JOBS,
                "Integer",
                settings.training.tuning_max_jobs,
                "Training jobs the tuning job may launch in total.",
            ),
            ParameterDeclaration(
                MAX_PARALLEL_TUNING_JOBS,
                "Integer",
                settings.training.tuning_max_parallel_jobs,
                "Training jobs the tuning job runs at once.",
            ),
        ]
    declarations += [
        ParameterDeclaration(
            QUALITY_THRESHOLD,
            "Float",
            settings.quality_gate.threshold,
            f"Quality gate: {settings.quality_gate.metric_path} must be "
            f"{settings.quality_gate.comparison} this to register the model.",
        ),
        ParameterDeclaration(
            MODEL_APPROVAL_STATUS,
            "String",
            settings.model_approval_status,
            "Approval status of the registered package; Approved deploys at once"
            + (
                " (not allowed here: a person approves in the registry)." if settings.manual_approval else "."
            ),
            settings.registrable_approval_statuses,
        ),
        ParameterDeclaration(
            GIT_COMMIT,
            "String",
            settings.source_commit,
            "Commit the definition was built from (lineage; baked in at upsert/deploy, "
            f"{UNKNOWN_COMMIT!r} when not given; '-dirty' marks uncommitted changes).",
        ),
        ParameterDeclaration(
            TRIGGERED_BY,
            "String",
            MANUAL_TRIGGER,
            "Why the run started (manual, schedule, drift alarm, ...); stored on the model package.",
        ),
    ]
    return declarations


def monitoring_parameters(settings: Settings) -> list[ParameterDeclaration]:
    """The monitoring pipeline's parameters in declaration order."""
    return [
        ParameterDeclaration(
            ENDPOINT_NAME, "String", settings.endpoint_name, "Endpoint whose captured traffic is checked."
        ),
        ParameterDeclaration(
            WINDOW_HOURS,
            "Integer",
            settings.monitoring.window_hours,
            "Hours of capture, ending at the execution's start time, to check.",
        ),
        ParameterDeclaration(
            BASELINE_URI,
            "String",
            "",
            "S3 prefix with statistics.json and constraints.json; empty = the deployed model "
            "package's drift baseline.",
        ),
        ParameterDeclaration(
            GROUND_TRUTH_URI,
            "String",
            settings.ground_truth_uri,
            "S3 root of the labels (`pipelines labels upload`), read below <root>/<endpoint>/; "
            "empty = data quality only.",
        ),
        ParameterDeclaration(
            MONITORING_INSTANCE_TYPE,
            "String",
            settings.monitoring.instance_type,
            "Instance type of the monitoring job.",
        ),
        ParameterDeclaration(
            STAGE,
            "String",
            "",
            "Deployment stage whose endpoint (EndpointName, in the stage's account) is checked; its "
            "served version is the one the registry records as deployed there last. Empty = an "
            "endpoint of this account.",
        ),
    ]


MODEL_NAME = "ModelName"
BATCH_INPUT_URI = "InputUri"
TRANSFORM_INSTANCE_TYPE = "TransformInstanceType"


def batch_parameters(settings: Settings) -> list[ParameterDeclaration]:
    """The batch scoring pipeline's parameters in declaration order."""
    return [
        ParameterDeclaration(
            MODEL_NAME,
            "String",
            settings.batch_model_name,
            "SageMaker model that scores; the default always refers to the latest approved package.",
        ),
        ParameterDeclaration(
            BATCH_INPUT_URI,
            "String",
            settings.batch_input_uri,
            "S3 prefix of the CSV records to score (no header, the training features' order).",
        ),
        ParameterDeclaration(
            TRANSFORM_INSTANCE_TYPE,
            "String",
            settings.serving.instance_type,
            "Instance type of the transform job.",
        ),
    ]
