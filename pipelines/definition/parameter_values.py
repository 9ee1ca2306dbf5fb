"""Parameter values: one rule set for ``-p K=V`` overrides, StartPipelineExecution values and defaults.

``python -m pipelines start``, ``run-local`` and the local executor all parse overrides here, so a
value one of them accepts the others accept too. SageMaker takes every override as a string
(``PipelineParameters[].Value``) and parses it as the declared type; a definition's
``DefaultValue`` is a JSON value that must already be of that type ("The default value must be an
instance matching the parameter type":
https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-parameters.html).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

ParameterType = Literal["String", "Integer", "Float", "Boolean"]
PARAMETER_TYPES: tuple[ParameterType, ...] = ("String", "Integer", "Float", "Boolean")
ParameterValue = str | int | float | bool

# SageMaker does not document how it parses an Integer override, so the stricter reading: a whole
# number written as one ("2", "-3"), never "2.0" or "1e3", which a float parser would let through
# and silently truncate. ASCII digits only (Python's int() also takes other scripts' digits).
_INTEGER = re.compile(r"[+-]?[0-9]+")
# A decimal number ("2", "2.5", ".5", "1e-3"); no NaN, no infinity, no "1_000", no spaces.
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Case-insensitive: the SDK sends a Python bool override as str(value), i.e. "True"/"False".
_BOOLEANS = {"true": True, "false": False}


class ParameterError(ValueError):
    """Overrides that cannot be used; ``problems`` lists every one (one line each)."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` (the CLI's ``-p``) as a dict; every malformed or repeated pair is a problem."""
    values: dict[str, str] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            problems.append(f"{pair!r} is not K=V (e.g. QualityThreshold=2.5)")
        elif not key:
            problems.append(f"{pair!r} names no parameter before '='")
        elif key in values:
            problems.append(f"parameter {key} is given more than once")
        else:
            values[key] = value
    if problems:
        raise ParameterError(problems)
    return values


def parse_value(kind: str, text: str) -> ParameterValue:
    """An override string as a value of the declared type; ValueError says what was expected."""
    if not isinstance(text, str):  # StartPipelineExecution takes strings only
        raise ValueError(f"an override is a string, got {text!r}")
    if kind == "String":
        return text
    if kind == "Integer":
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"Integer expects a whole number such as 3, got {text!r}")
        return int(text)
    if kind == "Float":
        if not _FLOAT.fullmatch(text) or not math.isfinite(number := float(text)):
            raise ValueError(f"Float expects a finite decimal number such as 2.5, got {text!r}")
        return number
    if kind == "Boolean":
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"Boolean expects true or false, got {text!r}")
        return _BOOLEANS[text.lower()]
    raise ValueError(f"parameter type {kind!r} is not one of {', '.join(PARAMETER_TYPES)}")


def check_default(kind: str, value: object) -> ParameterValue:
    """A JSON ``DefaultValue`` that is of the declared type; ValueError otherwise."""
    if kind == "String" and isinstance(value, str):
        return value
    if kind == "Integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        kind == "Float"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return float(value)
    if kind == "Boolean" and isinstance(value, bool):
        return value
    expected = {
        "String": "a string",
        "Integer": "a JSON integer such as 3",
        "Float": "a finite number",
        "Boolean": "true or false",
    }
    if kind not in expected:
        raise ValueError(f"parameter type {kind!r} is not one of {', '.join(PARAMETER_TYPES)}")
    raise ValueError(f"{kind} expects {expected[kind]}, got {value!r}")


def render_value(value: ParameterValue) -> str:
    """The string SageMaker is sent for a value (and shows for it): booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
