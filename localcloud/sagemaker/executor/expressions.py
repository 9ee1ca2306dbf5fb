"""The pipeline definition's expression language: ``Get``, ``Std:Join``, ``Std:JsonGet`` and conditions.

SageMaker resolves these on the service side; the local executor resolves them here, against the
execution's parameters, its execution variables and the properties of the steps that already ran.
The shapes are exactly those the SDK writes into the definition JSON, e.g.
``{"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

PathSegment = str | int

REFERENCE_ROOTS = ("Parameters", "Steps", "Execution")
EXECUTION_VARIABLES = (
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "PipelineName",
    "PipelineArn",
    "StartDateTime",
    "CurrentDateTime",
    "TrainingJobName",
    "ProcessingJobName",
)
# Lists in step properties are indexed by name (``Outputs['train']``) through these fields.
NAME_FIELDS = ("OutputName", "ChannelName", "InputName", "MetricName", "Name", "PropertyFileName")

_STEP_NAME = re.compile(r"[A-Za-z0-9_-]+")
_SEGMENT = re.compile(
    r"\.(?P<attr>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]|\['(?P<single>[^']*)'\]|\[\"(?P<double>[^\"]*)\"\]"
)


class ExpressionError(ValueError):
    """An expression cannot be parsed or resolved; the message names the reference and why."""


@dataclass(frozen=True)
class Reference:
    """A parsed ``Get`` target: ``Parameters.X``, ``Execution.X`` or ``Steps.<name>.<path>``."""

    root: str
    name: str
    path: tuple[PathSegment, ...] = ()
    text: str = ""

    @property
    def is_property_file(self) -> bool:
        return self.root == "Steps" and self.path[:1] == ("PropertyFiles",)


class Scope(Protocol):
    """What an expression can see while one step's arguments are being resolved."""

    def parameter(self, name: str) -> Any: ...

    def execution_variable(self, name: str) -> Any: ...

    def step_properties(self, step_name: str) -> dict[str, Any]: ...

    def property_file(self, step_name: str, file_name: str) -> Any: ...

    def read_json(self, s3_uri: str) -> Any: ...


def parse_reference(text: str) -> Reference:
    """Parse the string of a ``Get`` into its root, name and property path."""
    if not isinstance(text, str):
        raise ExpressionError(f"a Get must name a string reference, got {text!r}")
    root, dot, rest = text.partition(".")
    if root not in REFERENCE_ROOTS or not dot or not rest:
        raise ExpressionError(
            f"cannot parse reference {text!r}: expected Parameters.<name>, Execution.<name> "
            "or Steps.<step>.<property>"
        )
    if root in ("Parameters", "Execution"):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", rest):
            raise ExpressionError(f"cannot parse reference {text!r}: {root} has no nested properties")
        if root == "Execution" and rest not in EXECUTION_VARIABLES:
            raise ExpressionError(
                f"unknown execution variable {rest!r} in {text!r}; known: {', '.join(EXECUTION_VARIABLES)}"
            )
        return Reference(root, rest, (), text)
    match = _STEP_NAME.match(rest)
    if not match:
        raise ExpressionError(f"cannot parse reference {text!r}: no step name after 'Steps.'")
    step_name, tail = match.group(0), rest[match.end() :]
    return Reference(root, step_name, _parse_path(tail, text), text)


def _parse_path(tail: str, text: str) -> tuple[PathSegment, ...]:
    segments: list[PathSegment] = []
    position = 0
    while position < len(tail):
        match = _SEGMENT.match(tail, position)
        if not match:
            raise ExpressionError(f"cannot parse reference {text!r} at {tail[position:]!r}")
        if match.group("index") is not None:
            segments.append(int(match.group("index")))
        else:
            segments.append(next(g for g in match.group("attr", "single", "double") if g is not None))
        position = match.end()
    if not segments:
        raise ExpressionError(f"reference {text!r} names a step but no property of it")
    return tuple(segments)


def references_in(value: Any) -> Iterator[Reference]:
    """Every reference inside a (nested) argument value, in document order."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            yield parse_reference(value["Get"])
            return
        for item in value.values():
            yield from references_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from references_in(item)


def lookup(document: Any, path: tuple[PathSegment, ...], what: str) -> Any:
    """Follow a property path through dicts and lists; lists are indexed by position or by name."""
    current = document
    for depth, segment in enumerate(path):
        where = f"{what}{_render(path[: depth + 1])}"
        if isinstance(segment, int):
            if not isinstance(current, list) or segment >= len(current):
                size = len(current) if isinstance(current, list) else "not a list"
                raise ExpressionError(f"{where}: no element {segment} (size: {size})")
            current = current[segment]
        elif isinstance(current, dict):
            if segment not in current:
                known = ", ".join(sorted(map(str, current))) or "none"
                raise ExpressionError(f"{where}: no property {segment!r} (available: {known})")
            current = current[segment]
        elif isinstance(current, list):
            current = _by_name(current, segment, f"{what}{_render(path[:depth])}['{segment}']")
        else:
            raise ExpressionError(f"{where}: cannot look up {segment!r} in a {type(current).__name__}")
    return current


def _by_name(items: list[Any], name: str, where: str) -> Any:
    for item in items:
        if isinstance(item, dict) and any(item.get(field) == name for field in NAME_FIELDS):
            return item
    names = [item.get(f) for item in items if isinstance(item, dict) for f in NAME_FIELDS if f in item]
    raise ExpressionError(f"{where}: no element named {name!r} (available: {', '.join(map(str, names))})")


def _render(path: tuple[PathSegment, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)


def json_path(document: Any, expression: str, what: str) -> Any:
    """Evaluate the JsonGet ``Path`` (``a.b[0].c``, ``a['b c']``, optional leading ``$.``)."""
    text = expression.removeprefix("$").removeprefix(".")
    if not text:
        return document
    return lookup(document, _parse_path("." + text if not text.startswith("[") else text, expression), what)


def evaluate(value: Any, scope: Scope) -> Any:
    """Resolve every expression inside ``value``; plain values are returned unchanged."""
    if isinstance(value, list):
        return [evaluate(item, scope) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(parse_reference(value["Get"]), scope)
    if set(value) == {"Std:Join"}:
        return _join(value["Std:Join"], scope)
    if set(value) == {"Std:JsonGet"}:
        return _json_get(value["Std:JsonGet"], scope)
    unknown = [k for k in value if k.startswith("Std:")]
    if unknown:
        raise ExpressionError(f"unsupported function {unknown[0]!r}; supported: Std:Join, Std:JsonGet")
    return {key: evaluate(item, scope) for key, item in value.items()}


def _get(reference: Reference, scope: Scope) -> Any:
    if reference.root == "Parameters":
        return scope.parameter(reference.name)
    if reference.root == "Execution":
        return scope.execution_variable(reference.name)
    if reference.is_property_file:
        raise ExpressionError(f"{reference.text}: a property file is read with Std:JsonGet, not Get")
    properties = scope.step_properties(reference.name)
    return lookup(properties, reference.path, f"Steps.{reference.name}")


def _join(spec: dict[str, Any], scope: Scope) -> str:
    if not isinstance(spec, dict) or not isinstance(spec.get("Values"), list):
        raise ExpressionError(f"Std:Join needs On and a Values list, got {spec!r}")
    return str(spec.get("On", "")).join(as_text(evaluate(v, scope)) for v in spec["Values"])


def as_text(value: Any) -> str:
    """How SageMaker renders a value inside a string (booleans lower-case, None empty)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ExpressionError(f"cannot join a structured value {value!r} into a string")
    return str(value)


def _json_get(spec: dict[str, Any], scope: Scope) -> Any:
    if not isinstance(spec, dict) or "Path" not in spec:
        raise ExpressionError(f"Std:JsonGet needs a Path and a PropertyFile or S3Uri, got {spec!r}")
    if "PropertyFile" in spec:
        target = spec["PropertyFile"]
        if not (isinstance(target, dict) and set(target) == {"Get"}):
            raise ExpressionError(f"Std:JsonGet PropertyFile must be a Get, got {target!r}")
        reference = parse_reference(target["Get"])
        if not reference.is_property_file or len(reference.path) != 2:
            raise ExpressionError(f"{reference.text} is not Steps.<step>.PropertyFiles.<name>")
        document = scope.property_file(reference.name, str(reference.path[1]))
        return json_path(document, spec["Path"], f"{reference.text} {spec['Path']}")
    if "S3Uri" in spec:
        uri = as_text(evaluate(spec["S3Uri"], scope))
        return json_path(scope.read_json(uri), spec["Path"], f"{uri} {spec['Path']}")
    raise ExpressionError(f"Std:JsonGet needs a PropertyFile or an S3Uri, got {spec!r}")


# -- conditions --------------------------------------------------------------------------------------
_COMPARISONS = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
CONDITION_TYPES = (*_COMPARISONS, "In", "Not", "Or")


def evaluate_condition(condition: dict[str, Any], scope: Scope) -> bool:
    """Evaluate one condition of a Condition step (the step's list of them is AND-ed)."""
    kind = condition.get("Type") if isinstance(condition, dict) else None
    if kind in _COMPARISONS:
        left, right = _comparable(
            evaluate(condition.get("LeftValue"), scope), evaluate(condition.get("RightValue"), scope), kind
        )
        return bool(_COMPARISONS[kind](left, right))
    if kind == "In":
        query = evaluate(condition.get("QueryValue"), scope)
        for candidate in condition.get("Values", []):
            left, right = _comparable(query, evaluate(candidate, scope), "Equals")
            if left == right:
                return True
        return False
    if kind == "Not":
        return not evaluate_condition(condition.get("Condition", {}), scope)
    if kind == "Or":
        return any(evaluate_condition(c, scope) for c in condition.get("Conditions", []))
    raise ExpressionError(f"unsupported condition type {kind!r}; supported: {', '.join(CONDITION_TYPES)}")


def _comparable(left: Any, right: Any, kind: str) -> tuple[Any, Any]:
    """Numbers compare as numbers (a JSON string such as "2.5" counts); anything else as text."""
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return left_number, right_number
    if kind == "Equals":
        return as_text(left), as_text(right)
    raise ExpressionError(f"{kind} compares numbers, got {left!r} and {right!r}")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
