"""Validation: the real definitions are clean; each kind of breakage gives its precise finding."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipelines.definition import PIPELINE, Finding, Severity, read_definition
from pipelines.settings import ENVIRONMENTS
from tests.pipelines.synthesized import definition, steps_by_name


@pytest.fixture
def training() -> dict[str, Any]:
    return copy.deepcopy(definition("dev", "training"))


def _findings(doc: Any) -> set[str]:
    return {str(f) for f in read_definition(doc).findings}


def _one(doc: Any) -> Finding:
    [finding] = read_definition(doc).findings
    return finding


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("kind", ["training", "monitoring"])
def test_the_synthesized_definitions_have_no_findings(env, kind):
    assert read_definition(definition(env, kind)).findings == ()


def test_a_finding_reads_as_one_line_naming_step_and_field():
    finding = Finding("Train", "Steps[1].Arguments.RoleArn", "required field is missing")
    assert str(finding) == "Train: Steps[1].Arguments.RoleArn: required field is missing"
    assert finding.severity == Severity.ERROR


def test_not_an_object():
    assert _findings([1]) == {f"{PIPELINE}: $: a pipeline definition is a JSON object"}


# -- references -------------------------------------------------------------------------------------
def test_unknown_get_target(training):
    channel = steps_by_name(training)["Train"]["Arguments"]["InputDataConfig"][0]
    channel["DataSource"]["S3DataSource"]["S3Uri"] = {
        "Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    assert _findings(training) == {
        "Train: Steps[1].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri: "
        "\"Steps.Prepare.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri\" refers to a step that does not exist"
    }


def test_property_path_that_the_step_type_does_not_have(training):
    evaluate = steps_by_name(training)["Evaluate"]
    evaluate["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifact"
    }
    assert _findings(training) == {
        "Evaluate: Steps[3].Arguments.ProcessingInputs[0].S3Input.S3Uri: "
        "'Steps.Train.ModelArtifacts.S3ModelArtifact': ModelArtifacts has no attribute 'S3ModelArtifact'"
    }


def test_a_list_is_indexed_by_name_not_by_attribute(training):
    baseline = steps_by_name(training)["Baseline"]
    baseline["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs.train.S3Output.S3Uri"
    }
    assert "ProcessingOutputConfig.Outputs has no attribute 'train'" in _one(training).message


def test_output_name_the_step_does_not_declare(training):
    baseline = steps_by_name(training)["Baseline"]
    baseline["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['training'].S3Output.S3Uri"
    }
    finding = _one(training)
    assert (finding.step, finding.field) == (
        "Baseline",
        "Steps[2].Arguments.ProcessingInputs[0].S3Input.S3Uri",
    )
    assert finding.message.endswith(
        "Preprocess has no ProcessingOutputConfig.Outputs element named 'training' "
        "(declared: ['schema', 'test', 'train', 'validation'])"
    )


def test_property_file_must_be_declared(training):
    gate = steps_by_name(training)["QualityGate"]["Arguments"]
    gate["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"] = {
        "Get": "Steps.Evaluate.PropertyFiles.Metrics"
    }
    assert _findings(training) == {
        "QualityGate: Steps[4].Arguments.Conditions[0].LeftValue['Std:JsonGet'].PropertyFile: "
        "'Steps.Evaluate.PropertyFiles.Metrics': Evaluate declares property files ['EvaluationReport']"
    }


def test_a_property_file_is_read_only_with_json_get(training):
    fail = steps_by_name(training)["QualityGateFailed"]
    fail["Arguments"]["ErrorMessage"] = {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}
    assert _one(training).message == (
        "'Steps.Evaluate.PropertyFiles.EvaluationReport': a property file is read with Std:JsonGet, not Get"
    )


def test_lambda_output_must_be_declared(training):
    check = steps_by_name(training)["CheckApproval"]["Arguments"]
    check["IfSteps"].append(
        {
            "Name": "ReportVersion",
            "Type": "Fail",
            "Arguments": {"ErrorMessage": {"Get": "Steps.Deploy.OutputParameters['version']"}},
        }
    )
    assert _findings(training) == {
        "ReportVersion: Steps[4].Arguments.IfSteps[1].Arguments.IfSteps[1].Arguments.ErrorMessage: "
        "\"Steps.Deploy.OutputParameters['version']\": Deploy declares outputs ['endpoint_name', 'status'] "
        "(read as OutputParameters['<name>'])"
    }


def test_a_step_cannot_read_a_step_that_runs_only_in_another_branch(training):
    fail = steps_by_name(training)["QualityGateFailed"]
    fail["Arguments"]["ErrorMessage"] = {"Get": "Steps.Register.ModelPackageArn"}
    assert _findings(training) == {
        "QualityGateFailed: Steps[4].Arguments.ElseSteps[0].Arguments.ErrorMessage: "
        "'Steps.Register.ModelPackageArn': step Register runs only in QualityGate.IfSteps, which this step is not in"
    }


def test_a_step_cannot_read_its_own_properties(training):
    train = steps_by_name(training)["Train"]
    train["Arguments"]["HyperParameters"]["seed"] = {"Get": "Steps.Train.TrainingJobName"}
    assert _one(training).message == "'Steps.Train.TrainingJobName': a step cannot read its own properties"


def test_a_jobs_own_execution_variable_only_inside_that_job(training):
    evaluate = steps_by_name(training)["Evaluate"]
    evaluate["Arguments"]["Environment"] = {"JOB": {"Get": "Execution.TrainingJobName"}}
    finding = _one(training)
    assert (finding.field, finding.message) == (
        "Steps[3].Arguments.Environment.JOB",
        "Execution.TrainingJobName is only defined inside a Training step",
    )
    evaluate["Arguments"]["Environment"] = {"JOB": {"Get": "Execution.ProcessingJobName"}}
    assert read_definition(training).findings == ()


def test_unknown_execution_variable_and_unparseable_reference(training):
    evaluate = steps_by_name(training)["Evaluate"]
    evaluate["Arguments"]["Environment"] = {
        "A": {"Get": "Execution.JobName"},
        "B": {"Get": "Steps.Train"},
        "C": {"Std:Concat": ["a", "b"]},  # the schema also says C is no string value
    }
    assert _findings(training) >= {
        "Evaluate: Steps[3].Arguments.Environment.A: unknown execution variable 'JobName' in "
        "'Execution.JobName'; known: PipelineExecutionId, PipelineExecutionArn, PipelineName, PipelineArn, "
        "StartDateTime, CurrentDateTime, TrainingJobName, ProcessingJobName",
        "Evaluate: Steps[3].Arguments.Environment.B: reference 'Steps.Train' names a step but no property of it",
        "Evaluate: Steps[3].Arguments.Environment.C['Std:Concat']: unsupported function 'Std:Concat'; "
        "supported: Std:Join, Std:JsonGet",
    }


def test_json_get_from_an_s3_uri_is_a_valid_expression(training):
    fail = steps_by_name(training)["QualityGateFailed"]
    fail["Arguments"]["ErrorMessage"] = {
        "Std:JsonGet": {
            "S3Uri": {
                "Std:Join": {"On": "/", "Values": ["s3://bucket-name", {"Get": "Execution.PipelineName"}]}
            },
            "Path": "metrics.rmse.value",
        }
    }
    assert read_definition(training).findings == ()


def test_unsupported_condition_type(training):
    gate = steps_by_name(training)["QualityGate"]["Arguments"]
    gate["Conditions"] = [
        {"Type": "Not", "Condition": {"Type": "Matches", "LeftValue": "a", "RightValue": "b"}}
    ]
    assert _findings(training) == {
        "QualityGate: Steps[4].Arguments.Conditions[0].Condition.Type: unsupported condition type 'Matches'; "
        "supported: Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not, Or"
    }


# -- steps and the graph ----------------------------------------------------------------------------
def test_depends_on_an_unknown_step(training):
    steps_by_name(training)["Baseline"]["DependsOn"] = ["Preprocess", "Ghost"]
    assert _findings(training) == {
        "Baseline: Steps[2].DependsOn[1]: DependsOn names step 'Ghost', which does not exist"
    }


def test_dependency_cycle(training):
    steps_by_name(training)["Preprocess"]["DependsOn"] = ["Evaluate"]
    assert _findings(training) == {"Evaluate: Steps[3]: dependency cycle: Evaluate -> Preprocess -> Evaluate"}


def test_a_step_depending_on_itself_is_a_cycle(training):
    steps_by_name(training)["Baseline"]["DependsOn"] = ["Baseline"]
    assert _findings(training) == {"Baseline: Steps[2]: dependency cycle: Baseline -> Baseline"}


def test_duplicate_step_name(training):
    steps_by_name(training)["QualityGateFailed"]["Name"] = "Baseline"
    assert _findings(training) == {
        "Baseline: Steps[4].Arguments.ElseSteps[0].Name: duplicate step name (also at Steps[2])"
    }


def test_unknown_step_type_names_the_known_ones(training):
    training["Steps"][0]["Type"] = "CreateModel"  # the API's name; the definition says Model
    finding = _one(training)
    assert (finding.step, finding.field) == ("Preprocess", "Steps[0].Type")
    assert finding.message.startswith("unknown step type 'CreateModel' (known: Processing, Training, Tuning")


def test_a_model_steps_properties_are_describe_model_output(training):
    register = steps_by_name(training)["Register"]
    model_data = register["Arguments"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    model = {
        "Name": "CreateModel",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/x",
            "PrimaryContainer": {"Image": "image", "ModelDataUrl": model_data},
        },
    }
    training["Steps"].append(model)
    training["Steps"].append(
        {
            "Name": "Named",
            "Type": "Fail",
            "Arguments": {"ErrorMessage": {"Get": "Steps.CreateModel.ModelArn"}},
        }
    )
    assert read_definition(training).findings == ()
    training["Steps"][-1]["Arguments"]["ErrorMessage"] = {"Get": "Steps.CreateModel.ModelPackageArn"}
    assert _one(training).message == (
        "'Steps.CreateModel.ModelPackageArn': DescribeModelOutput has no attribute 'ModelPackageArn'"
    )


def test_cache_config_only_where_sagemaker_caches_and_a_valid_expire_after(training):
    steps_by_name(training)["Register"]["CacheConfig"] = {"Enabled": True}
    steps_by_name(training)["Preprocess"]["CacheConfig"]["ExpireAfter"] = "7 days"
    assert _findings(training) == {
        "Preprocess: Steps[0].CacheConfig.ExpireAfter: ExpireAfter '7 days' is not an ISO 8601 duration "
        "such as P30D or PT1H",
        "Register: Steps[4].Arguments.IfSteps[0].CacheConfig: a RegisterModel step is never cached "
        "(cacheable: Processing, Training, Tuning, Transform, Lambda, Callback, QualityCheck, ClarifyCheck, "
        "EMR, EMRServerless, AutoML, EndpointConfig, Endpoint)",
    }


# -- parameters -------------------------------------------------------------------------------------
def test_undeclared_parameter(training):
    training["Parameters"] = [p for p in training["Parameters"] if p["Name"] != "TriggeredBy"]
    assert _findings(training) == {
        "Register: Steps[4].Arguments.IfSteps[0].Arguments.CustomerMetadataProperties.TriggeredBy: "
        "parameter 'TriggeredBy' is not declared in Parameters"
    }


def test_declared_but_unused_parameter_is_a_warning(training):
    training["Parameters"].append({"Name": "Unused", "Type": "String", "DefaultValue": "x"})
    index = len(training["Parameters"]) - 1
    read = read_definition(training)
    assert read.errors == ()
    assert [str(w) for w in read.warnings] == [
        f"{PIPELINE}: Parameters[{index}]: parameter 'Unused' is declared but no step uses it"
    ]
    read.raise_for_errors()  # SageMaker accepts it, so nothing refuses it


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        (
            {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": 2.0},
            "Parameters[3].DefaultValue: Integer expects a JSON integer such as 3, got 2.0",
        ),
        (
            {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": "2"},
            "Parameters[3].DefaultValue: Integer expects a JSON integer such as 3, got '2'",
        ),
        (
            {"Name": "ProcessingInstanceCount", "Type": "Long", "DefaultValue": 2},
            "Parameters[3].Type: parameter type 'Long' is not one of String, Integer, Float, Boolean",
        ),
        (
            {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": True},
            "Parameters[3].DefaultValue: Integer expects a JSON integer such as 3, got True",
        ),
    ],
)
def test_a_parameter_default_is_of_the_declared_type(training, parameter, expected):
    training["Parameters"][3] = parameter
    assert _findings(training) == {f"{PIPELINE}: {expected}"}


def test_a_parameter_default_is_one_of_its_enum_values(training):
    status = next(p for p in training["Parameters"] if p["Name"] == "ModelApprovalStatus")
    status["DefaultValue"] = "Maybe"
    [finding] = read_definition(training).findings
    assert finding.message == "'Maybe' is not one of the EnumValues Approved, PendingManualApproval, Rejected"


def test_duplicate_parameter(training):
    training["Parameters"].append(dict(training["Parameters"][0]))
    index = len(training["Parameters"]) - 1
    assert _findings(training) == {
        f"{PIPELINE}: Parameters[{index}].Name: duplicate parameter 'InputDataUrl'"
    }


# -- S3 URIs and the schema -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("s3:/bucket-name/raw.csv", "an S3 URI starts with s3://"),
        ("s3://Bad_Bucket/raw.csv", "bucket 'Bad_Bucket' is not a valid bucket name (3-63 of a-z 0-9 . -)"),
        ("s3://bucket-name//raw.csv", "empty path segment (//)"),
    ],
)
def test_malformed_s3_uri_in_a_parameter_default(training, uri, problem):
    training["Parameters"][0]["DefaultValue"] = uri
    assert _findings(training) == {f"{PIPELINE}: Parameters[0].DefaultValue: {uri!r}: {problem}"}


def test_malformed_s3_uri_built_by_a_join(training):
    output = steps_by_name(training)["Baseline"]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    output["S3Output"]["S3Uri"]["Std:Join"]["Values"][0] = "s3://artifacts_bucket/pipelines"
    finding = _one(training)
    assert finding.step == "Baseline"
    assert finding.field == "Steps[2].Arguments.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri['Std:Join']"
    assert "bucket 'artifacts_bucket' is not a valid bucket name" in finding.message


def test_missing_required_field(training):
    del steps_by_name(training)["Preprocess"]["Arguments"]["RoleArn"]
    assert _findings(training) == {"Preprocess: Steps[0].Arguments.RoleArn: required field is missing"}


def test_missing_required_field_in_a_branch_step(training):
    del steps_by_name(training)["Register"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert _findings(training) == {
        "Register: Steps[4].Arguments.IfSteps[0].Arguments.InferenceSpecification.Containers[0].Image: "
        "required field is missing"
    }


def test_unknown_step_field_is_rejected_by_the_schema(training):
    training["Steps"][0]["DependOn"] = ["Evaluate"]
    finding = _one(training)
    assert (finding.step, finding.field) == ("Preprocess", "Steps[0]")
    assert "'DependOn' was unexpected" in finding.message


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"Version": "2020-12-01", "Steps": "Preprocess"},
            "(pipeline): Steps: 'Preprocess' is not of type 'array'",
        ),
        (
            {
                "Version": "2020-12-01",
                "Steps": [{"Name": "A", "Type": "Fail", "Arguments": 5, "DependsOn": "A"}],
            },
            "A: Steps[0].DependsOn: 'A' is not of type 'array'",
        ),
        (
            {
                "Version": "2020-12-01",
                "Steps": [{"Name": "A", "Type": "Fail", "Arguments": {}, "PropertyFiles": []}],
            },
            "A: Steps[0].PropertyFiles: a Fail step has no property files (only Processing)",
        ),
        (
            {"Version": "2020-12-01", "Steps": [{"Type": "Fail", "Arguments": {}}, 7]},
            "(pipeline): Steps[0].Name: required field is missing",
        ),
    ],
)
def test_malformed_shapes_are_findings_not_crashes(doc, expected):
    assert expected in _findings(doc)
