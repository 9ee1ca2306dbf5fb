"""The expression language: the path tokenizer, Get targets, Std:Join/Std:JsonGet and conditions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.definition.expressions import (
    ExpressionError,
    Reference,
    evaluate,
    evaluate_condition,
    parse_reference,
    scan,
)
from pipelines.definition.paths import Key, PathError, PathSegment, json_path, parse_path, render_path

_segments = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]*", fullmatch=True),
    st.integers(min_value=0, max_value=10**6),
    st.builds(Key, st.text(max_size=12)),
)


@given(st.lists(_segments, max_size=8))
def test_any_path_the_tokenizer_renders_parses_back_to_the_same_tokens(segments: list[PathSegment]):
    try:
        text = render_path(segments)
    except PathError:  # a name holding both quote characters has no written form
        return
    assert parse_path(text) == tuple(segments)
    assert parse_path(f".{text}" if text and not text.startswith("[") else text) == tuple(segments)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        (
            "ProcessingOutputConfig.Outputs['train'].S3Output",
            ("ProcessingOutputConfig", "Outputs", Key("train"), "S3Output"),
        ),
        ('a["it\'s"][0]', ("a", Key("it's"), 0)),
        ("TrainingJobSummaries[0].TrainingJobName", ("TrainingJobSummaries", 0, "TrainingJobName")),
        ("", ()),
    ],
)
def test_paths_parse_into_attributes_positions_and_names(text, segments):
    assert parse_path(text) == segments


@pytest.mark.parametrize("text", ["a..b", "a[x]", "a['b", "a.1b", "a b", "[-1]"])
def test_malformed_paths_are_refused(text):
    with pytest.raises(PathError):
        parse_path(text)


def test_a_documents_places_render_as_paths():
    assert json_path(("Steps", 4, "Arguments", "Conditions", 0, "LeftValue", "Std:JsonGet")) == (
        "Steps[4].Arguments.Conditions[0].LeftValue['Std:JsonGet']"
    )
    assert json_path(()) == "$"


def test_get_targets_parse_into_root_name_and_path():
    assert parse_reference("Steps.Tune.TrainingJobSummaries[0].TrainingJobName") == Reference(
        "Steps",
        "Tune",
        ("TrainingJobSummaries", 0, "TrainingJobName"),
        "Steps.Tune.TrainingJobSummaries[0].TrainingJobName",
    )
    assert parse_reference("Parameters.Input-Url").name == "Input-Url"
    assert parse_reference("ForEach.CurrentItem") == Reference(
        "ForEach", "CurrentItem", (), "ForEach.CurrentItem"
    )
    assert parse_reference("ForEach.CurrentItem['rows']").path == (Key("rows"),)
    assert parse_reference("IterationOutput.Score.OutputParameters['s']").root == "IterationOutput"
    assert (
        parse_reference("Steps.Evaluate.PropertyFiles.EvaluationReport").property_file == "EvaluationReport"
    )
    assert parse_reference("Steps.Deploy.OutputParameters['status']").property_file is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Pipeline.Name", "expected Parameters.<name>, Execution.<name>, Steps.<step>.<property>, ForEach"),
        ("ForEach.Item", "a ForEach item is ForEach.CurrentItem"),
        ("IterationOutput.Score", "names a step but no property of it"),
        ("Parameters.A.B", "Parameters has no nested properties"),
        ("Execution.Now", "unknown execution variable 'Now'"),
        ("Steps.Train", "names a step but no property of it"),
        ("Steps.Train!Model", "cannot parse reference 'Steps.Train!Model' at '!Model'"),
        (7, "a Get names a string reference, got 7"),
    ],
)
def test_unreadable_get_targets(text, message):
    with pytest.raises(ExpressionError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_reference(text)


def test_scan_finds_every_reference_with_where_it_sits():
    value = {
        "A": [
            {"Get": "Parameters.X"},
            {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineName"}]}},
        ],
        "B": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.S.PropertyFiles.F"}, "Path": "a.b"}},
    }
    found = scan(value, ("Steps", 0, "Arguments"))
    assert [(r.text, r.field, r.in_json_get) for r in found.references] == [
        ("Parameters.X", "Steps[0].Arguments.A[0]", False),
        ("Execution.PipelineName", "Steps[0].Arguments.A[1]['Std:Join'].Values[1]", False),
        ("Steps.S.PropertyFiles.F", "Steps[0].Arguments.B['Std:JsonGet'].PropertyFile", True),
    ]
    assert found.problems == []


class _Scope:
    def parameter(self, name: str) -> Any:
        return {"Count": 3, "Name": "b"}[name]

    def execution_variable(self, name: str) -> Any:
        raise AssertionError(name)

    def step_properties(self, step_name: str) -> dict[str, Any]:
        return {
            "Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://x/train"}}],
            "List": [5, 6],
            "OutputParameters": {"status": "created"},
        }

    def property_file(self, step_name: str, file_name: str) -> Any:
        return {"a": [{"b": "2.5"}], "c d": 1}

    def read_json(self, s3_uri: str) -> Any:
        return {"uri": s3_uri}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Count"}, "RightValue": 3.0}, True),
        ({"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Count"}, "RightValue": 3}, False),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": {"Get": "Parameters.Count"}, "RightValue": 3}, True),
        ({"Type": "LessThan", "LeftValue": "2.5", "RightValue": {"Get": "Parameters.Count"}}, True),
        ({"Type": "In", "QueryValue": {"Get": "Parameters.Name"}, "Values": ["a", "b"]}, True),
        ({"Type": "Not", "Condition": {"Type": "In", "QueryValue": "c", "Values": ["a", "b"]}}, True),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": "x", "RightValue": "y"},
                    {
                        "Type": "LessThanOrEqualTo",
                        "LeftValue": {
                            "Std:JsonGet": {
                                "PropertyFile": {"Get": "Steps.S.PropertyFiles.F"},
                                "Path": "a[0].b",
                            }
                        },
                        "RightValue": 2.5,
                    },
                ],
            },
            True,
        ),
    ],
)
def test_conditions_evaluate_like_sagemaker(condition, expected):
    assert evaluate_condition(condition, _Scope()) is expected


def test_property_paths_index_lists_by_name_and_position_and_maps_by_key():
    scope = _Scope()
    assert evaluate({"Get": "Steps.S.Outputs['train'].S3Output.S3Uri"}, scope) == "s3://x/train"
    assert evaluate({"Get": "Steps.S.List[1]"}, scope) == 6
    assert evaluate({"Get": "Steps.S.OutputParameters['status']"}, scope) == "created"
    with pytest.raises(ExpressionError, match=r"Steps.S.Outputs\['test'\]: no element named 'test'"):
        evaluate({"Get": "Steps.S.Outputs['test'].S3Output"}, scope)
    with pytest.raises(ExpressionError, match=r"Steps.S.Outputs.train: cannot look up 'train' in a list"):
        evaluate({"Get": "Steps.S.Outputs.train"}, scope)
    with pytest.raises(ExpressionError, match="GreaterThan compares numbers"):
        evaluate_condition({"Type": "GreaterThan", "LeftValue": "abc", "RightValue": 1}, scope)


@pytest.mark.parametrize("text", ["ForEach.CurrentItem.region", "IterationOutput.S.OutputParameters['x']"])
def test_a_for_each_reference_is_not_evaluated_locally(text):
    """Only SageMaker runs ForEach iterations; nothing here may mistake them for step properties."""
    with pytest.raises(ExpressionError, match="only SageMaker resolves a ForEach step's references"):
        evaluate({"Get": text}, _Scope())


def test_join_and_json_get_from_a_property_file_or_an_s3_uri():
    scope = _Scope()
    assert evaluate(
        {"Std:Join": {"On": "-", "Values": ["a", True, None, {"Get": "Parameters.Count"}]}}, scope
    ) == ("a-true--3")
    property_file = {"PropertyFile": {"Get": "Steps.S.PropertyFiles.F"}, "Path": "$['c d']"}
    assert evaluate({"Std:JsonGet": property_file}, scope) == 1
    from_s3 = {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", "k.json"]}}, "Path": "uri"}
    assert evaluate({"Std:JsonGet": from_s3}, scope) == "s3://b/k.json"
    with pytest.raises(ExpressionError, match="a property file is read with Std:JsonGet, not Get"):
        evaluate({"Get": "Steps.S.PropertyFiles.F"}, scope)
