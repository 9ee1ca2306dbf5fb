"""The definition's expression language: ``Get``, ``Std:Join``, ``Std:JsonGet`` and conditions.

SageMaker resolves these on the service side. Here they are parsed once, for validation (every
reference found, with where it sits) and for the local executor, which evaluates them against a
:class:`Scope` it supplies (the execution's parameters, execution variables and the properties of
the steps that already ran). The shapes are exactly those the SDK writes, e.g.
``{"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pipelines.definition.paths import Key, PathError, PathSegment, json_path, parse_path, render_path

Root = Literal["Parameters", "Execution", "Steps", "ForEach", "IterationOutput"]
Location = tuple[str | int, ...]  # a place in the definition: ("Steps", 3, "Arguments", "RoleArn")
# ForEach.CurrentItem (inside a ForEach body) and IterationOutput.<body step> (in a ForEach
# step's Selector) are the SDK 3.x ForEach step's own roots.
ROOTS: tuple[Root, ...] = ("Parameters", "Execution", "Steps", "ForEach", "IterationOutput")
FOR_EACH_ROOTS = ("ForEach", "IterationOutput")
_ROOT_NAMES: dict[str, Root] = {root: root for root in ROOTS}
CURRENT_ITEM = "CurrentItem"
# The execution variables SageMaker defines (the SDK's ExecutionVariables).
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
JOIN = "Std:Join"
JSON_GET = "Std:JsonGet"
FUNCTIONS = (JOIN, JSON_GET)
PROPERTY_FILES = "PropertyFiles"
# Lists in step properties are indexed by name (``Outputs['train']``) through these fields.
NAME_FIELDS = ("OutputName", "ChannelName", "InputName", "MetricName", "Name", "PropertyFileName")

_NAME = re.compile(r"[A-Za-z0-9_-]+")


class ExpressionError(ValueError):
    """An expression cannot be parsed or resolved; the message names the reference and why."""


@dataclass(frozen=True)
class Reference:
    """A parsed ``Get`` target: ``Parameters.X``, ``Execution.X``, ``Steps.<name>.<path>``,
    ``ForEach.CurrentItem<path>`` or ``IterationOutput.<body step>.<path>``.

    ``field`` is where the ``Get`` sits in the definition (empty when parsed on its own);
    ``in_json_get`` says it is the ``PropertyFile`` of a ``Std:JsonGet``, the one place a property
    file may be named.
    """

    root: Root
    name: str
    path: tuple[PathSegment, ...] = ()
    text: str = ""
    field: str = ""
    in_json_get: bool = False

    @property
    def property_file(self) -> str | None:
        """``Steps.X.PropertyFiles.<name>``: the name; None for any other reference."""
        if self.root != "Steps" or self.path[:1] != (PROPERTY_FILES,) or len(self.path) != 2:
            return None
        last = self.path[1]
        return last.name if isinstance(last, Key) else str(last)

    @property
    def names_property_file(self) -> bool:
        return self.root == "Steps" and self.path[:1] == (PROPERTY_FILES,)


@dataclass
class Scan:
    """What a walk over a value found: its references, and expressions that cannot be read."""

    references: list[Reference] = field(default_factory=list)
    problems: list[tuple[Location, str]] = field(default_factory=list)  # (where, message)


class Scope(Protocol):
    """What an expression can see while one step's arguments are being resolved."""

    def parameter(self, name: str) -> Any: ...

    def execution_variable(self, name: str) -> Any: ...

    def step_properties(self, step_name: str) -> dict[str, Any]: ...

    def property_file(self, step_name: str, file_name: str) -> Any: ...

    def read_json(self, s3_uri: str) -> Any: ...


def parse_reference(text: object, where: str = "", *, in_json_get: bool = False) -> Reference:
    """Parse the string of a ``Get`` into its root, name and property path."""
    if not isinstance(text, str):
        raise ExpressionError(f"a Get names a string reference, got {text!r}")
    written, dot, rest = text.partition(".")
    root = _ROOT_NAMES.get(written)
    if root is None or not dot or not rest:
        raise ExpressionError(
            f"cannot parse reference {text!r}: expected Parameters.<name>, Execution.<name>, "
            "Steps.<step>.<property>, ForEach.CurrentItem or IterationOutput.<step>.<property>"
        )
    if root == "Execution" and rest not in EXECUTION_VARIABLES:
        raise ExpressionError(
            f"unknown execution variable {rest!r} in {text!r}; known: {', '.join(EXECUTION_VARIABLES)}"
        )
    if root in ("Parameters", "Execution"):
        if not _NAME.fullmatch(rest):
            raise ExpressionError(f"cannot parse reference {text!r}: {root} has no nested properties")
        return Reference(root, rest, (), text, where, in_json_get)
    match = _NAME.match(rest)
    if not match:
        raise ExpressionError(f"cannot parse reference {text!r}: no step name after '{root}.'")
    tail = rest[match.end() :]
    if root == "ForEach" and match.group(0) != CURRENT_ITEM:
        raise ExpressionError(f"cannot parse reference {text!r}: a ForEach item is ForEach.{CURRENT_ITEM}")
    if not tail and root != "ForEach":  # the current item itself is a value
        raise ExpressionError(f"reference {text!r} names a step but no property of it")
    if tail and not tail.startswith((".", "[")):
        raise ExpressionError(f"cannot parse reference {text!r} at {tail!r}")
    try:
        path = parse_path(tail)
    except PathError as err:
        raise ExpressionError(f"cannot parse reference {text!r}: {err}") from None
    return Reference(root, match.group(0), path, text, where, in_json_get)


def scan(value: Any, location: Sequence[str | int]) -> Scan:
    """Every reference inside a (nested) value, in document order, and every unreadable expression."""
    found = Scan()
    _scan(value, list(location), found)
    return found


def _scan(value: Any, location: list[str | int], found: Scan) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _scan(item, [*location, index], found)
        return
    if not isinstance(value, dict):
        return
    if set(value) == {"Get"}:
        _add_reference(value["Get"], location, found)
        return
    for key in value:
        if isinstance(key, str) and key.startswith("Std:") and key not in FUNCTIONS:
            found.problems.append(
                ((*location, key), f"unsupported function {key!r}; supported: {', '.join(FUNCTIONS)}")
            )
    spec = value.get(JSON_GET)
    if set(value) == {JSON_GET} and isinstance(spec, dict):
        _scan_json_get(spec, [*location, JSON_GET], found)
        return
    for key, item in value.items():
        _scan(item, [*location, key], found)


def _add_reference(
    text: object, location: list[str | int], found: Scan, *, in_json_get: bool = False
) -> None:
    try:
        found.references.append(parse_reference(text, json_path(location), in_json_get=in_json_get))
    except ExpressionError as err:
        found.problems.append((tuple(location), str(err)))


def _scan_json_get(spec: dict[str, Any], location: list[str | int], found: Scan) -> None:
    path = spec.get("Path")
    if isinstance(path, str):
        try:
            _json_get_path(path)
        except PathError as err:
            found.problems.append(((*location, "Path"), f"Std:JsonGet Path: {err}"))
    target = spec.get("PropertyFile")
    if isinstance(target, dict) and set(target) == {"Get"}:
        _add_reference(target["Get"], [*location, "PropertyFile"], found, in_json_get=True)
    elif "PropertyFile" in spec:
        found.problems.append(
            ((*location, "PropertyFile"), "a PropertyFile is a Get of Steps.<step>.PropertyFiles.<name>")
        )
    for key, item in spec.items():
        if key != "PropertyFile":
            _scan(item, [*location, key], found)


# -- evaluation --------------------------------------------------------------------------------------
def lookup(document: Any, path: Sequence[PathSegment], what: str) -> Any:
    """Follow a path: attributes and names through objects, positions and names through lists."""
    current = document
    for depth, segment in enumerate(path):
        where = f"{what}{_suffix(path[: depth + 1])}"
        if isinstance(segment, int):
            if not isinstance(current, list) or segment >= len(current):
                size = len(current) if isinstance(current, list) else "not a list"
                raise ExpressionError(f"{where}: no element {segment} (size: {size})")
            current = current[segment]
        elif isinstance(current, dict):
            name = segment.name if isinstance(segment, Key) else segment
            if name not in current:
                known = ", ".join(sorted(map(str, current))) or "none"
                raise ExpressionError(f"{where}: no property {name!r} (available: {known})")
            current = current[name]
        elif isinstance(current, list) and isinstance(segment, Key):
            current = _by_name(current, segment.name, where)
        else:
            raise ExpressionError(f"{where}: cannot look up {segment!r} in a {type(current).__name__}")
    return current


def _by_name(items: list[Any], name: str, where: str) -> Any:
    for item in items:
        if isinstance(item, dict) and any(item.get(key) == name for key in NAME_FIELDS):
            return item
    names = [item.get(k) for item in items if isinstance(item, dict) for k in NAME_FIELDS if k in item]
    raise ExpressionError(f"{where}: no element named {name!r} (available: {', '.join(map(str, names))})")


def _suffix(path: Sequence[PathSegment]) -> str:
    text = render_path(path)
    return text if text.startswith("[") else f".{text}"


def _json_get_path(expression: str) -> tuple[PathSegment, ...]:
    """A JsonGet ``Path`` (``a.b[0].c``, ``a['b c']``, with an optional leading ``$.``)."""
    return parse_path(expression.removeprefix("$").removeprefix("."))


def json_get_path(document: Any, expression: str, what: str) -> Any:
    """Evaluate a JsonGet ``Path`` in a JSON document."""
    try:
        path = _json_get_path(expression)
    except PathError as err:
        raise ExpressionError(f"{what}: {err}") from None
    return lookup(document, path, what) if path else document


def evaluate(value: Any, scope: Scope) -> Any:
    """Resolve every expression inside ``value``; plain values are returned unchanged."""
    if isinstance(value, list):
        return [evaluate(item, scope) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(parse_reference(value["Get"]), scope)
    if set(value) == {JOIN}:
        return _join(value[JOIN], scope)
    if set(value) == {JSON_GET}:
        return _json_get(value[JSON_GET], scope)
    unknown = [k for k in value if isinstance(k, str) and k.startswith("Std:")]
    if unknown:
        raise ExpressionError(f"unsupported function {unknown[0]!r}; supported: {', '.join(FUNCTIONS)}")
    return {key: evaluate(item, scope) for key, item in value.items()}


def _get(reference: Reference, scope: Scope) -> Any:
    if reference.root == "Parameters":
        return scope.parameter(reference.name)
    if reference.root == "Execution":
        return scope.execution_variable(reference.name)
    if reference.root in FOR_EACH_ROOTS:
        raise ExpressionError(f"{reference.text}: only SageMaker resolves a ForEach step's references")
    if reference.names_property_file:
        raise ExpressionError(f"{reference.text}: a property file is read with Std:JsonGet, not Get")
    return lookup(scope.step_properties(reference.name), reference.path, f"Steps.{reference.name}")


def _join(spec: Any, scope: Scope) -> str:
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


def _json_get(spec: Any, scope: Scope) -> Any:
    if not isinstance(spec, dict) or not isinstance(spec.get("Path"), str):
        raise ExpressionError(f"Std:JsonGet needs a Path and a PropertyFile or S3Uri, got {spec!r}")
    if "PropertyFile" in spec:
        target = spec["PropertyFile"]
        reference = parse_reference(target.get("Get") if isinstance(target, dict) else target)
        file_name = reference.property_file
        if file_name is None:
            raise ExpressionError(f"{reference.text} is not Steps.<step>.PropertyFiles.<name>")
        document = scope.property_file(reference.name, file_name)
        return json_get_path(document, spec["Path"], f"{reference.text} {spec['Path']}")
    if "S3Uri" in spec:
        uri = as_text(evaluate(spec["S3Uri"], scope))
        return json_get_path(scope.read_json(uri), spec["Path"], f"{uri} {spec['Path']}")
    raise ExpressionError(f"Std:JsonGet needs a PropertyFile or an S3Uri, got {spec!r}")


# -- conditions ----------------------------------------------------------------------------------------
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: bool(a == b),
    "GreaterThan": lambda a, b: bool(a > b),
    "GreaterThanOrEqualTo": lambda a, b: bool(a >= b),
    "LessThan": lambda a, b: bool(a < b),
    "LessThanOrEqualTo": lambda a, b: bool(a <= b),
}
CONDITION_TYPES = (*_COMPARISONS, "In", "Not", "Or")


def condition_problems(condition: Any, location: Location) -> Iterator[tuple[Location, str]]:
    """(where, message) for every condition (nested in Not/Or too) of a type that is not evaluated."""
    if not isinstance(condition, dict):
        return
    kind = condition.get("Type")
    if kind not in CONDITION_TYPES:
        yield (
            (*location, "Type"),
            f"unsupported condition type {kind!r}; supported: {', '.join(CONDITION_TYPES)}",
        )
    if kind == "Not":
        yield from condition_problems(condition.get("Condition"), (*location, "Condition"))
    nested = condition.get("Conditions") if kind == "Or" else None
    for index, item in enumerate(nested if isinstance(nested, list) else []):
        yield from condition_problems(item, (*location, "Conditions", index))


def evaluate_condition(condition: dict[str, Any], scope: Scope) -> bool:
    """Evaluate one condition of a Condition step (the step's list of them is AND-ed)."""
    kind = condition.get("Type") if isinstance(condition, dict) else None
    if kind in _COMPARISONS:
        left, right = _comparable(
            evaluate(condition.get("LeftValue"), scope), evaluate(condition.get("RightValue"), scope), kind
        )
        return _COMPARISONS[kind](left, right)
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
