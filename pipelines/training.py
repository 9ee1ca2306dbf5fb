"""The training pipeline: preprocess, train or tune, baseline, evaluate, gate, register, deploy.

The graph (see docs/training-pipeline.md for the picture and the decisions behind it)::

    Preprocess ─┬─► Train | Tune ─► Evaluate ─► QualityGate ─┬─ if ─► Register ─► CheckApproval ─► Deploy
                └─► Baseline ─────────────────────────────────┘ else ─► QualityGateFailed

Built with the SDK under an :class:`~pipelines.sdk_session.OfflinePipelineSession`, so building it
makes no AWS call and the same settings always give the same definition.
"""

from __future__ import annotations

from typing import Any

import pipelines.sdk_session  # noqa: F401  (prepares the environment the SDK reads at import)

# isort: split
from sagemaker.core import image_uris
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.lambda_helper import Lambda
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter, ParameterRange
from sagemaker.core.shapes import Tag
from sagemaker.core.workflow import conditions
from sagemaker.core.workflow.conditions import ConditionComparison, ConditionEquals
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import Parameter
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep, TuningStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, Networking, OutputDataConfig, StoppingCondition
from sagemaker.train.tuner import HyperparameterTuner

from pipelines import lineage
from pipelines import parameters as p
from pipelines.job_steps import (
    cached_processing_step,
    container_arguments,
    execution_output_uri,
    job_retry_policies,
    job_tags,
    output_file_uri,
    s3_input,
    s3_output,
    script_processor,
    sdk_parameters,
    service_retry_policies,
    step_cache,
)
from pipelines.model_code import script_model, source_archive
from pipelines.sdk_session import OfflinePipelineSession
from pipelines.settings import (
    APPROVED,
    JOB_ROLE,
    MODEL_ROLE,
    SCRIPT_FRAMEWORKS,
    IsolationConfig,
    Settings,
    SettingsError,
)
from processing_scripts import contract, s3_uri

# Step names: the JSON, the local executor and the docs refer to steps by these.
PREPROCESS = "Preprocess"
TRAIN = "Train"
TUNE = "Tune"
BASELINE = "Baseline"
EVALUATE = "Evaluate"
QUALITY_GATE = "QualityGate"
REGISTER = "Register"
CHECK_APPROVAL = "CheckApproval"
DEPLOY = "Deploy"
QUALITY_GATE_FAILED = "QualityGateFailed"

# Processing output names (``ProcessingOutputConfig.Outputs[...]``).
SPLITS = ("train", "validation", "test")
SCHEMA = "schema"
BASELINE_OUTPUT = "baseline"
EVALUATION_OUTPUT = "evaluation"
EVALUATION_REPORT = "EvaluationReport"  # the property file the quality gate reads
CODE_INPUT = "code"  # the evaluate job's input holding a script-mode model's sourcedir.tar.gz

CSV = "text/csv"
JSON = "application/json"
DEPLOY_OUTPUTS = ("status", "endpoint_name")  # what the deploy Lambda returns


class _TuningStepWithParameterLimits(TuningStep):
    """A TuningStep whose job limits are pipeline parameters.

    The v3 tuner validates ``max_jobs``/``max_parallel_jobs`` with a pydantic model typed ``int``
    and rejects pipeline parameters, although the pipeline service resolves them in
    ``ResourceLimits`` like anywhere else. The tuner is built with the settings' numbers (which
    are also the parameters' defaults) and the request then refers to the parameters instead.

    The v3 tuner also drops the trainer's network isolation, inter-container encryption and volume
    key from the training job definition (it keeps only the VPC); they are put back from
    ``isolation``, so tuning jobs are as isolated as a plain training job.
    """

    def __init__(
        self,
        *args: Any,
        max_jobs: Parameter,
        max_parallel_jobs: Parameter,
        isolation: IsolationConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._limits = {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": max_parallel_jobs}
        self._isolation = isolation

    @property
    def arguments(self) -> dict:
        request = super().arguments
        request["HyperParameterTuningJobConfig"]["ResourceLimits"].update(self._limits)
        definition = request["TrainingJobDefinition"]
        if self._isolation.network_isolation:
            definition["EnableNetworkIsolation"] = True
        if self._isolation.inter_container_encryption:
            definition["EnableInterContainerTrafficEncryption"] = True
        if self._isolation.kms_key_arn:
            definition["ResourceConfig"]["VolumeKmsKeyId"] = self._isolation.kms_key_arn
        return request


def build_training_pipeline(settings: Settings, session: OfflinePipelineSession) -> Pipeline:
    """The training pipeline for these settings (tuning replaces training when enabled)."""
    params = sdk_parameters(p.training_parameters(settings))
    name = settings.training_pipeline_name

    preprocess = _preprocess_step(settings, session, params, name)
    split_uri = {
        output: preprocess.properties.ProcessingOutputConfig.Outputs[output].S3Output.S3Uri
        for output in (*SPLITS, SCHEMA)
    }
    if settings.training.tuning_enabled:
        fit_step, model_uri = _tuning_step(settings, session, params, split_uri)
    else:
        fit_step, model_uri = _training_step(settings, session, params, split_uri)
    baseline = _baseline_step(settings, session, params, name, split_uri)
    evaluation_report = PropertyFile(
        name=EVALUATION_REPORT, output_name=EVALUATION_OUTPUT, path=contract.Evaluate.EVALUATION_FILE
    )
    evaluate = _evaluate_step(
        settings, session, params, name, split_uri=split_uri, model_uri=model_uri, report=evaluation_report
    )
    register = _register_step(
        settings,
        session,
        params,
        model_uri=model_uri,
        evaluate=evaluate,
        baseline=baseline,
        data_manifest_uri=split_uri[SCHEMA],
    )
    metric = JsonGet(
        step_name=evaluate.name,
        property_file=evaluation_report,
        json_path=settings.quality_gate.metric_path,
    )
    gate = ConditionStep(
        name=QUALITY_GATE,
        description=f"Register only if {settings.quality_gate.metric_path} is "
        f"{settings.quality_gate.comparison} the {p.QUALITY_THRESHOLD} parameter.",
        conditions=[_quality_condition(settings, metric, params[p.QUALITY_THRESHOLD])],
        if_steps=[register, _approval_branch(settings, register)],
        else_steps=[_failure_step(settings, metric, params[p.QUALITY_THRESHOLD])],
    )
    return Pipeline(
        name=name,
        parameters=list(params.values()),
        steps=[preprocess, fit_step, baseline, evaluate, gate],
        sagemaker_session=session,
        # No SageMaker Experiments: lineage is the model package's metadata (GitCommit,
        # TriggeredBy, metrics) and the execution itself; the SDK's default would make every run
        # create an experiment and a trial, which needs sagemaker:CreateExperiment/CreateTrial/...
        # on the pipeline role for records nobody reads.
        pipeline_experiment_config=None,
    )


def _preprocess_step(
    settings: Settings, session: OfflinePipelineSession, params: dict[str, Parameter], pipeline: str
) -> ProcessingStep:
    processor = script_processor(
        settings,
        session,
        "preprocess",
        params[p.PROCESSING_INSTANCE_TYPE],
        instance_count=params[p.PROCESSING_INSTANCE_COUNT],
    )
    paths = {
        "train": contract.Preprocess.TRAIN,
        "validation": contract.Preprocess.VALIDATION,
        "test": contract.Preprocess.TEST,
        SCHEMA: contract.Preprocess.SCHEMA,
    }
    step_args = processor.run(
        # Sharded by key: with ProcessingInstanceCount > 1 each instance gets its own CSV shards.
        inputs=[
            s3_input("raw", params[p.INPUT_DATA_URL], contract.Preprocess.RAW, distribution="ShardedByS3Key")
        ],
        outputs=[
            s3_output(output, path, execution_output_uri(settings, pipeline, PREPROCESS, output))
            for output, path in paths.items()
        ],
        # Ratios and seed are passed explicitly so the split is reproducible from the definition
        # alone. The snapshot is an argument because SageMaker's step cache keys on the arguments,
        # never on the bytes behind InputDataUrl: a new snapshot is a cache miss here, and the new
        # output locations then make every step downstream a miss as well.
        arguments=container_arguments(
            [
                ("--split-ratios", ",".join(str(r) for r in settings.processing.split_ratios)),
                ("--seed", str(settings.processing.split_seed)),
                ("--data-snapshot", params[p.DATA_SNAPSHOT]),
                ("--input-data-url", params[p.INPUT_DATA_URL]),
            ]
        ),
    )
    return cached_processing_step(
        settings,
        PREPROCESS,
        "Validate the raw CSV, one-hot encode, split into train/validation/test.",
        step_args,
    )


def _model_trainer(
    settings: Settings, session: OfflinePipelineSession, params: dict[str, Parameter], tuned: set[str]
) -> ModelTrainer:
    """The built-in XGBoost algorithm, or the user's script in a framework image (``training.script``).

    Script mode is given to the image the way the training toolkit reads it (``sagemaker_program``,
    ``sagemaker_submit_directory``), not through the SDK's ``SourceCode``, which uploads the folder
    at build time under a timestamped key: the code is the content-addressed archive of
    :mod:`pipelines.model_code`, so the definition stays offline and byte-identical.

    Models land under ``<artifacts>/<pipeline>/models/<training job name>/output/model.tar.gz``:
    job names are unique per run, so no execution id is needed in the path.
    """
    return ModelTrainer(
        training_image=_training_image(settings),
        role=settings.role_arn(JOB_ROLE),
        sagemaker_session=session,
        compute=Compute(
            instance_type=params[p.TRAINING_INSTANCE_TYPE],
            instance_count=params[p.TRAINING_INSTANCE_COUNT],
            volume_kms_key_id=settings.isolation.kms_key_arn or None,
        ),
        networking=_training_network(settings),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=settings.training.max_runtime_seconds),
        hyperparameters=_hyperparameters(settings, tuned),
        output_data_config=OutputDataConfig(
            s3_output_path=_models_uri(settings), kms_key_id=settings.isolation.kms_key_arn or None
        ),
        base_job_name=settings.prefix,
        tags=[Tag(key=tag["Key"], value=tag["Value"]) for tag in job_tags(settings)],  # pydantic shapes here
    )


def _hyperparameters(settings: Settings, tuned: set[str]) -> dict[str, str]:
    """The job's hyperparameters; in script mode the script's own plus the toolkit's two, which
    name the script and its archive (the SDK 3.x tuner sets the same two for framework images)."""
    script = settings.training.script
    if script is None:
        return {k: v for k, v in sorted(settings.training.hyperparameters.items()) if k not in tuned}
    return {
        **dict(sorted(script.hyperparameters.items())),
        "sagemaker_program": script.entry_point,
        "sagemaker_submit_directory": source_archive(settings)[0],
        "sagemaker_region": settings.region,
    }


def _training_network(settings: Settings) -> Networking | None:
    """VPC, network isolation and inter-container encryption of training (settings.isolation);
    None when all are off, so the definitions carry nothing."""
    isolation = settings.isolation
    if not (isolation.vpc or isolation.network_isolation or isolation.inter_container_encryption):
        return None
    return Networking(
        subnets=list(isolation.subnet_ids) or None,
        security_group_ids=list(isolation.security_group_ids) or None,
        enable_network_isolation=isolation.network_isolation,
        enable_inter_container_traffic_encryption=isolation.inter_container_encryption,
    )


def _channels(split_uri: dict[str, object]) -> list[InputData]:
    return [
        InputData(channel_name=channel, data_source=split_uri[channel], content_type=CSV)
        for channel in ("train", "validation")
    ]


def _training_step(
    settings: Settings,
    session: OfflinePipelineSession,
    params: dict[str, Parameter],
    split_uri: dict[str, object],
) -> tuple[TrainingStep, object]:
    trainer = _model_trainer(settings, session, params, tuned=set())
    script = settings.training.script
    step = TrainingStep(
        name=TRAIN,
        description="Built-in XGBoost with the settings' hyperparameters."
        if script is None
        else f"The example's {script.entry_point} in the {script.framework} {script.framework_version} image.",
        step_args=trainer.train(input_data_config=_channels(split_uri)),
        cache_config=step_cache(settings),
        retry_policies=job_retry_policies(),
    )
    return step, step.properties.ModelArtifacts.S3ModelArtifacts


def _tuning_step(
    settings: Settings,
    session: OfflinePipelineSession,
    params: dict[str, Parameter],
    split_uri: dict[str, object],
) -> tuple[TuningStep, Join]:
    cfg = settings.training
    ranges = {name: _parameter_range(name, bounds) for name, bounds in sorted(cfg.tuning_ranges.items())}
    trainer = _model_trainer(settings, session, params, tuned=set(ranges))
    tuner = HyperparameterTuner(
        model_trainer=trainer,
        objective_metric_name=cfg.tuning_objective,
        objective_type=cfg.tuning_objective_type,
        hyperparameter_ranges=ranges,
        max_jobs=cfg.tuning_max_jobs,
        max_parallel_jobs=cfg.tuning_max_parallel_jobs,
        early_stopping_type="Auto",
        base_tuning_job_name=settings.prefix,
        tags=job_tags(settings),
    )
    step = _TuningStepWithParameterLimits(
        name=TUNE,
        description=f"Bayesian search over {', '.join(ranges)} for the lowest {cfg.tuning_objective}.",
        step_args=tuner.tune(inputs=_channels(split_uri)),  # the v3 tuner needs the channels again
        cache_config=step_cache(settings),
        retry_policies=job_retry_policies(),
        max_jobs=params[p.MAX_TUNING_JOBS],
        max_parallel_jobs=params[p.MAX_PARALLEL_TUNING_JOBS],
        isolation=settings.isolation,
    )
    bucket, prefix = s3_uri.split(_models_uri(settings))
    return step, step.get_top_model_s3_uri(top_k=0, s3_bucket=bucket, prefix=prefix)


def _parameter_range(name: str, bounds: tuple[float, float]) -> ParameterRange:
    low, high = bounds
    if low >= high:
        raise SettingsError(f"training.tuning_ranges[{name!r}]: min {low} must be below max {high}")
    if isinstance(low, int) and isinstance(high, int):
        return IntegerParameter(low, high)
    return ContinuousParameter(low, high)


def _baseline_step(
    settings: Settings,
    session: OfflinePipelineSession,
    params: dict[str, Parameter],
    pipeline: str,
    split_uri: dict[str, object],
) -> ProcessingStep:
    processor = script_processor(settings, session, "baseline", params[p.PROCESSING_INSTANCE_TYPE])
    step_args = processor.run(
        inputs=[
            s3_input("train", split_uri["train"], contract.Baseline.TRAIN),
            s3_input(SCHEMA, split_uri[SCHEMA], contract.Baseline.SCHEMA),
        ],
        outputs=[
            s3_output(
                BASELINE_OUTPUT,
                contract.Baseline.BASELINE,
                execution_output_uri(settings, pipeline, BASELINE, BASELINE_OUTPUT),
            )
        ],
        arguments=container_arguments(settings.monitoring.drift.as_arguments()),
    )
    return cached_processing_step(
        settings,
        BASELINE,
        "Data-quality baseline (statistics.json, constraints.json) of the train split.",
        step_args,
    )


def _evaluate_step(
    settings: Settings,
    session: OfflinePipelineSession,
    params: dict[str, Parameter],
    pipeline: str,
    *,
    split_uri: dict[str, object],
    model_uri: object,
    report: PropertyFile,
) -> ProcessingStep:
    processor = script_processor(settings, session, "evaluate", params[p.PROCESSING_INSTANCE_TYPE])
    script = settings.training.script
    # A script-mode model is scored through its own serving hooks: the job gets its code too.
    code = (
        [] if script is None else [s3_input(CODE_INPUT, source_archive(settings)[0], contract.Evaluate.CODE)]
    )
    program = [] if script is None else [("--program", script.serving_program)]
    step_args = processor.run(
        inputs=[
            s3_input("model", model_uri, contract.Evaluate.MODEL),
            s3_input("test", split_uri["test"], contract.Evaluate.TEST),
            s3_input(SCHEMA, split_uri[SCHEMA], contract.Evaluate.SCHEMA),
            *code,
        ],
        outputs=[
            s3_output(
                EVALUATION_OUTPUT,
                contract.Evaluate.EVALUATION,
                execution_output_uri(settings, pipeline, EVALUATE, EVALUATION_OUTPUT),
            )
        ],
        # For the report only: its inputs by their S3 URIs, the verdict the QualityGate will reach, the
        # execution, and the endpoint whose model (and registered evaluation) a passing candidate replaces.
        arguments=container_arguments(
            [
                ("--model-uri", model_uri),
                ("--test-uri", split_uri["test"]),
                ("--gate-metric-path", settings.quality_gate.metric_path),
                ("--gate-comparison", settings.quality_gate.comparison),
                ("--gate-threshold", params[p.QUALITY_THRESHOLD].to_string()),
                *program,
                ("--execution-arn", ExecutionVariables.PIPELINE_EXECUTION_ARN),
                ("--model-package-group", settings.model_package_group),
                ("--endpoint-name", settings.endpoint_name),
            ]
        ),
    )
    # Its arguments name the execution, so a new execution always reruns it (its report compares with
    # the model deployed now); the cache still serves a retry of the same execution after a late failure.
    return cached_processing_step(
        settings,
        EVALUATE,
        "Score the model on the test split: evaluation.json (model-quality format), "
        "report.html compared with the deployed model.",
        step_args,
        property_files=[report],
    )


def _register_step(
    settings: Settings,
    session: OfflinePipelineSession,
    params: dict[str, Parameter],
    *,
    model_uri: object,
    evaluate: ProcessingStep,
    baseline: ProcessingStep,
    data_manifest_uri: object,
) -> ModelStep:
    evaluation_uri = evaluate.properties.ProcessingOutputConfig.Outputs[EVALUATION_OUTPUT].S3Output.S3Uri
    baseline_uri = baseline.properties.ProcessingOutputConfig.Outputs[BASELINE_OUTPUT].S3Output.S3Uri
    builder = ModelBuilder(
        image_uri=_serving_image(settings),
        s3_model_data_url=model_uri,
        env_vars=_serving_environment(settings),
        role_arn=settings.role_arn(MODEL_ROLE),
        sagemaker_session=session,
        log_level=None,  # the default (DEBUG) would reconfigure an SDK-wide logger
    )
    serving_instances = [settings.serving.instance_type]
    step_args = builder.register(
        model_package_group_name=settings.model_package_group,
        content_types=[CSV],
        response_types=[CSV],
        inference_instances=serving_instances,
        transform_instances=serving_instances,
        approval_status=params[p.MODEL_APPROVAL_STATUS],
        model_metrics=ModelMetrics(
            model_statistics=MetricsSource(
                content_type=JSON,
                s3_uri=output_file_uri(evaluation_uri, contract.Evaluate.EVALUATION_FILE),
            )
        ),
        # The monitoring job compares live traffic with these (see processing_scripts.monitor).
        drift_check_baselines=DriftCheckBaselines(
            model_data_statistics=MetricsSource(
                content_type=JSON, s3_uri=output_file_uri(baseline_uri, contract.STATISTICS_FILE)
            ),
            model_data_constraints=MetricsSource(
                content_type=JSON, s3_uri=output_file_uri(baseline_uri, contract.CONSTRAINTS_FILE)
            ),
        ),
        customer_metadata_properties={
            p.GIT_COMMIT: params[p.GIT_COMMIT],
            p.TRIGGERED_BY: params[p.TRIGGERED_BY],
            p.INPUT_DATA_URL: params[p.INPUT_DATA_URL],
            p.DATA_SNAPSHOT: params[p.DATA_SNAPSHOT],
            # Preprocess's data-version-<host>.json files: each object's version id and sha256.
            lineage.DATA_MANIFEST_URI: data_manifest_uri,
            lineage.PROCESSING_IMAGE_TAG: settings.processing_image_uri.rpartition(":")[2],
            lineage.PIPELINE_EXECUTION_ARN: ExecutionVariables.PIPELINE_EXECUTION_ARN,
        },
    )
    return ModelStep(
        name=REGISTER,
        description=f"Register a model package version in {settings.model_package_group}.",
        step_args=step_args,
        retry_policies=service_retry_policies(),
    )


def _approval_branch(settings: Settings, register: ModelStep) -> ConditionStep:
    """Deploy at once only what was registered as Approved; pending packages wait for a person.

    A later manual approval deploys through the EventBridge rule on the package's state change,
    which invokes the same deploy function.
    """
    deploy = LambdaStep(
        name=DEPLOY,
        description="Deploy the approved package to the endpoint (blue/green, idempotent).",
        lambda_func=Lambda(function_arn=settings.function_arn("deploy")),
        inputs={
            "model_package_arn": register.properties.ModelPackageArn,
            "endpoint_name": settings.endpoint_name,
        },
        outputs=[LambdaOutput(output, LambdaOutputTypeEnum.String) for output in DEPLOY_OUTPUTS],
    )
    return ConditionStep(
        name=CHECK_APPROVAL,
        description=f"Deploy only if the registered package is {APPROVED}.",
        conditions=[ConditionEquals(left=register.properties.ModelApprovalStatus, right=APPROVED)],
        if_steps=[deploy],
        else_steps=[],
    )


def _quality_condition(settings: Settings, metric: JsonGet, threshold: Parameter) -> ConditionComparison:
    comparison = settings.quality_gate.comparison
    condition = getattr(conditions, f"Condition{comparison}", None)
    if not (isinstance(condition, type) and issubclass(condition, ConditionComparison)):
        raise SettingsError(
            f"quality_gate.comparison {comparison!r} is not a SageMaker condition; use e.g. "
            "LessThanOrEqualTo or GreaterThanOrEqualTo"
        )
    return condition(left=metric, right=threshold)


def _failure_step(settings: Settings, metric: JsonGet, threshold: Parameter) -> FailStep:
    return FailStep(
        name=QUALITY_GATE_FAILED,
        description="Stop the run as failed: the model is not registered.",
        error_message=Join(
            on=" ",
            values=[
                f"Quality gate failed: {settings.quality_gate.metric_path} =",
                metric,
                f"is not {settings.quality_gate.comparison} the threshold",
                threshold,
            ],
        ),
    )


def _xgboost_image(settings: Settings) -> str:
    """The built-in XGBoost image, resolved from the SDK's bundled table (no network)."""
    return image_uris.retrieve("xgboost", region=settings.region, version=settings.training.xgboost_version)


def _training_image(settings: Settings) -> str:
    return (
        _xgboost_image(settings)
        if settings.training.script is None
        else _framework_image(settings, "training")
    )


def _serving_image(settings: Settings) -> str:
    return (
        _xgboost_image(settings)
        if settings.training.script is None
        else _framework_image(settings, "inference")
    )


def _framework_image(settings: Settings, scope: str) -> str:
    """A script-mode model's framework image for ``scope`` (training or inference), from the SDK's
    bundled catalogue; a version it lacks is a one-line error listing the ones it has."""
    script = script_model(settings)
    framework = SCRIPT_FRAMEWORKS[script.framework]
    try:
        return image_uris.retrieve(
            framework,
            region=settings.region,
            version=script.framework_version,
            py_version=script.py_version,
            instance_type=settings.training.instance_type
            if scope == "training"
            else settings.serving.instance_type,
            image_scope=scope,
        )
    except ValueError as err:
        versions = image_uris.config_for_framework(framework)[scope]["versions"]
        raise SettingsError(
            f"training.script: the SageMaker SDK's catalogue has no {scope} image for {script.framework} "
            f"{script.framework_version} ({script.py_version}); its {scope} versions: {', '.join(versions)}"
        ) from err


def _serving_environment(settings: Settings) -> dict[str, str] | None:
    """What a framework serving container needs to find the user's hooks: the module
    (``SAGEMAKER_PROGRAM``) and the archive holding it (``SAGEMAKER_SUBMIT_DIRECTORY``, an S3
    ``sourcedir.tar.gz`` the inference toolkit downloads and extracts, as the SDK's framework models
    set it when they do not repack the model); None for the built-in XGBoost."""
    script = settings.training.script
    if script is None:
        return None
    return {
        "SAGEMAKER_PROGRAM": script.serving_program,
        "SAGEMAKER_SUBMIT_DIRECTORY": source_archive(settings)[0],
        "SAGEMAKER_REGION": settings.region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    }


def _models_uri(settings: Settings) -> str:
    return f"{settings.pipeline_artifacts_uri}/{settings.training_pipeline_name}/models"
