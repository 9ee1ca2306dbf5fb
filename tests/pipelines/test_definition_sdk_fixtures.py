"""Definitions built by the SageMaker SDK itself are accepted exactly as SageMaker accepts them.

The fixtures (``fixtures/sdk2``, ``fixtures/sdk3``) are JSON the SDK 2.x and 3.x wrote from the
builders in ``fixtures/sdk_builders`` (see the README next to each set): what a user of AWS's
published examples sends to ``validate``. Each must have no error; each step type's real
properties must resolve and a misspelled one must be an error naming the step; and every rule
that makes an error still fires on them, since accepting everything would pass the first test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.sagemaker.executor.engine import LOCAL_STEP_TYPES, prepare
from pipelines.definition import STEP_TYPES, DefinitionError, read_definition

FIXTURES = Path(__file__).with_name("fixtures")
BUILT = sorted(FIXTURES.glob("sdk[0-9]/*.json"))
# SageMaker accepts these, and they are suspect: the SDK 2.x tuner's instance configs replace the
# estimator's instance type, so the parameter that set it no longer does anything.
EXPECTED_WARNINGS = {
    "sdk2/tuning.json": {
        "(pipeline): Parameters[0]: parameter 'TrainingInstanceType' is declared but no step uses it"
    },
}
PROBE = "Probe"


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _errors(document: Any) -> list[str]:
    return [str(finding) for finding in read_definition(document).errors]


def _step_lists(steps: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Every list of steps: the top level, each condition branch and each ForEach body."""
    yield steps
    for step in steps:
        for arm in STEP_TYPES[step["Type"]].branches:
            yield from _step_lists(step["Arguments"].get(arm, []))


def _step(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for steps in _step_lists(document["Steps"]) for step in steps if step["Name"] == name)


def _with_probe(document: dict[str, Any], source: str, path: str) -> dict[str, Any]:
    """A copy with a Fail step reading ``Steps.<source>.<path>``, beside the source (same branch)."""
    probed = copy.deepcopy(document)
    siblings = next(
        steps for steps in _step_lists(probed["Steps"]) if any(s["Name"] == source for s in steps)
    )
    reference = {"Get": f"Steps.{source}.{path}"}
    siblings.append({"Name": PROBE, "Type": "Fail", "Arguments": {"ErrorMessage": reference}})
    return probed


# -- every SDK-built definition is accepted -----------------------------------------------------------
@pytest.mark.parametrize("path", BUILT, ids=_name)
def test_every_sdk_built_definition_validates_with_no_errors(path):
    definition = read_definition(json.loads(path.read_text()))
    assert [str(finding) for finding in definition.errors] == []
    assert {str(finding) for finding in definition.warnings} == EXPECTED_WARNINGS.get(_name(path), set())


def test_both_sdk_majors_are_represented_and_every_registered_step_type_is_built():
    assert {path.parent.name for path in BUILT} == {"sdk2", "sdk3"}
    built = {step.type for path in BUILT for step in read_definition(json.loads(path.read_text())).steps}
    assert built == set(STEP_TYPES)


# -- each step type's properties --------------------------------------------------------------------------
# step type -> (fixture, a step of that type, a property the SDK exposes, the same misspelled)
PROPERTIES = {
    "Processing": (
        "sdk3/abalone.json",
        "PreprocessAbaloneData",
        "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
        "ProcessingOutputConfig.Output['train'].S3Output.S3Uri",
    ),
    "Training": (
        "sdk3/abalone.json",
        "TrainAbaloneModel",
        "ModelArtifacts.S3ModelArtifacts",
        "ModelArtifacts.S3Model",
    ),
    "Tuning": (
        "sdk2/tuning.json",
        "TuneAbalone",
        "TrainingJobSummaries[0].TrainingJobName",
        "TrainingJobSummary[0].TrainingJobName",
    ),
    "Model": ("sdk3/abalone.json", "CreateAbaloneModel", "ModelName", "ModelNames"),
    "RegisterModel": (
        "sdk2/abalone.json",
        "RegisterAbaloneLegacy-RegisterModel",
        "ModelPackageArn",
        "ModelPackageARN",
    ),
    "Transform": (
        "sdk3/abalone.json",
        "AbaloneTransform",
        "TransformOutput.S3OutputPath",
        "TransformOutput.S3Output",
    ),
    "Condition": ("sdk3/abalone.json", "AbaloneMSECond", "Outcome", "Outcomes"),
    "Lambda": (
        "sdk3/services.json",
        "PrepareData",
        "OutputParameters['prefix']",
        "OutputParameters['prefixes']",
    ),
    "Callback": (
        "sdk3/services.json",
        "WaitForApproval",
        "OutputParameters['approved_uri']",
        "OutputParameters['approved']",
    ),
    "QualityCheck": (
        "sdk3/checks.json",
        "ModelQualityCheck",
        "BaselineUsedForDriftCheckStatistics",
        "BaselineUsedForDriftStatistics",
    ),
    "ClarifyCheck": (  # a clarify check calculates constraints only
        "sdk2/checks.json",
        "DataBiasCheck",
        "CalculatedBaselineConstraints",
        "CalculatedBaselineStatistics",
    ),
    "EMR": ("sdk2/services.json", "SparkOnCluster", "Status.State", "Status.Stat"),
    "EMRServerless": ("sdk3/services.json", "SparkServerless", "jobRun.state", "jobRun.State"),
    "AutoML": (
        "sdk2/automl.json",
        "AutoMLTraining",
        "BestCandidateProperties.ModelInsightsJsonReportPath",
        "BestCandidateProperties.ModelInsightsReportPath",
    ),
    "EndpointConfig": (
        "sdk3/endpoints.json",
        "CreateEndpointConfig",
        "EndpointConfigArn",
        "EndpointConfigARN",
    ),
    "Endpoint": ("sdk2/endpoints.json", "CreateEndpoint", "EndpointStatus", "Status"),
    "InferenceComponent": (
        "sdk3/endpoints.json",
        "CreateInferenceComponent",
        "InferenceComponentStatus",
        "InferenceComponentState",
    ),
    "Lineage": (
        "sdk2/lineage.json",
        "RecordLineage",
        "ArtifactArns['trained-model']",
        "ArtifactArns['model']",
    ),
    "ForEach": (  # a body step's own property, per iteration
        "sdk3/for_each.json",
        "PerRegion",
        "IterationOutputs[1].PrepareRegion.ProcessingOutputConfig",
        "IterationOutputs[1].PrepareRegion.ProcessingOutputs",
    ),
}


# step type -> (fixture, a step of that type): types the SDK gives no properties
NO_PROPERTIES = {
    "Fail": ("sdk3/abalone.json", "AbaloneMSEFail"),
    "Cleanup": ("sdk3/cleanup.json", "DeleteScratch"),
}


def test_the_property_tables_cover_every_step_type():
    assert set(PROPERTIES) | set(NO_PROPERTIES) == set(STEP_TYPES)


@pytest.mark.parametrize("step_type", sorted(PROPERTIES))
def test_a_real_property_of_each_step_type_resolves(step_type):
    fixture, source, real, _ = PROPERTIES[step_type]
    document = _load(fixture)
    assert _step(document, source)["Type"] == step_type
    assert _errors(_with_probe(document, source, real)) == []


@pytest.mark.parametrize("step_type", sorted(PROPERTIES))
def test_a_misspelled_property_is_one_error_naming_the_step(step_type):
    fixture, source, _, misspelled = PROPERTIES[step_type]
    [finding] = read_definition(_with_probe(_load(fixture), source, misspelled)).errors
    assert finding.step == PROBE
    assert f"Steps.{source}.{misspelled}" in finding.message
    assert finding.field.endswith("ErrorMessage")


@pytest.mark.parametrize("step_type", sorted(NO_PROPERTIES))
def test_a_step_type_without_properties_has_none_to_read(step_type):
    fixture, source = NO_PROPERTIES[step_type]
    [finding] = read_definition(_with_probe(_load(fixture), source, "Arguments")).errors
    assert finding.message == f"'Steps.{source}.Arguments': a {step_type} step has no properties to read"


def test_function_step_results_are_read_as_json_from_s3():
    """What ``@step`` pipelines emit: Std:JsonGet over an S3Uri built from the step's output path."""
    for major in ("sdk2", "sdk3"):
        definition = read_definition(_load(f"{major}/function_steps.json"))
        check = definition.step("CheckScore")
        assert {r.text for r in check.references} == {
            "Steps.Evaluate.OutputDataConfig.S3OutputPath",
            "Steps.Preprocess.OutputDataConfig.S3OutputPath",
        }
        assert set(check.dependencies) == {"Evaluate", "Preprocess"}


# -- ForEach (SDK 3.x): body steps, the current item, the selected iteration ------------------------------
FOR_EACH = "sdk3/for_each.json"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("Selected.OutputParameters['score']", None),
        ("Selected.OutputParameters['rank']", "ScoreRegion declares outputs ['score']"),
        ("IterationOutputs[0].ScoreRegion.OutputParameters['score']", None),
        ("IterationOutputs[0].Report.Status", "read as IterationOutputs[<i>].<body step>.<property>"),
        ("IterationOutputs.PrepareRegion.ProcessingJobName", "read as IterationOutputs[<i>]"),
        ("IterationOutputs[0].PrepareRegion", "names PrepareRegion but no property of it"),
        ("InputItemCount", None),
    ],
)
def test_a_for_each_steps_properties_are_its_body_steps(path, problem):
    errors = _errors(_with_probe(_load(FOR_EACH), "PerRegion", path))
    if problem is None:
        assert errors == []
    else:
        [error] = errors
        assert error.startswith(f"{PROBE}: Steps[2].Arguments.ErrorMessage: ") and problem in error


def test_a_body_step_is_read_through_the_for_each_step_not_directly():
    document = _load(FOR_EACH)
    _step(document, "Report")["Arguments"]["first_job"] = {"Get": "Steps.PrepareRegion.ProcessingJobName"}
    assert _errors(document) == [
        "Report: Steps[1].Arguments.first_job: 'Steps.PrepareRegion.ProcessingJobName': step PrepareRegion "
        "runs only in PerRegion.ForEachBody, which this step is not in"
    ]


def test_the_current_item_only_inside_a_body_and_iteration_outputs_only_in_the_selector():
    document = _load(FOR_EACH)
    _step(document, "Report")["Arguments"]["item"] = {"Get": "ForEach.CurrentItem.region"}
    _step(document, "ScoreRegion")["Arguments"]["peer"] = {
        "Get": "IterationOutput.PrepareRegion.ProcessingJobName"
    }
    selector = _step(document, "PerRegion")["Arguments"]["Selector"]
    selector["Field"] = {"Get": "IterationOutput.Report.OutputParameters['score']"}
    assert _errors(document) == [
        "PerRegion: Steps[0].Arguments.Selector.Field: \"IterationOutput.Report.OutputParameters['score']\": "
        "PerRegion's body steps are ['PrepareRegion', 'ScoreRegion']",
        "Report: Steps[1].Arguments.best: \"Steps.PerRegion.Selected.OutputParameters['score']\": "
        "PerRegion has no Selector over one of its body steps ['PrepareRegion', 'ScoreRegion']",
        "Report: Steps[1].Arguments.item: 'ForEach.CurrentItem.region' is only defined inside a ForEach step's body",
        "ScoreRegion: Steps[0].Arguments.ForEachBody[1].Arguments.peer: "
        "'IterationOutput.PrepareRegion.ProcessingJobName' is only read by a ForEach step's Selector",
    ]


# -- check steps: their step-level fields -----------------------------------------------------------------
def test_a_parameter_used_only_in_a_check_steps_own_fields_is_used():
    document = _load("sdk3/checks.json")
    skip = _step(document, "DataQualityCheck")
    assert skip["SkipCheck"] == {"Get": "Parameters.SkipDataQualityCheck"}
    assert read_definition(document).warnings == ()
    skip["SkipCheck"] = False
    assert [str(w) for w in read_definition(document).warnings] == [
        "(pipeline): Parameters[0]: parameter 'SkipDataQualityCheck' is declared but no step uses it"
    ]


def test_a_reference_in_a_check_steps_own_fields_is_checked():
    document = _load("sdk3/checks.json")
    _step(document, "DataQualityCheck")["SuppliedBaselineStatistics"] = {"Get": "Parameters.Missing"}
    assert _errors(document) == [
        "DataQualityCheck: Steps[0].SuppliedBaselineStatistics: parameter 'Missing' is not declared in Parameters"
    ]


@pytest.mark.parametrize(
    ("fixture", "step", "expected"),
    [
        ("sdk3/abalone.json", "PreprocessAbaloneData", "Steps[0].SkipCheck: a Processing step"),
        ("sdk2/services.json", "SparkOnCluster", "Steps[2].SkipCheck: an EMR step"),
    ],
)
def test_a_check_field_on_another_step_type_is_an_error(fixture, step, expected):
    document = _load(fixture)
    _step(document, step)["SkipCheck"] = True
    assert _errors(document) == [
        f"{step}: {expected} has no field SkipCheck (only QualityCheck, ClarifyCheck)"
    ]


def test_a_check_type_the_service_does_not_have_is_an_error():
    document = _load("sdk2/checks.json")
    _step(document, "DataBiasCheck")["CheckType"] = "DATA_QUALITY"
    [error] = _errors(document)
    assert error.startswith("DataBiasCheck: Steps[2].CheckType: 'DATA_QUALITY' is not one of ")


# -- tuning: instance configs in place of ResourceConfig -------------------------------------------------
def test_tuning_needs_a_resource_config_or_instance_configs():
    document = _load("sdk2/tuning.json")
    definition = _step(document, "TuneAbalone")["Arguments"]["TrainingJobDefinition"]
    assert "ResourceConfig" not in definition
    del definition["HyperParameterTuningResourceConfig"]
    [error] = _errors(document)
    assert error.startswith("TuneAbalone: Steps[0].Arguments.TrainingJobDefinition: ")
    assert "ResourceConfig" in error and "HyperParameterTuningResourceConfig" in error


# -- Std:JsonGet with an S3Uri: accepted, and readable when malformed -------------------------------------
def _function_condition(document: dict[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = _step(document, "CheckScore")["Arguments"]["Conditions"][0]
    return condition


WHERE = "CheckScore: Steps[0].Arguments.Conditions[0].LeftValue['Std:JsonGet']"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda spec: spec.update(S3Uri=5), f"{WHERE}.S3Uri: 5 is not of type 'string'"),
        (lambda spec: spec.pop("Path"), f"{WHERE}.Path: required field is missing"),
        (
            lambda spec: spec.pop("S3Uri"),
            f"{WHERE}.S3Uri: a Std:JsonGet needs a PropertyFile (Get of Steps.<step>.PropertyFiles.<name>) "
            "or an S3Uri",
        ),
        (
            lambda spec: spec.update(PropertyFile={"Get": "Steps.Evaluate.PropertyFiles.Report"}),
            f"{WHERE}.S3Uri: a Std:JsonGet reads a PropertyFile or an S3Uri, not both",
        ),
    ],
    ids=["S3Uri not a string", "no Path", "no source", "two sources"],
)
def test_a_malformed_json_get_says_what_is_wrong(change, expected):
    document = _load("sdk3/function_steps.json")
    change(_function_condition(document)["LeftValue"]["Std:JsonGet"])
    assert expected in _errors(document)


# -- the rules that make an error still fire on SDK-built definitions ------------------------------------
def test_unknown_step_type():
    document = _load("sdk3/abalone.json")
    _step(document, "TrainAbaloneModel")["Type"] = "Train"
    assert any(
        e.startswith("TrainAbaloneModel: Steps[1].Type: unknown step type 'Train'") for e in _errors(document)
    )


def test_unknown_depends_on():
    document = _load("sdk2/services.json")
    _step(document, "SparkOnCluster")["DependsOn"] = ["WaitForApprovl"]
    assert _errors(document) == [
        "SparkOnCluster: Steps[2].DependsOn[0]: DependsOn names step 'WaitForApprovl', which does not exist"
    ]


def test_depends_on_with_a_run_condition():
    """SDK 3.x writes {"Step": ..., "Trigger": ...} for a step that runs when another fails or ends."""
    document = _load("sdk3/cleanup.json")
    assert read_definition(document).step("DeleteScratch").depends_on == ("Train", "Prepare")
    _step(document, "DeleteScratch")["DependsOn"][0] = {"Step": "Training", "Trigger": "Any"}
    _step(document, "NotifyTrainingFailed")["DependsOn"][0]["Trigger"] = "Succeeded"
    errors = _errors(document)
    assert errors[0] == (
        "DeleteScratch: Steps[3].DependsOn[0].Step: DependsOn names step 'Training', which does not exist"
    )
    assert errors[1].startswith(
        "NotifyTrainingFailed: Steps[2].DependsOn[0].Trigger: 'Succeeded' is not one of "
    )
    assert len(errors) == 2


def test_dependency_cycle():
    document = _load("sdk3/services.json")
    _step(document, "PrepareData")["DependsOn"] = ["SparkOnCluster"]
    assert _errors(document) == [
        "PrepareData: Steps[0]: dependency cycle: PrepareData -> WaitForApproval -> SparkOnCluster -> PrepareData"
    ]


def test_a_value_of_the_wrong_type():
    document = _load("sdk3/abalone.json")
    resources = _step(document, "TrainAbaloneModel")["Arguments"]["ResourceConfig"]
    resources["InstanceCount"] = "two"
    assert _errors(document) == [
        "TrainAbaloneModel: Steps[1].Arguments.ResourceConfig.InstanceCount: 'two' is not of type 'integer'"
    ]


def test_a_default_of_the_wrong_type_and_one_outside_enum_values():
    document = _load("sdk2/abalone.json")
    parameters = {parameter["Name"]: parameter for parameter in document["Parameters"]}
    parameters["InstanceCount"]["DefaultValue"] = "one"
    parameters["ModelApprovalStatus"]["DefaultValue"] = "Maybe"
    errors = _errors(document)
    assert len(errors) == 2
    assert errors[0].startswith("(pipeline): Parameters[1].DefaultValue: ")
    assert errors[1] == (
        "(pipeline): Parameters[4].DefaultValue: 'Maybe' is not one of the EnumValues "
        "Approved, PendingManualApproval, Rejected"
    )


def test_a_malformed_s3_uri():
    document = _load("sdk3/checks.json")
    _step(document, "ModelQualityCheck")["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = (
        "s3:/bucket/x"
    )
    assert _errors(document) == [
        "ModelQualityCheck: Steps[1].Arguments.ProcessingInputs[0].S3Input.S3Uri: 's3:/bucket/x': "
        "an S3 URI starts with s3://"
    ]


# -- the local executor: refuses, in one line per step, what it cannot run ----------------------------------
def test_the_local_executor_names_each_step_it_cannot_run_and_its_type():
    document = _load("sdk3/services.json")
    with pytest.raises(DefinitionError) as refused:
        prepare(document)
    unsupported = [s for s in read_definition(document).steps if s.type not in LOCAL_STEP_TYPES]
    assert [line.split(": ")[0] for line in refused.value.problems] == [s.name for s in unsupported]
    for line, step in zip(refused.value.problems, unsupported, strict=True):
        assert "\n" not in line
        assert f"{step.type} step cannot run locally" in line
