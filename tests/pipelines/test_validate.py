"""Validation: the real definitions are clean; each kind of breakage gives its precise finding."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipelines.settings import ENVIRONMENTS
from pipelines.validate import PIPELINE, Finding, validate_definition
from tests.pipelines.synthesized import definition, steps_by_name


@pytest.fixture
def training() -> dict[str, Any]:
    return copy.deepcopy(definition("dev", "training"))


def _findings(doc: Any) -> set[str]:
    return {str(f) for f in validate_definition(doc)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("kind", ["training", "monitoring"])
def test_the_synthesized_definitions_are_valid(env, kind):
    assert validate_definition(definition(env, kind)) == []


def test_a_finding_reads_as_one_line_naming_step_and_field():
    finding = Finding("Train", "Steps[1].Arguments.RoleArn", "required field is missing")
    assert str(finding) == "Train: Steps[1].Arguments.RoleArn: required field is missing"


def test_not_an_object():
    assert _findings([1]) == {f"{PIPELINE}: $: a pipeline definition is a JSON object"}


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


def test_output_name_the_step_does_not_declare(training):
    baseline = steps_by_name(training)["Baseline"]
    baseline["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['training'].S3Output.S3Uri"
    }
    [finding] = validate_definition(training)
    assert (finding.step, finding.field) == (
        "Baseline",
        "Steps[2].Arguments.ProcessingInputs[0].S3Input.S3Uri",
    )
    assert "Preprocess has no output 'training'" in finding.message


def test_property_file_must_be_declared(training):
    gate = steps_by_name(training)["QualityGate"]["Arguments"]
    gate["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"] = {
        "Get": "Steps.Evaluate.PropertyFiles.Metrics"
    }
    assert _findings(training) == {
        "QualityGate: Steps[4].Arguments.Conditions[0].LeftValue['Std:JsonGet'].PropertyFile: "
        "'Steps.Evaluate.PropertyFiles.Metrics': Evaluate declares property files ['EvaluationReport']"
    }


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
        "\"Steps.Deploy.OutputParameters['version']\": Deploy declares outputs ['endpoint_name', 'status']"
    }


def test_a_step_cannot_read_a_step_that_runs_only_in_another_branch(training):
    fail = steps_by_name(training)["QualityGateFailed"]
    fail["Arguments"]["ErrorMessage"] = {"Get": "Steps.Register.ModelPackageArn"}
    assert _findings(training) == {
        "QualityGateFailed: Steps[4].Arguments.ElseSteps[0].Arguments.ErrorMessage: "
        "'Steps.Register.ModelPackageArn': step Register runs only in QualityGate.IfSteps, which this step is not in"
    }


def test_dependency_cycle(training):
    steps_by_name(training)["Preprocess"]["DependsOn"] = ["Evaluate"]
    assert _findings(training) == {"Evaluate: Steps[3]: dependency cycle: Evaluate -> Preprocess -> Evaluate"}


def test_undeclared_parameter(training):
    training["Parameters"] = [p for p in training["Parameters"] if p["Name"] != "TriggeredBy"]
    assert _findings(training) == {
        "Register: Steps[4].Arguments.IfSteps[0].Arguments.CustomerMetadataProperties.TriggeredBy: "
        "parameter 'TriggeredBy' is not declared in Parameters"
    }


def test_declared_but_unused_parameter(training):
    training["Parameters"].append({"Name": "Unused", "Type": "String", "DefaultValue": "x"})
    index = len(training["Parameters"]) - 1
    assert _findings(training) == {
        f"{PIPELINE}: Parameters[{index}]: parameter 'Unused' is declared but no step uses it"
    }


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
    [finding] = validate_definition(training)
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


def test_duplicate_step_name(training):
    steps_by_name(training)["QualityGateFailed"]["Name"] = "Baseline"
    assert _findings(training) == {
        "Baseline: Steps[4].Arguments.ElseSteps[0].Name: duplicate step name (also at Steps[2])"
    }


def test_unknown_step_field_is_rejected_by_the_schema(training):
    training["Steps"][0]["DependOn"] = ["Evaluate"]
    [finding] = validate_definition(training)
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
            "A: Steps[0].PropertyFiles: field is not allowed here",
        ),
    ],
)
def test_malformed_shapes_are_findings_not_crashes(doc, expected):
    assert expected in _findings(doc)
