"""Parameter values: one rule set for -p K=V, StartPipelineExecution values and DefaultValues."""

from __future__ import annotations

import pytest

from pipelines.definition import ParameterError, parse_assignments, read_definition, render_value
from pipelines.definition.parameter_values import check_default, parse_value

DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "Rounds", "Type": "Integer", "DefaultValue": 3},
        {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
        {"Name": "Enabled", "Type": "Boolean", "DefaultValue": False},
        {
            "Name": "Status",
            "Type": "String",
            "DefaultValue": "Approved",
            "EnumValues": ["Approved", "Rejected"],
        },
        {"Name": "Owner", "Type": "String"},
    ],
    "Steps": [
        {
            "Name": "Echo",
            "Type": "Fail",
            "Arguments": {
                "ErrorMessage": {
                    "Std:Join": {
                        "On": ",",
                        "Values": [
                            {"Get": f"Parameters.{name}"}
                            for name in ("Rounds", "Rate", "Enabled", "Status", "Owner")
                        ],
                    }
                }
            },
        }
    ],
}


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("Integer", "7", 7),
        ("Integer", "-3", -3),
        ("Integer", "+4", 4),
        ("Float", "2", 2.0),
        ("Float", "2.5", 2.5),
        ("Float", ".5", 0.5),
        ("Float", "1e-3", 0.001),
        ("Boolean", "true", True),
        ("Boolean", "FALSE", False),
        ("Boolean", "True", True),  # what the SDK sends for a Python bool
        ("String", " spaced ", " spaced "),
        ("String", "", ""),
    ],
)
def test_override_strings_parse_as_the_declared_type(kind, text, value):
    parsed = parse_value(kind, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("Integer", "2.0"),  # no documented SageMaker rule: the stricter one, no silent truncation
        ("Integer", "1e3"),
        ("Integer", " 2"),
        ("Integer", "٣"),  # a digit, but not an ASCII one
        ("Integer", ""),
        ("Float", "nan"),
        ("Float", "inf"),
        ("Float", "-Infinity"),
        ("Float", "1e999"),  # overflows to infinity
        ("Float", "1_000"),
        ("Float", "fast"),
        ("Boolean", "yes"),
        ("Boolean", "1"),
        ("Long", "1"),
    ],
)
def test_override_strings_that_are_not_of_the_declared_type(kind, text):
    with pytest.raises(ValueError, match=kind if kind != "Long" else "parameter type 'Long'"):
        parse_value(kind, text)


def test_values_render_as_sagemaker_receives_them():
    assert [render_value(v) for v in (True, False, 3, 2.0, 2.5, "x")] == [
        "true",
        "false",
        "3",
        "2.0",
        "2.5",
        "x",
    ]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("Integer", 2.0),
        ("Integer", True),
        ("Integer", "2"),
        ("Float", True),
        ("Float", float("nan")),
        ("Boolean", "true"),
        ("String", 3),
    ],
)
def test_defaults_must_already_be_of_the_declared_type(kind, value):
    with pytest.raises(ValueError, match=f"{kind} expects"):
        check_default(kind, value)


def test_an_integer_is_a_valid_float_default():
    assert check_default("Float", 3) == 3.0


@pytest.mark.parametrize(
    ("pairs", "problems"),
    [
        (["Rounds"], ["'Rounds' is not K=V (e.g. QualityThreshold=2.5)"]),
        (["=3"], ["'=3' names no parameter before '='"]),
        (["Rounds=3", "Rounds=4"], ["parameter Rounds is given more than once"]),
        (
            ["a", "=b", "c=1", "c=2"],
            [
                "'a' is not K=V (e.g. QualityThreshold=2.5)",
                "'=b' names no parameter before '='",
                "parameter c is given more than once",
            ],
        ),
    ],
)
def test_k_equals_v_pairs(pairs, problems):
    with pytest.raises(ParameterError) as raised:
        parse_assignments(pairs)
    assert raised.value.problems == problems


def test_a_value_may_contain_equals_signs():
    assert parse_assignments(["Query=a=b", "Empty="]) == {"Query": "a=b", "Empty": ""}


def test_overrides_are_resolved_over_defaults_in_declaration_order():
    definition = read_definition(DEFINITION)
    values = definition.resolve_parameters(
        {"Owner": "me", "Rate": "2", "Enabled": "TRUE", "Status": "Rejected"}
    )
    assert values == {"Rounds": 3, "Rate": 2.0, "Enabled": True, "Status": "Rejected", "Owner": "me"}
    assert list(values) == ["Rounds", "Rate", "Enabled", "Status", "Owner"]


def test_every_bad_override_is_listed_at_once():
    definition = read_definition(DEFINITION)
    with pytest.raises(ParameterError) as raised:
        definition.resolve_parameters(
            {"Round": "3", "Rounds": "3.5", "Rate": "fast", "Enabled": "yes", "Status": "Maybe"}
        )
    assert raised.value.problems == [
        "unknown parameter 'Round' (declared: Enabled, Owner, Rate, Rounds, Status)",
        "parameter Rounds: Integer expects a whole number such as 3, got '3.5'",
        "parameter Rate: Float expects a finite decimal number such as 2.5, got 'fast'",
        "parameter Enabled: Boolean expects true or false, got 'yes'",
        "parameter Status: 'Maybe' is not one of Approved, Rejected",
    ]


def test_a_parameter_without_a_default_needs_a_value():
    with pytest.raises(ParameterError) as raised:
        read_definition(DEFINITION).resolve_parameters({})
    assert raised.value.problems == ["parameter Owner has no default value: pass one"]


def test_an_override_is_a_string_as_start_pipeline_execution_takes_it():
    with pytest.raises(ValueError, match="an override is a string, got 3"):
        parse_value("Integer", 3)  # type: ignore[arg-type]
