"""The training pipeline's structure: steps, wiring, parameters, gate, registration and deploy."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from pipelines import parameters as p
from pipelines import settings as settings_module
from pipelines import training
from processing_scripts import contract
from tests.pipelines.synthesized import definition, steps_by_name

DEV = settings_module.load("dev")
PROD = settings_module.load("prod")


def _get(target: str) -> dict[str, str]:
    return {"Get": target}


def _output_ref(step: str, output: str) -> dict[str, str]:
    return _get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def _inputs(step: dict) -> dict[str, dict]:
    return {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}


IMAGE_TAG = re.compile(r"^sha-[0-9a-f]{16}$")


def _processing_image(settings: settings_module.Settings, uri: str) -> str:
    """The tag of a project-image URI (asserting the repository).

    The tag is a digest of processing_scripts/, which may change while the suite runs; tests
    compare the repository and the tag's form, and the golden files pin the exact value.
    """
    repository, _, tag = uri.rpartition(":")
    assert repository == settings.processing_image_uri.rpartition(":")[0]
    assert IMAGE_TAG.match(tag), uri
    return tag


def _outputs(step: dict) -> dict[str, dict]:
    return {o["OutputName"]: o["S3Output"] for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]}


def test_dev_trains_and_prod_tunes_with_the_same_graph_around_it():
    dev_steps = {n: s["Type"] for n, s in steps_by_name(definition("dev", "training")).items()}
    prod_steps = {n: s["Type"] for n, s in steps_by_name(definition("prod", "training")).items()}
    common = {
        "Preprocess": "Processing",
        "Baseline": "Processing",
        "Evaluate": "Processing",
        "QualityGate": "Condition",
        "Register": "RegisterModel",
        "CheckApproval": "Condition",
        "Deploy": "Lambda",
        "QualityGateFailed": "Fail",
    }
    assert dev_steps == {**common, "Train": "Training"}
    assert prod_steps == {**common, "Tune": "Tuning"}
    assert [s["Name"] for s in definition("dev", "training")["Steps"]] == [
        "Preprocess",
        "Train",
        "Baseline",
        "Evaluate",
        "QualityGate",
    ]


@pytest.mark.parametrize("settings", [DEV, PROD], ids=["dev", "prod"])
def test_parameters_are_the_declared_specs(settings):
    doc = definition(settings.env, "training")
    expected = [
        {
            "Name": s.name,
            "Type": s.type,
            "DefaultValue": s.default,
            **({"EnumValues": list(s.allowed)} if s.allowed else {}),
        }
        for s in p.training_parameters(settings)
    ]
    assert doc["Parameters"] == expected
    tuning_limits = {p.MAX_TUNING_JOBS, p.MAX_PARALLEL_TUNING_JOBS}
    declared_limits = tuning_limits & {spec["Name"] for spec in expected}
    assert declared_limits == (tuning_limits if settings.training.tuning_enabled else set())
    defaults = {spec["Name"]: spec["DefaultValue"] for spec in expected}
    assert defaults[p.INPUT_DATA_URL] == settings.raw_data_uri
    assert defaults[p.QUALITY_THRESHOLD] == settings.quality_gate.threshold
    assert defaults[p.MODEL_APPROVAL_STATUS] == settings.model_approval_status
    assert defaults[p.GIT_COMMIT] == "unknown"  # a plain synth: nobody said which commit
    assert defaults[p.TRIGGERED_BY] == "manual"
    assert defaults[p.DATA_SNAPSHOT] == "initial"


def test_prod_refuses_a_run_that_would_register_a_package_approved():
    """With manual approval, SageMaker itself rejects ModelApprovalStatus=Approved at start."""
    (status,) = [
        q for q in definition("prod", "training")["Parameters"] if q["Name"] == p.MODEL_APPROVAL_STATUS
    ]
    assert status["EnumValues"] == [settings_module.PENDING_MANUAL_APPROVAL]
    (dev_status,) = [
        q for q in definition("dev", "training")["Parameters"] if q["Name"] == p.MODEL_APPROVAL_STATUS
    ]
    assert settings_module.APPROVED in dev_status["EnumValues"]


@pytest.mark.parametrize("kind", ["training", "monitoring"])
def test_every_job_runs_as_the_job_role_carries_the_tags_and_no_run_creates_experiments(kind: str) -> None:
    for settings in (DEV, PROD):
        doc = definition(settings.env, kind)
        assert doc.get("PipelineExperimentConfig") is None
        tags = [{"Key": k, "Value": v} for k, v in sorted(settings.tags.items())]
        nested = [s for c in doc["Steps"] for s in c.get("Arguments", {}).get("IfSteps", [])]
        jobs = [s for s in doc["Steps"] + nested if s["Type"] in ("Processing", "Training", "Tuning")]
        assert jobs
        for step in jobs:
            args = step["Arguments"]
            definition_of_jobs = args.get("TrainingJobDefinition", args)  # tuning: per training job
            assert definition_of_jobs["RoleArn"] == settings.role_arn(settings_module.JOB_ROLE), step["Name"]
            assert args["Tags"] == tags, step["Name"]


def test_processing_steps_run_module_scripts_from_the_project_image_without_uploading_code():
    steps = steps_by_name(definition("dev", "training"))
    tags = set()
    for name, script in [("Preprocess", "preprocess"), ("Baseline", "baseline"), ("Evaluate", "evaluate")]:
        args = steps[name]["Arguments"]
        tags.add(_processing_image(DEV, args["AppSpecification"]["ImageUri"]))
        assert args["AppSpecification"]["ContainerEntrypoint"] == [
            "python3",
            "-m",
            f"processing_scripts.{script}",
        ]
        assert args["RoleArn"] == DEV.role_arn(settings_module.JOB_ROLE)
        assert "code" not in _inputs(steps[name])
        for output in _outputs(steps[name]).values():
            assert output["S3Uri"]["Std:Join"]["Values"][:2] == [
                DEV.pipeline_artifacts_uri,
                DEV.training_pipeline_name,
            ]
            assert output["S3Uri"]["Std:Join"]["Values"][2] == _get("Execution.PipelineExecutionId")
    registered_tag = steps["Register"]["Arguments"]["CustomerMetadataProperties"]["ProcessingImageTag"]
    assert tags == {registered_tag}  # one image for all steps, recorded on the model package


def test_preprocess_shards_the_input_across_instances_and_writes_the_contract_outputs():
    preprocess = steps_by_name(definition("dev", "training"))["Preprocess"]
    raw = _inputs(preprocess)["raw"]
    assert raw["S3Uri"] == _get(f"Parameters.{p.INPUT_DATA_URL}")
    assert raw["S3DataDistributionType"] == "ShardedByS3Key"
    assert raw["LocalPath"] == contract.Preprocess.RAW
    cluster = preprocess["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == _get(f"Parameters.{p.PROCESSING_INSTANCE_COUNT}")
    assert preprocess["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--split-ratios",
        ",".join(str(r) for r in DEV.processing.split_ratios),
        "--seed",
        str(DEV.processing.split_seed),
        # An argument, so it is part of the step's cache key: a new snapshot reruns the step.
        "--data-snapshot",
        _get(f"Parameters.{p.DATA_SNAPSHOT}"),
        # Where the raw objects came from: their version ids and hashes are recorded (lineage).
        "--input-data-url",
        _get(f"Parameters.{p.INPUT_DATA_URL}"),
    ]
    assert preprocess["Arguments"]["Environment"] == {"AWS_DEFAULT_REGION": DEV.region}
    register = steps_by_name(definition("dev", "training"))["Register"]["Arguments"]
    assert register["CustomerMetadataProperties"]["DataManifestUri"] == _get(
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['schema'].S3Output.S3Uri"
    )
    assert {n: o["LocalPath"] for n, o in _outputs(preprocess).items()} == {
        "train": contract.Preprocess.TRAIN,
        "validation": contract.Preprocess.VALIDATION,
        "test": contract.Preprocess.TEST,
        "schema": contract.Preprocess.SCHEMA,
    }


def test_training_uses_builtin_xgboost_with_the_settings_hyperparameters_on_the_splits():
    train = steps_by_name(definition("dev", "training"))["Train"]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"].endswith(
        f"/sagemaker-xgboost:{DEV.training.xgboost_version}"
    )
    assert train["HyperParameters"] == DEV.training.hyperparameters
    assert train["StoppingCondition"]["MaxRuntimeInSeconds"] == DEV.training.max_runtime_seconds
    assert train["ResourceConfig"]["InstanceType"] == _get(f"Parameters.{p.TRAINING_INSTANCE_TYPE}")
    channels = {c["ChannelName"]: c for c in train["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        assert channel["ContentType"] == "text/csv"
        assert channel["DataSource"]["S3DataSource"]["S3Uri"] == _output_ref("Preprocess", name)


def test_tuning_searches_the_settings_ranges_with_parameterized_limits():
    tune = steps_by_name(definition("prod", "training"))["Tune"]["Arguments"]
    config = tune["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {"MetricName": "validation:rmse", "Type": "Minimize"}
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": _get(f"Parameters.{p.MAX_TUNING_JOBS}"),
        "MaxParallelTrainingJobs": _get(f"Parameters.{p.MAX_PARALLEL_TUNING_JOBS}"),
    }
    ranges = {
        r["Name"]: (kind, float(r["MinValue"]), float(r["MaxValue"]))
        for kind, items in config["ParameterRanges"].items()
        for r in items
    }
    assert ranges == {
        name: (
            "IntegerParameterRanges"
            if all(isinstance(b, int) for b in bounds)
            else "ContinuousParameterRanges",
            *map(float, bounds),
        )
        for name, bounds in PROD.training.tuning_ranges.items()
    }
    static = tune["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static == {k: v for k, v in PROD.training.hyperparameters.items() if k not in ranges}


def test_the_best_tuning_job_model_is_what_gets_evaluated_and_registered():
    steps = steps_by_name(definition("prod", "training"))
    output_path = steps["Tune"]["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"]
    model_uri = _inputs(steps["Evaluate"])["model"]["S3Uri"]
    join = model_uri["Std:Join"]
    assert join["On"] == "/"
    assert "/".join(join["Values"][:3]) == output_path  # "s3:/" + "/" + bucket + "/" + prefix
    assert join["Values"][3:] == [
        _get("Steps.Tune.TrainingJobSummaries[0].TrainingJobName"),
        "output/model.tar.gz",
    ]
    container = steps["Register"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == model_uri


def test_baseline_runs_beside_training_on_the_train_split_with_the_settings_thresholds():
    baseline = steps_by_name(definition("dev", "training"))["Baseline"]
    inputs = _inputs(baseline)
    assert inputs["train"]["S3Uri"] == _output_ref("Preprocess", "train")
    assert inputs["schema"]["S3Uri"] == _output_ref("Preprocess", "schema")
    assert "DependsOn" not in baseline
    assert {ref.split(".")[1] for ref in re.findall(r'"Get": "(Steps\.[^"]+)"', json.dumps(baseline))} == {
        "Preprocess"
    }
    drift = DEV.monitoring.drift
    assert baseline["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--comparison-threshold", str(drift.comparison_threshold),
        "--comparison-method", drift.comparison_method,
        "--categorical-threshold", str(drift.categorical_comparison_threshold),
        "--categorical-method", drift.categorical_drift_method,
        "--completeness-threshold", str(drift.completeness_threshold),
    ]  # fmt: skip


def test_evaluate_publishes_evaluation_json_as_the_gates_property_file():
    evaluate = steps_by_name(definition("dev", "training"))["Evaluate"]
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    assert _outputs(evaluate)["evaluation"]["LocalPath"] == contract.Evaluate.EVALUATION
    inputs = _inputs(evaluate)
    assert inputs["model"]["S3Uri"] == _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert inputs["test"]["S3Uri"] == _output_ref("Preprocess", "test")
    # The report names its inputs by the same S3 URIs and states the gate's verdict (issue 17).
    gate = DEV.quality_gate
    assert evaluate["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--model-uri", inputs["model"]["S3Uri"], "--test-uri", inputs["test"]["S3Uri"],
        "--gate-metric-path", gate.metric_path, "--gate-comparison", gate.comparison,
        "--gate-threshold", {"Std:Join": {"On": "", "Values": [_get("Parameters.QualityThreshold")]}},
        "--execution-arn", _get("Execution.PipelineExecutionArn"),
        "--model-package-group", DEV.model_package_group, "--endpoint-name", DEV.endpoint_name,
    ]  # fmt: skip


def test_quality_gate_compares_the_metric_with_the_threshold_and_fails_loudly_otherwise():
    gate = steps_by_name(definition("dev", "training"))["QualityGate"]["Arguments"]
    metric = {
        "Std:JsonGet": {
            "Path": DEV.quality_gate.metric_path,
            "PropertyFile": _get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
        }
    }
    assert gate["Conditions"] == [
        {
            "Type": DEV.quality_gate.comparison,
            "LeftValue": metric,
            "RightValue": _get(f"Parameters.{p.QUALITY_THRESHOLD}"),
        }
    ]
    assert [s["Name"] for s in gate["IfSteps"]] == ["Register", "CheckApproval"]
    [fail] = gate["ElseSteps"]
    values = fail["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert metric in values and _get(f"Parameters.{p.QUALITY_THRESHOLD}") in values


def test_register_carries_metrics_drift_baselines_and_lineage():
    register = steps_by_name(definition("dev", "training"))["Register"]["Arguments"]
    assert register["ModelPackageGroupName"] == DEV.model_package_group
    assert register["ModelApprovalStatus"] == _get(f"Parameters.{p.MODEL_APPROVAL_STATUS}")
    spec = register["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert spec["Containers"][0]["Image"].endswith(f"/sagemaker-xgboost:{DEV.training.xgboost_version}")
    quality = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert quality["S3Uri"]["Std:Join"]["Values"] == [
        _output_ref("Evaluate", "evaluation"),
        "evaluation.json",
    ]
    data_quality = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert data_quality["Statistics"]["S3Uri"]["Std:Join"]["Values"] == [
        _output_ref("Baseline", "baseline"),
        contract.STATISTICS_FILE,
    ]
    assert data_quality["Constraints"]["S3Uri"]["Std:Join"]["Values"] == [
        _output_ref("Baseline", "baseline"),
        contract.CONSTRAINTS_FILE,
    ]
    metadata = register["CustomerMetadataProperties"]
    assert metadata[p.GIT_COMMIT] == _get(f"Parameters.{p.GIT_COMMIT}")
    assert metadata[p.TRIGGERED_BY] == _get(f"Parameters.{p.TRIGGERED_BY}")
    assert metadata[p.INPUT_DATA_URL] == _get(f"Parameters.{p.INPUT_DATA_URL}")
    assert metadata[p.DATA_SNAPSHOT] == _get(f"Parameters.{p.DATA_SNAPSHOT}")
    assert metadata["PipelineExecutionArn"] == _get("Execution.PipelineExecutionArn")


def test_only_an_approved_package_is_deployed_by_the_deploy_lambda():
    check = steps_by_name(definition("dev", "training"))["CheckApproval"]["Arguments"]
    assert check["Conditions"] == [
        {"Type": "Equals", "LeftValue": _get("Steps.Register.ModelApprovalStatus"), "RightValue": "Approved"}
    ]
    [deploy] = check["IfSteps"]
    assert check["ElseSteps"] == []
    assert deploy["FunctionArn"] == DEV.function_arn("deploy")
    assert deploy["Arguments"] == {
        "model_package_arn": _get("Steps.Register.ModelPackageArn"),
        "endpoint_name": DEV.endpoint_name,
    }
    assert deploy["OutputParameters"] == [
        {"OutputName": "status", "OutputType": "String"},
        {"OutputName": "endpoint_name", "OutputType": "String"},
    ]


def test_job_steps_are_cached_and_retried_and_the_rest_are_not():
    steps = steps_by_name(definition("prod", "training"))
    for name in ("Preprocess", "Tune", "Baseline", "Evaluate"):
        assert steps[name]["CacheConfig"] == {
            "Enabled": True,
            "ExpireAfter": PROD.pipeline_cache_expire_after,
        }
        exceptions = {e for policy in steps[name]["RetryPolicies"] for e in policy["ExceptionType"]}
        assert {"Step.THROTTLING", "Step.SERVICE_FAULT", "SageMaker.CAPACITY_ERROR"} <= exceptions
    register_exceptions = {
        e for policy in steps["Register"]["RetryPolicies"] for e in policy["ExceptionType"]
    }
    assert register_exceptions == {"Step.THROTTLING", "Step.SERVICE_FAULT"}
    for name in ("Register", "Deploy", "QualityGate", "CheckApproval"):
        assert "CacheConfig" not in steps[name]


def test_an_unknown_gate_comparison_is_a_settings_error_naming_the_field():
    from pipelines.sdk_session import offline_session, quiet_sdk

    bad = dataclasses.replace(
        DEV, quality_gate=dataclasses.replace(DEV.quality_gate, comparison="RoughlyEqual")
    )
    with (
        pytest.raises(settings_module.SettingsError, match=r"quality_gate\.comparison 'RoughlyEqual'"),
        quiet_sdk(),
    ):
        training.build_training_pipeline(bad, offline_session(bad))


KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ISOLATED = settings_module.IsolationConfig(
    kms_key_arn=KEY,
    subnet_ids=("subnet-0a1b2c3d",),
    security_group_ids=("sg-0a1b2c3d",),
    network_isolation=True,
    inter_container_encryption=True,
)


@pytest.mark.parametrize("settings", [DEV, PROD], ids=["dev", "prod"])
def test_isolation_settings_reach_every_job_of_both_pipelines(settings):
    """Off by default (the golden files carry none of it); on, each job has the key, the VPC and
    encryption between instances, and training (or each tuning job) also network isolation."""
    from pipelines.synth import render_pipelines

    isolated = dataclasses.replace(settings, isolation=ISOLATED)
    vpc = {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]}
    jobs = 0
    for body in render_pipelines(isolated).values():
        doc = json.loads(body)
        nested = [s for c in doc["Steps"] for s in c.get("Arguments", {}).get("IfSteps", [])]
        for step in doc["Steps"] + nested:
            args = step.get("Arguments", {})
            if step["Type"] == "Processing":
                jobs += 1
                assert args["NetworkConfig"] == {
                    "EnableInterContainerTrafficEncryption": True,
                    "EnableNetworkIsolation": False,
                    "VpcConfig": vpc,
                }
                assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
                assert args["ProcessingOutputConfig"]["KmsKeyId"] == KEY
            elif step["Type"] in ("Training", "Tuning"):
                jobs += 1
                job = args.get("TrainingJobDefinition", args)
                assert job["VpcConfig"] == vpc
                assert job["EnableNetworkIsolation"] is True
                assert job["EnableInterContainerTrafficEncryption"] is True
                assert job["ResourceConfig"]["VolumeKmsKeyId"] == KEY
                assert job["OutputDataConfig"]["KmsKeyId"] == KEY
    assert jobs == 5  # preprocess, train|tune, baseline, evaluate; monitor


def test_isolation_refuses_half_a_vpc_and_a_key_that_is_not_an_arn():
    with pytest.raises(settings_module.SettingsError, match="together"):
        settings_module.IsolationConfig(subnet_ids=("subnet-1",))
    with pytest.raises(settings_module.SettingsError, match="must be a key ARN"):
        settings_module.IsolationConfig(kms_key_arn="alias/mine")


def test_the_git_commit_default_is_the_commit_the_settings_were_given():
    """Scheduled and alarm-started runs send no GitCommit: the default baked in at deploy is theirs."""
    baked = dataclasses.replace(settings_module.load("dev"), source_commit="0123abc-dirty")
    defaults = {d.name: d.default for d in p.training_parameters(baked)}
    assert defaults[p.GIT_COMMIT] == "0123abc-dirty"
