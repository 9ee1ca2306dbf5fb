"""The typed model: steps with their branches and dependencies, the execution order, the registry."""

from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.definition import STEP_TYPES, Branch, PropertyFile, read_definition
from tests.pipelines.synthesized import definition

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_step_like = st.fixed_dictionaries(
    {"Name": st.sampled_from(["A", "B", "C"]), "Type": st.sampled_from([*STEP_TYPES, "Other", 3])},
    optional={"Arguments": _json, "DependsOn": _json, "CacheConfig": _json, "PropertyFiles": _json},
)


def test_steps_carry_their_branches_dependencies_and_declarations():
    model = read_definition(definition("dev", "training"))
    deploy, gate, evaluate = model.step("Deploy"), model.step("QualityGate"), model.step("Evaluate")
    assert deploy.branch == (Branch("QualityGate", "IfSteps"), Branch("CheckApproval", "IfSteps"))
    assert deploy.condition == Branch("CheckApproval", "IfSteps") and deploy.condition.when
    assert deploy.dependencies == ("Register", "CheckApproval")
    assert deploy.output_parameters == {"endpoint_name": "String", "status": "String"}
    assert gate.children == {"IfSteps": ("Register", "CheckApproval"), "ElseSteps": ("QualityGateFailed",)}
    assert [r.text for r in gate.references] == [
        "Steps.Evaluate.PropertyFiles.EvaluationReport",
        "Parameters.QualityThreshold",
    ]
    assert evaluate.property_files == {
        "EvaluationReport": PropertyFile("EvaluationReport", "evaluation", "evaluation.json")
    }
    assert evaluate.cache.enabled and evaluate.cache.expire_after == timedelta(days=7)
    assert evaluate.kind is STEP_TYPES["Processing"]


def test_the_execution_order_puts_dependencies_first_and_ties_in_document_order():
    model = read_definition(definition("prod", "training"))
    assert [s.name for s in model.execution_order] == [
        "Preprocess",
        "Tune",
        "Baseline",
        "Evaluate",
        "QualityGate",
        "Register",
        "CheckApproval",
        "Deploy",
        "QualityGateFailed",
    ]
    doc = copy.deepcopy(definition("dev", "training"))
    doc["Steps"][0]["DependsOn"] = ["Baseline"]  # now a cycle: the order is still total
    broken = read_definition(doc)
    assert broken.errors and len(broken.execution_order) == len(broken.steps)


def test_the_registry_names_step_types_as_the_sdk_writes_them():
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    assert set(STEP_TYPES) <= {member.value for member in StepTypeEnum}
    assert "Model" in STEP_TYPES and "CreateModel" not in STEP_TYPES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"Version": _json, "Steps": st.lists(_step_like, max_size=4) | _json},
        optional={"Parameters": st.lists(_json, max_size=3), "PipelineExperimentConfig": _json},
    )
)
def test_reading_never_raises_and_a_broken_document_has_findings_instead(document):
    model = read_definition(document)
    assert isinstance(model.findings, tuple)
    assert len(model.execution_order) == len(model.steps)
