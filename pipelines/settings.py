"""The project's single source of truth: names, ARNs, prefixes, instance types and thresholds.

The CDK stacks, the pipeline definitions, the CLI, the local executor and the tests all read this
module; nothing here is spelled anywhere else. It is plain Python (no SDK, no CDK) so importing it is
instant.

Select an environment with ``--env`` on the CLI, ``-c env=prod`` for ``cdk``, or ``MLOPS_ENV``.
The account and region are inputs too (``MLOPS_ACCOUNT``/``MLOPS_REGION``, or ``CDK_DEFAULT_*``)
because the pipeline JSON and the templates must be synthesizable offline and byte-identically: they
never come from an STS call. The default account is a documented placeholder used by the local run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from processing_scripts import example as examples
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.split_schema import BINARY_CLASSIFICATION, REGRESSION

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "prod")
DEFAULT_ENV = "dev"
PLACEHOLDER_ACCOUNT = "123456789012"  # moto's default account; replace with yours to deploy
DEFAULT_REGION = "us-east-1"
# The commit the pipelines were built from, baked into their GitCommit parameter default at
# upsert/deploy time (never read from git during a plain synth, which must stay deterministic).
GIT_COMMIT_ENV = "MLOPS_GIT_COMMIT"
UNKNOWN_COMMIT = "unknown"  # GitCommit when nobody said which commit the definition came from


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message says which and how to fix it."""


# The frameworks a script-mode model may use: ``ScriptModel.framework`` -> the SDK's image catalogue
# name (``sagemaker/core/image_uri_config/<name>.json``). XGBoost in framework mode is the same
# image as the built-in algorithm, running the user's script instead.
SCRIPT_FRAMEWORKS = {"sklearn": "sklearn", "xgboost": "xgboost"}
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-HyperParameters
# (keys: up to 256 characters, values up to 2500); names the training toolkit reserves start with sagemaker_.
MAX_HYPERPARAMETER_NAME = 256
MAX_HYPERPARAMETER_VALUE = 2500


@dataclass(frozen=True)
class ScriptModel:
    """A model the user writes (SageMaker "script mode"): their training script runs in an AWS
    framework image, and the same folder's ``model_fn``/``input_fn``/``predict_fn``/``output_fn``
    serve it. The contract is in docs/training-pipeline.md, "Bring your own model".

    * ``framework``: a key of :data:`SCRIPT_FRAMEWORKS` (``sklearn``; ``xgboost`` framework mode).
    * ``framework_version``: the image version, one the SageMaker SDK's catalogue has for both
      training and inference (``1.9-0`` for sklearn); the project image evaluates the model, so a
      pickled model must load with the scikit-learn there (processing_scripts/requirements.txt).
    * ``py_version``: the image's Python (``py3`` for the scikit-learn images).
    * ``source_dir``: the folder with the code, relative to the repository root
      (``examples/credit/model``); packed into ``sourcedir.tar.gz`` (a ``requirements.txt`` there is
      installed by the image at training time).
    * ``entry_point``: the training script in ``source_dir`` (``train.py``).
    * ``inference_entry_point``: the file with the serving hooks; empty means ``entry_point``.
    * ``hyperparameters``: passed to the script as ``--name value`` (and ``SM_HP_<NAME>``).
    """

    source_dir: str
    framework: str = "sklearn"
    framework_version: str = "1.9-0"
    py_version: str = "py3"
    entry_point: str = "train.py"
    inference_entry_point: str = ""
    hyperparameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.framework not in SCRIPT_FRAMEWORKS:
            raise SettingsError(
                f"training.script.framework {self.framework!r} is not supported; use one of "
                f"{', '.join(SCRIPT_FRAMEWORKS)}"
            )
        folder = Path(self.source_dir)
        if not self.source_dir or ".." in folder.parts:
            raise SettingsError(
                f"training.script.source_dir {self.source_dir!r} must be a folder, relative to the "
                "repository's root (e.g. examples/credit/model) or, for an example kept outside the "
                "checkout, absolute"
            )
        if not self.path.is_dir():
            raise SettingsError(
                f"training.script.source_dir {self.source_dir!r}: no such folder ({self.path})"
            )
        for what, name in (
            ("entry_point", self.entry_point),
            ("inference_entry_point", self.serving_program),
        ):
            if not name.endswith(".py") or "/" in name or not (self.path / name).is_file():
                raise SettingsError(
                    f"training.script.{what} {name!r} must be a .py file directly in {self.source_dir}"
                )
        for name, value in self.hyperparameters.items():
            if not isinstance(value, str):
                raise SettingsError(
                    f"training.script.hyperparameters[{name!r}] must be a string, got {value!r}"
                )
            if not name or name.startswith("sagemaker_") or len(name) > MAX_HYPERPARAMETER_NAME:
                raise SettingsError(
                    f"training.script.hyperparameters: {name!r} is not a name SageMaker passes to a script "
                    f"(1-{MAX_HYPERPARAMETER_NAME} characters, not starting with sagemaker_)"
                )
            if len(value) > MAX_HYPERPARAMETER_VALUE:
                raise SettingsError(
                    f"training.script.hyperparameters[{name!r}] is longer than {MAX_HYPERPARAMETER_VALUE} characters"
                )

    @property
    def serving_program(self) -> str:
        """The module the serving container imports (``SAGEMAKER_PROGRAM``)."""
        return self.inference_entry_point or self.entry_point

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.source_dir  # an absolute source_dir stays itself


def _default_example() -> examples.Example:
    """The defaults below come from the default example's description (examples/abalone/example.toml);
    :func:`load` replaces them with the selected example's."""
    return examples.load(examples.DEFAULT_EXAMPLE)


MAX_PROCESSING_INSTANCES = 100  # ProcessingClusterConfig.InstanceCount's maximum


@dataclass(frozen=True)
class TrainingConfig:
    """How the model is trained and tuned. Hyperparameter names are the built-in XGBoost's (they and
    the tuning objective come from the example's ``[model]``); with ``script`` set, the user's
    script-mode model is trained instead (its own hyperparameters)."""

    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    max_runtime_seconds: int = 3600
    # The built-in algorithm image. It must match the xgboost in the project image
    # (processing_scripts/requirements.txt): 1.x images write a binary model format that
    # xgboost >= 3.1 can no longer read, so evaluation and the endpoint would fail to load it.
    xgboost_version: str = "3.2-0"
    hyperparameters: dict[str, str] = field(
        default_factory=lambda: dict(_default_example().model.hyperparameters)
    )
    # None: the built-in XGBoost algorithm above; a ScriptModel: the user's code in a framework image.
    script: ScriptModel | None = None
    # Tuning replaces the plain training step when enabled (see docs/training-pipeline.md); built-in
    # XGBoost only.
    tuning_enabled: bool = False
    tuning_objective: str = field(default_factory=lambda: _default_example().model.tuning_objective)
    tuning_objective_type: str = field(default_factory=lambda: _default_example().model.tuning_objective_type)
    tuning_max_jobs: int = 6
    tuning_max_parallel_jobs: int = 2
    # name -> (min, max); continuous unless both bounds are ints.
    tuning_ranges: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "eta": (0.05, 0.5),
            "max_depth": (3, 8),
            "min_child_weight": (1.0, 10.0),
            "subsample": (0.5, 1.0),
        }
    )

    def __post_init__(self) -> None:
        if self.script is not None and self.tuning_enabled:
            raise SettingsError(
                "training.tuning_enabled works with the built-in XGBoost only; a script-mode model "
                "(training.script) trains with its own hyperparameters: set tuning_enabled=False"
            )


@dataclass(frozen=True)
class ProcessingConfig:
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    max_runtime_seconds: int = 3600
    split_seed: int = 42
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class QualityGate:
    """The condition step: register only if the metric at ``metric_path`` passes the threshold (the
    example's ``[gate]``)."""

    metric_path: str = field(default_factory=lambda: _default_example().gate.metric_path)
    # "LessThanOrEqualTo" for errors, "GreaterThanOrEqualTo" for scores such as AUC.
    comparison: str = field(default_factory=lambda: _default_example().gate.comparison)
    threshold: float = field(default_factory=lambda: _default_example().gate.threshold)


REALTIME = "realtime"
SERVERLESS = "serverless"
ASYNC = "async"
BATCH = "batch"
# How the model serves (docs/serving.md): instance-backed real time, serverless (scales to zero,
# pay per request), asynchronous (requests queued in S3, scales to zero on an empty queue), or no
# endpoint at all: scheduled batch transform jobs over an S3 input prefix (the ``batch`` pipeline).
SERVING_MODES = (REALTIME, SERVERLESS, ASYNC, BATCH)
SERVING_MODE_ENV = "MLOPS_SERVING_MODE"  # overrides serving.mode of the selected environment
# ServerlessConfig limits (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html):
# MemorySizeInMB 1024..6144 in 1024 MB steps; MaxConcurrency 1..200; ProvisionedConcurrency 1..200
# and at most MaxConcurrency.
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200


@dataclass(frozen=True)
class ServerlessSettings:
    """A serverless endpoint's capacity: memory (which also sizes its vCPUs) and concurrency."""

    memory_size_mb: int = 2048
    max_concurrency: int = 5
    provisioned_concurrency: int = 0  # 0: none (cold starts after idle periods are accepted)

    def __post_init__(self) -> None:
        source = "(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html)"
        if self.memory_size_mb not in SERVERLESS_MEMORY_SIZES_MB:
            raise SettingsError(
                f"serving.serverless.memory_size_mb={self.memory_size_mb} must be 1024..6144 in 1024 MB steps "
                f"{source}"
            )
        if not 1 <= self.max_concurrency <= SERVERLESS_MAX_CONCURRENCY:
            raise SettingsError(
                f"serving.serverless.max_concurrency={self.max_concurrency} must be 1..{SERVERLESS_MAX_CONCURRENCY} {source}"
            )
        if not 0 <= self.provisioned_concurrency <= self.max_concurrency:
            raise SettingsError(
                f"serving.serverless.provisioned_concurrency={self.provisioned_concurrency} must be 0 (none) "
                f"..max_concurrency ({self.max_concurrency}) {source}"
            )


@dataclass(frozen=True)
class AsyncSettings:
    """An asynchronous endpoint: its queue, its scaling on the queue and the alarms on it.

    Capacity scales between 0 and ``max_capacity`` on ``ApproximateBacklogSizePerInstance``; from
    zero only the ``HasBacklogWithoutCapacity`` step policy can wake it, as AWS documents
    (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html).
    """

    max_concurrent_invocations_per_instance: int = 4
    max_capacity: int = 2
    target_backlog_per_instance: float = 5.0
    # Alarms (the metrics of https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html).
    oldest_request_age_threshold_seconds: int = 900
    invocation_failures_threshold: int = 0  # any failed invocation in a period alarms

    def __post_init__(self) -> None:
        # AsyncInferenceClientConfig.MaxConcurrentInvocationsPerInstance: 1..1000
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AsyncInferenceClientConfig.html)
        if not 1 <= self.max_concurrent_invocations_per_instance <= 1000:
            raise SettingsError(
                "serving.async_inference.max_concurrent_invocations_per_instance="
                f"{self.max_concurrent_invocations_per_instance} must be 1..1000"
            )
        if self.max_capacity < 1:
            raise SettingsError(
                f"serving.async_inference.max_capacity={self.max_capacity} must be at least 1"
            )
        if not self.target_backlog_per_instance > 0:
            raise SettingsError(
                f"serving.async_inference.target_backlog_per_instance={self.target_backlog_per_instance} "
                "must be above 0 (queued requests per instance that target tracking keeps)"
            )


# serving.new_model_as: how an approved model enters the endpoint (see ServingConfig).
NEW_MODEL_AS = ("replace", "challenger", "shadow")


@dataclass(frozen=True)
class ServingConfig:
    mode: str = REALTIME  # one of SERVING_MODES; MLOPS_SERVING_MODE overrides it
    serverless: ServerlessSettings = field(default_factory=ServerlessSettings)  # mode serverless only
    async_inference: AsyncSettings = field(default_factory=AsyncSettings)  # mode async only
    # mode batch only: when EventBridge starts the batch pipeline (docs/serving.md#batch-scoring)
    batch_schedule_expression: str = "rate(1 hour)"
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    min_capacity: int = 1
    max_capacity: int = 2
    target_invocations_per_instance: int = 1000
    capture_sampling_percentage: int = 100
    # Blue/green with automatic rollback on the endpoint alarms. SageMaker refuses a canary larger
    # than half the fleet (10 % of one instance rounds up to the whole instance), so a single
    # instance shifts ALL_AT_ONCE and bakes; CANARY needs 2+ instances (prod).
    traffic_routing: str = "ALL_AT_ONCE"  # or CANARY
    canary_size_percent: int = 10  # CANARY only
    canary_wait_seconds: int = 300  # the bake time: after the canary, or after all at once
    termination_wait_seconds: int = 300
    local_port: int = 0  # the local endpoint's port; 0 picks a free one (it lives only as long as the run)
    variant_name: str = "AllTraffic"  # the champion's production variant (alarms' dimension)
    # How a newly approved model enters the endpoint (docs/variants.md): ``replace`` the champion
    # (blue/green), or join it as a ``challenger`` variant taking ``challenger_weight`` of the
    # traffic, or as a ``shadow`` variant that gets a copy of every request and answers none.
    # ``pipelines variants promote|rollback`` ends the test.
    new_model_as: str = "replace"
    challenger_weight: float = 0.1
    challenger_variant_name: str = "Challenger"
    shadow_variant_name: str = "Shadow"

    def __post_init__(self) -> None:
        if self.new_model_as not in NEW_MODEL_AS:
            raise SettingsError(
                f"serving.new_model_as {self.new_model_as!r} is not one of {', '.join(NEW_MODEL_AS)}"
            )
        if not 0 < self.challenger_weight < 1:
            raise SettingsError(
                f"serving.challenger_weight {self.challenger_weight} must be between 0 and 1 "
                "(the challenger's share of the traffic, e.g. 0.1)"
            )
        names = (self.variant_name, self.challenger_variant_name, self.shadow_variant_name)
        if len(set(names)) != len(names):
            raise SettingsError(f"serving: the variant names {names} must differ")
        if self.mode not in SERVING_MODES:
            raise SettingsError(
                f"serving.mode {self.mode!r} is not one of {', '.join(SERVING_MODES)} (set {SERVING_MODE_ENV})"
            )
        if self.mode == SERVERLESS and self.new_model_as != NEW_MODEL_AS[0]:
            # "multiple production variants" is a serverless feature exclusion
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
            raise SettingsError(
                f"serving.new_model_as {self.new_model_as!r} needs a second variant, which a serverless "
                "endpoint cannot have; use replace, or serve realtime/async for an A/B or shadow test"
            )


@dataclass(frozen=True)
class IsolationConfig:
    """Encryption and network boundaries of the jobs and the endpoint. All off by default (the
    buckets are KMS-encrypted regardless); each one set appears in the pipeline definitions, the
    deploy function's requests and the roles' grants.

    * ``kms_key_arn``: the key of job outputs and ML storage volumes (processing, training, tuning),
      the endpoint's volumes and its data capture. The roles are granted its use; its key policy
      must allow the account's IAM policies (the default key policy does).
    * ``subnet_ids`` + ``security_group_ids`` (both or neither): jobs and the model run in this VPC;
      it needs S3, CloudWatch and SageMaker API endpoints (or a NAT) for the jobs to reach them.
    * ``network_isolation``: no network for the training containers and the model. Processing jobs
      are not isolated: the monitoring job calls CloudWatch and SageMaker.
    * ``inter_container_encryption``: TLS between the instances of a multi-instance job.
    """

    kms_key_arn: str = ""
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    network_isolation: bool = False
    inter_container_encryption: bool = False

    def __post_init__(self) -> None:
        if bool(self.subnet_ids) != bool(self.security_group_ids):
            raise SettingsError("isolation: set subnet_ids and security_group_ids together, or neither")
        if self.kms_key_arn and ":key/" not in self.kms_key_arn:
            raise SettingsError(
                f"isolation.kms_key_arn {self.kms_key_arn!r} must be a key ARN (arn:<partition>:kms:...:key/<id>)"
            )

    @property
    def vpc(self) -> bool:
        return bool(self.subnet_ids)


@dataclass(frozen=True)
class MonitoringSettings:
    """The monitoring job's schedule, the drift engine's config and the CloudWatch names the
    monitoring job and the alarms share."""

    instance_type: str = "ml.m5.large"
    # More than 1 shards the check: a profile job on this many instances, then a one-instance merge
    # job (docs/monitoring.md "Monitoring at scale"); 1 keeps the single job.
    instance_count: int = 1
    window_hours: int = 1
    schedule_expression: str = "rate(1 hour)"
    # Thresholds and methods, as the baseline step writes them into constraints.json: the engine's
    # own type, so a field added there is a setting here, a baseline-step argument and a CLI option.
    drift: MonitoringConfig = field(default_factory=MonitoringConfig)
    metric_namespace: str = "SageMakerMLOps/DataQuality"
    endpoint_dimension: str = "Endpoint"
    schedule_dimension: str = "MonitoringSchedule"
    feature_drift_metric_prefix: str = "feature_baseline_drift_"
    drifted_share_metric: str = "drifted_feature_share"
    violations_metric: str = "constraint_violations"
    model_monitor_schedule_enabled: bool = False  # opt-in: only for accounts that still have it
    # Model Monitor accepts cron only (hourly or daily forms); this is hourly, like the engine's window.
    model_monitor_schedule_expression: str = "cron(0 * ? * * *)"

    def __post_init__(self) -> None:
        # ProcessingClusterConfig.InstanceCount: "Minimum value of 1. Maximum value of 100."
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingClusterConfig.html)
        if not 1 <= self.instance_count <= MAX_PROCESSING_INSTANCES:
            raise SettingsError(
                f"monitoring.instance_count {self.instance_count} must be 1 to {MAX_PROCESSING_INSTANCES} "
                "(SageMaker Processing's limit)"
            )


@dataclass(frozen=True)
class ModelQualitySettings:
    """Model quality from ground-truth labels that arrive after the predictions (concept drift shows
    only there): where labels land, which window of predictions they are judged in, and the
    CloudWatch names the monitoring job publishes and the quality alarm and the dashboard read.

    Labels follow Model Monitor's ground-truth layout (``<ground truth uri>/<endpoint>/yyyy/mm/dd/hh/
    *.jsonl``, the hour being when they were uploaded). Each monitoring run judges the predictions
    captured in ``[run - delay - window, run - delay)``: like Model Monitor's ``StartTimeOffset``
    / ``EndTimeOffset`` on a model-quality job, the delay leaves the labels time to arrive.
    """

    ground_truth_prefix: str = "ground-truth"  # in the data bucket, which the job role reads
    label_delay_hours: int = 1
    window_hours: int = 1
    metric_namespace: str = "SageMakerMLOps/ModelQuality"
    endpoint_dimension: str = "Endpoint"
    # Published metric names are the keys of processing_scripts.quality_metrics' output.
    metrics: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            REGRESSION: ("rmse", "mae", "r2"),
            BINARY_CLASSIFICATION: ("accuracy", "precision", "recall", "f1", "auc"),
        }
    )
    merged_labels_metric: str = "merged_labels"
    # The served package's evaluation value of a metric, published beside it: the quality alarm's
    # reference (see infra/alarms.py for why the reference is a metric, not a threshold).
    evaluation_metric_prefix: str = "evaluation_"


@dataclass(frozen=True)
class AlarmConfig:
    # Drift: the retrain alarm watches the share of drifted features from each monitoring run.
    drift_share_threshold: float = 0.2
    drift_period_seconds: int = 3600
    drift_evaluation_periods: int = 1
    drift_datapoints_to_alarm: int = 1
    drift_missing_data: str = "notBreaching"
    # Model quality, relative to the served model's own evaluation: the alarm compares the live
    # metric with the evaluation value the monitoring job publishes beside it. Regression: RMSE
    # worse by more than this fraction; classification: AUC lower by more than this (absolute).
    quality_rmse_worse_fraction: float = 0.2
    quality_auc_drop: float = 0.05
    # Fewer merged labels than this in a window say more about the sample than the model: no verdict.
    quality_min_labels: int = 30
    quality_period_seconds: int = 3600
    # Endpoint health.
    error_rate_threshold: float = 0.05
    latency_p99_threshold_ms: float = 500.0
    endpoint_period_seconds: int = 300
    endpoint_evaluation_periods: int = 3
    endpoint_datapoints_to_alarm: int = 2
    endpoint_missing_data: str = "notBreaching"  # no traffic is not an outage
    # Pipeline failures.
    pipeline_failure_threshold: int = 1
    pipeline_failure_period_seconds: int = 300


@dataclass(frozen=True)
class RetentionConfig:
    """How long data, logs and images are kept (S3 lifecycle, log groups, ECR lifecycle)."""

    capture_expiration_days: int = 180
    reports_expiration_days: int = 365
    infrequent_access_after_days: int = 30
    noncurrent_version_expiration_days: int = 30
    access_logs_expiration_days: int = 365
    log_retention_days: int = 90  # must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)
    max_images: int = 50


@dataclass(frozen=True)
class RetrainingConfig:
    schedule_expression: str = "rate(7 days)"
    schedule_enabled: bool = False
    # The storm guard: never two retraining runs at once, and at most one start per cooldown.
    # A day: an alarm that flaps every other hourly window must not retrain every two hours
    # (`pipelines simulate --scenario flapping` shows it in simulated time).
    cooldown_minutes: int = 24 * 60


@dataclass(frozen=True)
class Stage:
    """A deployment stage: the account and region an approved model is deployed to.

    The build account (``Settings.account``) runs the pipelines and holds the registry, the
    artifacts, the key and the image; each stage reads them across accounts (docs/multi-account.md).
    """

    name: str
    account: str
    region: str

    def __post_init__(self) -> None:
        if self.name not in DEPLOYMENT_STAGES:
            raise SettingsError(f"unknown stage {self.name!r}; use one of {', '.join(DEPLOYMENT_STAGES)}")
        if not (self.account.isdigit() and len(self.account) == 12):
            raise SettingsError(f"stage {self.name}: account {self.account!r} must be 12 digits")


@dataclass(frozen=True)
class Settings:
    env: str
    account: str
    region: str
    # The example (examples/<name>/) whose data and model this deployment serves; it names the
    # project: "<example>-mlops" (abalone-mlops), so two examples never share a resource.
    example: str = examples.DEFAULT_EXAMPLE
    project: str = field(default_factory=lambda: _default_example().project)
    owner: str = "mlops-team"
    # owner/name of the GitHub repository whose Actions may deploy (infra/ci_access.py); from
    # MLOPS_GITHUB_REPOSITORY, needed only to synthesize the CI access stack.
    github_repository: str = ""
    notification_email: str = ""
    # Default of the pipeline's approval parameter; anything but Approved means a person approves
    # every package (see ``manual_approval``).
    model_approval_status: str = "Approved"
    # How long a successful job step may be reused by a later run with identical arguments
    # (ISO 8601 duration); see docs/training-pipeline.md "Caching" for what "identical" means.
    pipeline_cache_expire_after: str = "P7D"
    training: TrainingConfig = field(default_factory=TrainingConfig)
    processing: ProcessingConfig = field(default_factory=ProcessingConfig)
    quality_gate: QualityGate = field(default_factory=QualityGate)
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    model_quality: ModelQualitySettings = field(default_factory=ModelQualitySettings)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    retraining: RetrainingConfig = field(default_factory=RetrainingConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    isolation: IsolationConfig = field(default_factory=IsolationConfig)
    # The commit the definitions are synthesized from: the GitCommit parameter's default, so scheduled
    # and alarm-started runs carry it too. Given (MLOPS_GIT_COMMIT, or `upsert`/`demo` from the
    # checkout), never guessed: a plain `synth` keeps "unknown" and stays byte-identical.
    source_commit: str = UNKNOWN_COMMIT
    # Deployment stages in promotion order (MLOPS_STAGES); empty: the build account serves too.
    stages: tuple[Stage, ...] = ()

    def __post_init__(self) -> None:
        if self.training.script is not None and self.isolation.network_isolation:
            # "the containers can't make any outbound network calls, even to other AWS services such
            # as Amazon S3" (https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html):
            # the framework images could not download the model code from sagemaker_submit_directory.
            raise SettingsError(
                "isolation.network_isolation cannot be used with a script-mode model (training.script): "
                "its containers download the code from S3; turn one of them off"
            )
        if self.serving.mode == SERVERLESS and (self.isolation.vpc or self.isolation.network_isolation):
            raise SettingsError(
                "serving.mode serverless does not support a VPC or network isolation; turn isolation.subnet_ids "
                "and isolation.network_isolation off, or serve realtime/async (feature exclusions: "
                "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html)"
            )
        if self.serving.mode == BATCH and self.serving.new_model_as != "replace":
            raise SettingsError(
                f"serving.mode batch has no endpoint variants: serving.new_model_as "
                f"{self.serving.new_model_as!r} needs realtime or async; use replace (the batch model "
                "is the latest approved package)"
            )
        if self.serving.mode == BATCH and self.stages:
            # Stage endpoints are real-time endpoints deployed from the registry and monitored from
            # their capture; batch scoring has neither endpoint nor promotion (docs/multi-account.md).
            raise SettingsError(
                f"serving.mode batch cannot be promoted through deployment stages ({STAGES_ENV}): a stage "
                "serves a real-time endpoint; unset MLOPS_STAGES, or serve realtime"
            )
        if self.serving.mode == BATCH and self.monitoring.model_monitor_schedule_enabled:
            raise SettingsError(
                "serving.mode batch has no endpoint for the Model Monitor schedule to watch; turn "
                "monitoring.model_monitor_schedule_enabled off (the project's monitoring pipeline "
                "checks batch capture)"
            )
        if self.serving.mode == SERVERLESS and self.monitoring.model_monitor_schedule_enabled:
            raise SettingsError(
                "serving.mode serverless does not support Model Monitor; turn "
                f"monitoring.model_monitor_schedule_enabled ({MODEL_MONITOR_SCHEDULE_ENV}) off: the project's "
                "drift engine monitors serverless traffic (docs/serving.md)"
            )
        if self.model_approval_status not in self.registrable_approval_statuses:
            raise SettingsError(
                f"model_approval_status {self.model_approval_status!r} is not one the pipeline may "
                f"register with; use one of {self.registrable_approval_statuses}"
            )

    # -- accounts ------------------------------------------------------------------------------
    @property
    def cross_account_stages(self) -> tuple[Stage, ...]:
        """The stages in another account than the build account: the ones a resource policy must name
        (a stage in the build account is authorized by its identity policies alone)."""
        return tuple(stage for stage in self.stages if stage.account != self.account)

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        configured = ", ".join(s.name for s in self.stages) or "none"
        raise SettingsError(f"no stage {name!r} configured (stages: {configured}); set {STAGES_ENV}")

    def stage_role_name(self, stage: Stage, purpose: str) -> str:
        """A stage account's role: ``deploy`` (creates the stage's model and endpoint) or ``model``
        (the stage endpoint's execution role, which reads the build account's artifact)."""
        if purpose not in STAGE_ROLE_PURPOSES:
            raise SettingsError(f"unknown stage role {purpose!r}; use one of {STAGE_ROLE_PURPOSES}")
        return self._bounded_role_name(f"{self.prefix}-{stage.name}-{purpose}-{stage.region}")

    def stage_role_arn(self, stage: Stage, purpose: str) -> str:
        name = self.stage_role_name(stage, purpose)
        return f"arn:{self.partition}:iam::{stage.account}:role/{name}"

    def stage_approval_key(self, stage: Stage, field: str) -> str:
        """A key of a package's ``CustomerMetadataProperties`` recording its approval for ``stage``
        (who approved it, when, and why) or its deployment there (when, and when rolled back): the
        registry keeps the record next to the model."""
        if field not in (*STAGE_APPROVAL_FIELDS, *STAGE_DEPLOYMENT_FIELDS):
            known = (*STAGE_APPROVAL_FIELDS, *STAGE_DEPLOYMENT_FIELDS)
            raise SettingsError(f"unknown approval field {field!r}; use one of {known}")
        return f"{stage.name}-{field}"

    def stage_arn(self, stage: Stage, service: str, resource: str) -> str:
        """An ARN in the stage's account and region."""
        return f"arn:{self.partition}:{service}:{stage.region}:{stage.account}:{resource}"

    def stage_endpoint_name(self, stage: Stage) -> str:
        """Named by stage too, so a stage deployed into the build account never takes its endpoint."""
        return f"{self.prefix}-{stage.name}-endpoint"

    def stage_endpoint_alarm_names(self, stage: Stage) -> dict[str, str]:
        """The stage endpoint's health alarms (purpose -> name), in the stage's account: the
        real-time ones (a stage endpoint is real-time, see infra/lambdas/deploy.py), named by stage."""
        return {
            purpose: f"{self.prefix}-{stage.name}-endpoint-{purpose}" for purpose in ENDPOINT_ALARM_PURPOSES
        }

    def stage_forward_rule_name(self, stage: Stage) -> str:
        """The stage account's rule that forwards its endpoint's alarms and state to the build account."""
        return f"{self.prefix}-{stage.name}-forward-endpoint-events"

    @property
    def stage_events_rule_name(self) -> str:
        """The build account's rule that notifies the stages' forwarded endpoint events."""
        return f"{self.prefix}-stage-endpoint-events"

    @property
    def event_bus_arn(self) -> str:
        """The build account's default event bus: where each stage forwards its endpoint's events."""
        return self.arn("events", "event-bus/default")

    @property
    def monitored_stage(self) -> Stage | None:
        """The stage whose endpoint the build account monitors for drift: the last one (prod), whose
        traffic is real. Staging only ever sees the staging test's synthetic rows, so its drift
        would be noise. None without stages (the build account's own endpoint is monitored then).

        Monitored from the build account, where its capture, the baselines, the image and the
        monitoring pipeline already are: nothing is shared with the stage for it
        (docs/multi-account.md#how-prod-is-monitored)."""
        return self.stages[-1] if self.stages else None

    def stage_monitoring_schedule_name(self, stage: Stage) -> str:
        """The rule that runs the monitoring pipeline on ``stage``'s endpoint, and the schedule
        dimension of the metrics that run publishes (``monitoring_schedule_name``'s, per stage)."""
        return f"{self.prefix}-{stage.name}-data-quality"

    def stage_drift_alarm_name(self, stage: Stage) -> str:
        """The drift-share alarm of ``stage``'s endpoint; entering ALARM starts retraining in the
        build account, like :attr:`drift_alarm_name`."""
        return f"{self.prefix}-{stage.name}-data-drift"

    def stage_quality_alarm_name(self, stage: Stage) -> str:
        """The model-quality alarm of ``stage``'s endpoint, on the labels uploaded for it
        (``labels upload --stage``); entering ALARM starts retraining, like :attr:`quality_alarm_name`."""
        return f"{self.prefix}-{stage.name}-model-quality"

    # -- approval ------------------------------------------------------------------------------
    @property
    def manual_approval(self) -> bool:
        """A person approves every package (prod): the pipeline must never register one Approved."""
        return self.model_approval_status != APPROVED

    @property
    def registrable_approval_statuses(self) -> tuple[str, ...]:
        """What the pipeline may register a package as: the approval parameter's allowed values and,
        the same tuple, the IAM condition on the pipeline role's ``sagemaker:CreateModelPackage``
        (so neither a start parameter nor a changed definition can skip the manual approval)."""
        return (PENDING_MANUAL_APPROVAL,) if self.manual_approval else APPROVAL_STATUSES

    # -- ARNs ----------------------------------------------------------------------------------
    @property
    def partition(self) -> str:
        """The ARN partition of the region: ``aws``, ``aws-cn`` (China) or ``aws-us-gov`` (GovCloud).

        The pipeline JSON is synthesized offline, so its ARNs cannot use CloudFormation's
        ``AWS::Partition``; the stacks are bound to the same region, so both agree. Source:
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
        """
        for region_prefix, partition in PARTITIONS.items():
            if self.region.startswith(region_prefix):
                return partition
        return "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``; IAM is global (no region)
        and S3 bucket ARNs carry neither region nor account."""
        region = self.region if regional else ""
        owner = self.account if account else ""
        return f"arn:{self.partition}:{service}:{region}:{owner}:{resource}"

    # -- names ---------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """Every resource name starts with this, so two environments share an account safely."""
        return f"{self.project}-{self.env}"

    def key_alias(self, purpose: str) -> str:
        """A project key's alias: the stable name a stage account's policy can use for a key whose
        id AWS assigns (``kms:ResourceAliases``)."""
        return f"alias/{self.prefix}-{purpose}"

    @property
    def tags(self) -> dict[str, str]:
        """Cost-allocation tags applied to every resource."""
        return {"project": self.project, "environment": self.env, "owner": self.owner}

    def bucket_name(self, purpose: str) -> str:
        """Globally unique bucket names: purpose is data, artifacts, capture, reports or logs."""
        if purpose not in BUCKET_PURPOSES:
            raise SettingsError(f"unknown bucket purpose {purpose!r}; use one of {BUCKET_PURPOSES}")
        return f"{self.prefix}-{purpose}-{self.account}-{self.region}"

    def pipeline_name(self, short_name: str) -> str:
        """Full pipeline names: ``short_name`` is one of :data:`PIPELINES` (``training``, ...)."""
        if short_name not in PIPELINES:
            raise SettingsError(f"unknown pipeline {short_name!r}; use one of {PIPELINES}")
        return f"{self.prefix}-{short_name}"

    @property
    def pipeline_names(self) -> tuple[str, ...]:
        """Every pipeline's full name, in :data:`PIPELINES` order."""
        return tuple(self.pipeline_name(short_name) for short_name in PIPELINES)

    @property
    def training_pipeline_name(self) -> str:
        return self.pipeline_name(TRAINING_PIPELINE)

    @property
    def monitoring_pipeline_name(self) -> str:
        return self.pipeline_name(MONITORING_PIPELINE)

    @property
    def model_package_group(self) -> str:
        return f"{self.prefix}-models"

    @property
    def endpoint_name(self) -> str:
        return f"{self.prefix}-endpoint"

    @property
    def monitoring_schedule_name(self) -> str:
        return f"{self.prefix}-data-quality"

    @property
    def ecr_repository(self) -> str:
        return f"{self.prefix}-processing"

    @property
    def sns_topic_name(self) -> str:
        return f"{self.prefix}-notifications"

    @property
    def sns_topic_arn(self) -> str:
        return self.arn("sns", self.sns_topic_name)

    def function_name(self, purpose: str) -> str:
        """Lambda names: purpose is ``deploy`` or ``retrain-guard``."""
        if purpose not in FUNCTION_PURPOSES:
            raise SettingsError(f"unknown function {purpose!r}; use one of {FUNCTION_PURPOSES}")
        return f"{self.prefix}-{purpose}"

    def function_arn(self, purpose: str) -> str:
        return self.arn("lambda", f"function:{self.function_name(purpose)}")

    def role_name(self, purpose: str) -> str:
        """IAM roles get fixed names so the offline pipeline JSON can carry their ARNs.

        IAM is global to the account, so the region is part of the name: the same environment can
        be deployed to two regions of one account without a name clash.
        """
        if purpose not in ROLE_PURPOSES:
            raise SettingsError(f"unknown role {purpose!r}; use one of {ROLE_PURPOSES}")
        return self._bounded_role_name(f"{self.prefix}-{purpose}-{self.region}")

    def _bounded_role_name(self, name: str) -> str:
        if len(name) > MAX_ROLE_NAME_LENGTH:
            raise SettingsError(
                f"role name {name!r} is longer than IAM's {MAX_ROLE_NAME_LENGTH} characters; "
                "shorten the project name"
            )
        return name

    def role_arn(self, purpose: str) -> str:
        return self.arn("iam", f"role/{self.role_name(purpose)}", regional=False)

    def pipeline_arn(self, pipeline_name: str) -> str:
        return self.arn("sagemaker", f"pipeline/{pipeline_name.lower()}")

    def drift_metric_name(self, feature: str) -> str:
        return f"{self.monitoring.feature_drift_metric_prefix}{feature}"

    def feature_drift_alarm_name(self, feature: str) -> str:
        """Per-feature drift alarms only notify; the retrain decision is the share alarm's."""
        return f"{self.prefix}-drift-{feature.replace(' ', '-')}"

    @property
    def endpoint_alarm_names(self) -> dict[str, str]:
        """Endpoint health alarms (purpose -> name) of the serving mode; blue/green deployments roll
        back on these. An async endpoint publishes no ``Invocations`` metric, so its health is its
        failures and the age of its queue instead of an error rate and a latency."""
        return {
            purpose: f"{self.prefix}-endpoint-{purpose}"
            for purpose in ENDPOINT_ALARM_PURPOSES_BY_MODE[self.serving.mode]
        }

    # -- asynchronous inference ----------------------------------------------------------------
    @property
    def async_inference_uri(self) -> str:
        """Where an async endpoint's requests (``input/``), answers (``output/``) and failures
        (``failure/``) live: the capture bucket, whose lifecycle already fits inference data."""
        return f"s3://{self.bucket_name('capture')}/async-inference/{self.endpoint_name}"

    @property
    def async_input_uri(self) -> str:
        """Where clients put an async request's payload (InvokeEndpointAsync's InputLocation)."""
        return f"{self.async_inference_uri}/input"

    @property
    def async_output_uri(self) -> str:
        return f"{self.async_inference_uri}/output"

    @property
    def async_failure_uri(self) -> str:
        return f"{self.async_inference_uri}/failure"

    def async_topic_name(self, outcome: str) -> str:
        """The SNS topic an async endpoint notifies on ``success`` or ``error``."""
        if outcome not in ASYNC_OUTCOMES:
            raise SettingsError(f"unknown async outcome {outcome!r}; use one of {ASYNC_OUTCOMES}")
        return f"{self.prefix}-async-{outcome}"

    def async_topic_arn(self, outcome: str) -> str:
        return self.arn("sns", self.async_topic_name(outcome))

    @property
    def async_backlog_alarm_name(self) -> str:
        """The alarm on ``HasBacklogWithoutCapacity`` that wakes an async endpoint scaled to zero."""
        return f"{self.prefix}-endpoint-backlog-without-capacity"

    def pipeline_failure_alarm_name(self, pipeline_name: str) -> str:
        return f"{pipeline_name}-failed"

    @property
    def drift_alarm_name(self) -> str:
        """The alarm whose transition into ALARM starts retraining."""
        return f"{self.prefix}-data-drift"

    @property
    def quality_alarm_name(self) -> str:
        """The model-quality alarm; its transition into ALARM starts retraining too."""
        return f"{self.prefix}-model-quality"

    @property
    def retrain_rule_names(self) -> dict[str, str]:
        """The EventBridge rules that start retraining (trigger -> rule name)."""
        return {
            trigger: f"{self.prefix}-retrain-on-{trigger}" for trigger in ("drift", "quality", "schedule")
        }

    @property
    def dashboard_name(self) -> str:
        return f"{self.prefix}-overview"

    # -- the example -----------------------------------------------------------------------------
    @property
    def example_spec(self) -> examples.Example:
        """The description of :attr:`example` (examples/<name>/example.toml)."""
        return examples.load(self.example, examples.examples_dir())

    @property
    def problem_type(self) -> str:
        """``regression`` or ``binary_classification``: which metrics, gate direction, quality alarm."""
        return self.example_spec.dataset.problem_type

    @property
    def job_environment(self) -> dict[str, str]:
        """What every job of the project's image is told about the example: nothing for the default
        (the image's own default, so its definitions stay as they were), else ``MLOPS_EXAMPLE``."""
        return {} if self.example == examples.DEFAULT_EXAMPLE else {examples.EXAMPLE_ENV: self.example}

    # -- S3 layout -----------------------------------------------------------------------------
    @property
    def raw_data_uri(self) -> str:
        """Where the raw CSV lands: raw/<the example's data file name> (raw/abalone.csv)."""
        return f"s3://{self.bucket_name('data')}/raw/{Path(self.example_spec.data_file_name).name}"

    @property
    def ground_truth_uri(self) -> str:
        """Where labels land, one folder per endpoint below it (``pipelines labels upload``)."""
        return f"s3://{self.bucket_name('data')}/{self.model_quality.ground_truth_prefix}"

    @property
    def pipeline_artifacts_uri(self) -> str:
        """Where step outputs go: s3://artifacts/pipelines/<pipeline>/<execution>/<step>/..."""
        return f"s3://{self.bucket_name('artifacts')}/pipelines"

    @property
    def capture_uri(self) -> str:
        return f"s3://{self.bucket_name('capture')}/datacapture"

    @property
    def reports_uri(self) -> str:
        return f"s3://{self.bucket_name('reports')}/monitoring"

    # -- batch scoring (docs/serving.md#batch) ---------------------------------------------------
    @property
    def batch_pipeline_name(self) -> str:
        return self.pipeline_name(BATCH_PIPELINE)

    @property
    def batch_schedule_name(self) -> str:
        return f"{self.prefix}-batch-schedule"

    @property
    def batch_model_name(self) -> str:
        """The SageMaker model batch scoring uses: one fixed name that always refers to the latest
        approved package, so a scheduled run needs no argument to score with the newest model."""
        return f"{self.prefix}-batch-model"

    @property
    def batch_input_uri(self) -> str:
        """Where the records to score land (CSV without a header, the training features' order)."""
        return f"s3://{self.bucket_name('data')}/batch/input/"

    @property
    def batch_output_uri(self) -> str:
        """Scores, one folder per execution below it (``<input object>.out`` per input object)."""
        return f"s3://{self.bucket_name('reports')}/batch/output"

    @property
    def batch_capture_uri(self) -> str:
        """The transform job's DataCaptureConfig destination: the endpoint name's capture folder,
        so the monitoring pipeline reads batch capture where it reads endpoint capture."""
        return f"{self.capture_uri}/{self.endpoint_name}"

    @property
    def current_baseline_uri(self) -> str:
        """The baseline of the package the endpoint serves, at a fixed place (statistics.json,
        constraints.json): the deploy function copies it here, because a Model Monitor job
        definition takes a fixed baseline URI while baselines are per model package."""
        return f"s3://{self.bucket_name('artifacts')}/baselines/{self.endpoint_name}/current"

    # -- images --------------------------------------------------------------------------------
    @property
    def processing_image_uri(self) -> str:
        """The project's own image, tagged by the content of what goes into it (see Dockerfile)."""
        registry = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"
        return f"{registry}/{self.ecr_repository}:{processing_image_tag()}"

    @property
    def model_monitor_image_uri(self) -> str:
        """AWS's Model Monitor analyzer image for this region (only the optional schedule uses it)."""
        account = MODEL_MONITOR_ANALYZER_ACCOUNTS.get(self.region)
        if account is None:
            raise SettingsError(
                f"no Model Monitor analyzer image known for region {self.region!r}; add its registry "
                "account to MODEL_MONITOR_ANALYZER_ACCOUNTS in pipelines/settings.py, or turn "
                "monitoring.model_monitor_schedule_enabled off"
            )
        return f"{account}.dkr.ecr.{self.region}.amazonaws.com/sagemaker-model-monitor-analyzer"


TRAINING_PIPELINE = "training"
MONITORING_PIPELINE = "monitoring"
BATCH_PIPELINE = "batch"  # scores the batch input prefix with the batch model (docs/serving.md)
# The project's pipelines by short name: the one list synthesis, the stacks and the CLI read. A short
# name is a Python identifier: ``pipelines.builders`` finds the builder in ``pipelines/<short name>.py``.
PIPELINES = (TRAINING_PIPELINE, MONITORING_PIPELINE, BATCH_PIPELINE)
BUCKET_PURPOSES = ("data", "artifacts", "capture", "reports", "logs")
FUNCTION_PURPOSES = ("deploy", "retrain-guard")
# The SageMaker roles are split by who acts: the pipeline service (starts jobs, registers, invokes the
# deploy function), the jobs (read data, write artifacts), the model on the endpoint (reads its
# artifact, writes capture; nothing else). Which step uses which is decided in the definitions.
PIPELINE_ROLE = "pipeline"
JOB_ROLE = "job"
MODEL_ROLE = "model"
ROLE_PURPOSES = (PIPELINE_ROLE, JOB_ROLE, MODEL_ROLE, "deploy-function", "retrain-guard", "events")
# Deployment stages in promotion order: an approved version reaches staging first, prod after a
# second approval (docs/multi-account.md).
DEPLOYMENT_STAGES = ("staging", "prod")
# deploy: creates the stage's endpoint; model: the endpoint's execution role; events: the stage's
# forwarding rule puts its endpoint's events on the build account's bus.
STAGE_ROLE_PURPOSES = ("deploy", "model", "events")
# The stage endpoint's states forwarded to the build account (as the state change event spells them,
# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html): the
# failures, and IN_SERVICE, which confirms that a promotion or a rollback took effect.
STAGE_FORWARDED_ENDPOINT_STATUSES = ("IN_SERVICE", "FAILED", "OUT_OF_SERVICE", "UPDATE_ROLLBACK_FAILED")
STAGE_APPROVAL_FIELDS = ("approved-by", "approved-at", "approval-note")
# When `pipelines promote` deployed a version to a stage, and when `rollback` took it off again:
# the history `rollback` reads to find the previous version.
STAGE_DEPLOYMENT_FIELDS = ("deployed-at", "rolled-back-at")
DATA_KEY = "data"  # the purpose of the key that encrypts the data, artifacts, capture and reports buckets
# "staging:111111111111,prod:222222222222[:eu-west-1]": the stages' accounts (and regions).
STAGES_ENV = "MLOPS_STAGES"
# The accounts the local cloud emulates for a stage named without one (`make demo STAGES=staging,prod`).
# Only the local demo accepts a bare stage name: a real deployment names its accounts.
EMULATED_STAGE_ACCOUNTS = {"staging": "111111111111", "prod": "222222222222"}
# Region name prefix -> ARN partition, for the regions outside the commercial partition.
PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov", "us-iso-": "aws-iso", "us-isob-": "aws-iso-b"}
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName: 1-64)
MAX_ROLE_NAME_LENGTH = 64
APPROVED = "Approved"  # the approval status that deploys
PENDING_MANUAL_APPROVAL = "PendingManualApproval"
APPROVAL_STATUSES = (APPROVED, PENDING_MANUAL_APPROVAL, "Rejected")  # CreateModelPackage's values
ENDPOINT_ALARM_PURPOSES = ("error-rate", "latency-p99")
ASYNC_ENDPOINT_ALARM_PURPOSES = ("invocation-failures", "oldest-request-age")
ENDPOINT_ALARM_PURPOSES_BY_MODE = {
    REALTIME: ENDPOINT_ALARM_PURPOSES,
    SERVERLESS: ENDPOINT_ALARM_PURPOSES,  # serverless publishes Invocations, errors and ModelLatency
    ASYNC: ASYNC_ENDPOINT_ALARM_PURPOSES,
    BATCH: (),  # no endpoint: a failed scoring run is the pipeline's failed-execution alarm
}
ASYNC_OUTCOMES = ("success", "error")
# Region -> account of the `sagemaker-model-monitor-analyzer` image. Source: the SageMaker Python
# SDK's registry table (sagemaker/core/image_uri_config/model-monitor.json, added in
# aws/sagemaker-python-sdk#1765) and "Amazon SageMaker Model Monitor prebuilt container"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-pre-built-container.html).
MODEL_MONITOR_ANALYZER_ACCOUNTS = {
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
    "ca-central-1": "536280801234",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "eu-central-1": "048819808253",
    "eu-north-1": "895015795356",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-south-1": "126357580389",
    "sa-east-1": "539772159869",
}
# Turns the optional Model Monitor schedule on without a code change (true/false).
MODEL_MONITOR_SCHEDULE_ENV = "MLOPS_MODEL_MONITOR_SCHEDULE"

# Per-environment differences from the defaults above. Everything not named here is shared.
OVERRIDES: dict[str, dict[str, object]] = {
    "dev": {},
    "prod": {
        "model_approval_status": PENDING_MANUAL_APPROVAL,
        "training": TrainingConfig(instance_type="ml.m5.xlarge", tuning_enabled=True),
        "processing": ProcessingConfig(instance_type="ml.m5.xlarge"),
        "serving": ServingConfig(
            instance_type="ml.m5.xlarge",
            initial_instance_count=2,
            min_capacity=2,
            max_capacity=6,
            traffic_routing="CANARY",
        ),
        "retraining": RetrainingConfig(schedule_enabled=True),
    },
}

# What goes into the processing image; its digest is the image tag, so the tag changes exactly
# when the image content does and the pipeline JSON stays identical otherwise.
# The examples' descriptions go in too (a job reads its own, see processing_scripts/example.py);
# their data and generators do not: jobs read data from S3. Entries may be glob patterns.
IMAGE_INPUTS = ("Dockerfile", ".dockerignore", "processing_scripts", "examples/*/example.toml")


def processing_image_tag(root: Path = REPO_ROOT) -> str:
    """A content digest of the image inputs (file paths and bytes, sorted; caches ignored)."""
    digest = hashlib.sha256()
    for entry in IMAGE_INPUTS:
        path = root / entry
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = sorted(root.glob(entry))
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return f"sha-{digest.hexdigest()[:16]}"


def load(
    env: str | None = None,
    *,
    account: str | None = None,
    region: str | None = None,
    example_name: str | None = None,
    emulated_stage_accounts: bool = False,
) -> Settings:
    """Settings for one environment and example; explicit arguments win over environment variables
    (``MLOPS_EXAMPLE`` selects the example, default abalone). ``emulated_stage_accounts``: the
    caller runs in the local cloud, where a stage may be named without its account."""
    env = env or os.environ.get("MLOPS_ENV") or DEFAULT_ENV
    if env not in ENVIRONMENTS:
        raise SettingsError(f"unknown environment {env!r}; choose one of {', '.join(ENVIRONMENTS)}")
    account = (
        account
        or os.environ.get("MLOPS_ACCOUNT")
        or os.environ.get("CDK_DEFAULT_ACCOUNT")
        or PLACEHOLDER_ACCOUNT
    )
    region = (
        region or os.environ.get("MLOPS_REGION") or os.environ.get("CDK_DEFAULT_REGION") or DEFAULT_REGION
    )
    if not (account.isdigit() and len(account) == 12):
        raise SettingsError(f"account {account!r} must be 12 digits (set MLOPS_ACCOUNT)")
    try:
        spec = examples.load(example_name or examples.selected_name(), examples.examples_dir())
    except examples.ExampleError as err:
        raise SettingsError(str(err)) from err
    base = Settings(env=env, account=account, region=region, example=spec.name, project=spec.project)
    settings = _with_example(dataclasses.replace(base, **OVERRIDES[env]), spec)  # type: ignore[arg-type]
    email = os.environ.get("MLOPS_NOTIFICATION_EMAIL")
    if email:
        settings = dataclasses.replace(settings, notification_email=email)
    repository = os.environ.get("MLOPS_GITHUB_REPOSITORY")
    if repository:
        settings = dataclasses.replace(settings, github_repository=repository)
    commit = os.environ.get(GIT_COMMIT_ENV, "").strip()
    if commit:
        settings = dataclasses.replace(settings, source_commit=commit)
    settings = _with_serving_mode_override(settings, os.environ.get(SERVING_MODE_ENV, ""))
    stages = os.environ.get(STAGES_ENV, "")
    if stages.strip():
        parsed = parse_stages(stages, default_region=region, emulated_accounts=emulated_stage_accounts)
        settings = dataclasses.replace(settings, stages=parsed)
    return _with_model_monitor_override(settings, os.environ.get(MODEL_MONITOR_SCHEDULE_ENV, ""))


def with_checkout_commit(settings: Settings, root: Path = REPO_ROOT) -> Settings:
    """``settings`` with ``source_commit`` set to the checkout's ``HEAD`` (``-dirty`` when tracked
    files have uncommitted changes), for the commands that deploy a definition (``upsert``, the
    demo's local cloud). ``MLOPS_GIT_COMMIT`` wins (CI knows its commit; a tarball has no ``.git``),
    and with neither, the settings stay as they are: "unknown" is honest, a guess is not.
    """
    if os.environ.get(GIT_COMMIT_ENV, "").strip():
        return settings  # load() has applied it already
    try:
        head = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return settings
    return (
        dataclasses.replace(settings, source_commit=head + ("-dirty" if dirty else "")) if head else settings
    )


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10)
    return done.stdout.strip()


def _with_example(settings: Settings, spec: examples.Example) -> Settings:
    """The example's model (``[model]``) and quality gate (``[gate]``), over the environment's
    training settings (instance types, tuning on or off stay the environment's)."""
    model = spec.model
    if model.script is not None:
        training = dataclasses.replace(
            settings.training,
            script=_script_model(model.script, model.hyperparameters, spec.folder),
            # Tuning a script model needs metric definitions over the user's own hyperparameters,
            # which an example does not describe: script models train as they are, in every env.
            tuning_enabled=False,
        )
    else:
        training = dataclasses.replace(
            settings.training,
            hyperparameters=dict(model.hyperparameters),
            tuning_objective=model.tuning_objective,
            tuning_objective_type=model.tuning_objective_type,
        )
    gate = QualityGate(spec.gate.metric_path, spec.gate.comparison, spec.gate.threshold)
    return dataclasses.replace(settings, training=training, quality_gate=gate)


SCRIPT_MODEL_KEYS = (
    "framework",
    "framework_version",
    "py_version",
    "source_dir",
    "entry_point",
    "inference_entry_point",
)


def _script_model(table: dict[str, object], hyperparameters: dict[str, str], folder: Path) -> ScriptModel:
    """``[model.script]`` of an example as a :class:`ScriptModel`: ``source_dir`` is relative to the
    example's folder (the repository-relative path when the folder is in the checkout, so the
    definitions are the same on every machine)."""
    unknown = sorted(set(table) - set(SCRIPT_MODEL_KEYS))
    if unknown:
        raise SettingsError(
            f"{folder / 'example.toml'}: [model.script] has unknown key(s) {', '.join(unknown)}; "
            f"use {', '.join(SCRIPT_MODEL_KEYS)}"
        )
    code = (folder / str(table.get("source_dir", "model"))).resolve()
    source_dir = code.relative_to(REPO_ROOT).as_posix() if code.is_relative_to(REPO_ROOT) else str(code)
    fields = {key: str(value) for key, value in table.items() if key != "source_dir"}
    return ScriptModel(source_dir=source_dir, hyperparameters=dict(hyperparameters), **fields)


def _with_serving_mode_override(settings: Settings, raw: str) -> Settings:
    mode = raw.strip().lower()
    if not mode:
        return settings
    if mode not in SERVING_MODES:
        raise SettingsError(f"{SERVING_MODE_ENV}={raw!r} must be one of {', '.join(SERVING_MODES)}")
    return dataclasses.replace(settings, serving=dataclasses.replace(settings.serving, mode=mode))


def format_stages(stages: tuple[Stage, ...]) -> str:
    """The :data:`STAGES_ENV` value :func:`parse_stages` reads back as ``stages``."""
    return ",".join(f"{stage.name}:{stage.account}:{stage.region}" for stage in stages)


def parse_stages(raw: str, *, default_region: str, emulated_accounts: bool = False) -> tuple[Stage, ...]:
    """``staging:111111111111,prod:222222222222:eu-west-1`` -> stages in promotion order.

    Each stage at most once, in :data:`DEPLOYMENT_STAGES` order (a model reaches prod through
    staging, so prod alone or before staging is refused); the region defaults to the build region.
    With ``emulated_accounts`` (the local cloud) a bare stage name gets its emulated account
    (:data:`EMULATED_STAGE_ACCOUNTS`).
    """
    stages: list[Stage] = []
    for item in raw.split(","):
        parts = [part.strip() for part in item.split(":")]
        if emulated_accounts and len(parts) == 1 and parts[0] in EMULATED_STAGE_ACCOUNTS:
            parts.append(EMULATED_STAGE_ACCOUNTS[parts[0]])
        if len(parts) not in (2, 3) or not all(parts):
            local = " (a bare stage name only in the local demo)" if len(parts) == 1 else ""
            raise SettingsError(
                f"{STAGES_ENV}: {item.strip()!r} must be stage:account or stage:account:region "
                f"(e.g. staging:111111111111,prod:222222222222){local}"
            )
        stages.append(Stage(parts[0], parts[1], parts[2] if len(parts) == 3 else default_region))
    names = tuple(stage.name for stage in stages)
    if names != DEPLOYMENT_STAGES[: len(names)]:
        raise SettingsError(
            f"{STAGES_ENV}: stages {', '.join(names)} must be {' then '.join(DEPLOYMENT_STAGES)} "
            "(each once, staging first: prod is reached through staging)"
        )
    return tuple(stages)


def _with_model_monitor_override(settings: Settings, raw: str) -> Settings:
    value = raw.strip().lower()
    if not value:
        return settings
    if value not in ("true", "false"):
        raise SettingsError(f"{MODEL_MONITOR_SCHEDULE_ENV}={raw!r} must be true or false")
    monitoring = dataclasses.replace(settings.monitoring, model_monitor_schedule_enabled=value == "true")
    return dataclasses.replace(settings, monitoring=monitoring)
