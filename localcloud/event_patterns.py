"""EventBridge event patterns: validated when a rule is read, matched as EventBridge matches them.

Why not moto's ``EventPattern``: it merges the elements of an array of objects (so two fields of
*different* elements match together), never matches arrays of arrays of objects, accepts unknown
operators (``prefx`` matches everything, where PutRule refuses the rule), compares literals as
Python values (``true`` equals ``1``, ``numeric`` accepts ``true``) and its ``*`` stops at a newline.
Each is a different place in its code, so making it faithful meant wrapping all of it; this module
is the rules themselves, from
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html and the
README of AWS's event-ruler library that EventBridge runs (https://github.com/aws/event-ruler):

- a pattern is an object; a leaf is an array and matches when any of its entries matches (an event
  array matches when any element does); all fields of the pattern must match;
- arrays of objects (and of arrays) are matched element by element: fields within one object of a
  pattern must match within one element ("array-consistent matching");
- literals are compared as JSON: the string ``"true"`` is not ``true``, ``1`` is not ``true``, ``300``
  is not ``300.0`` (use ``numeric``); ``null`` matches a JSON null, not a missing field;
- operators: ``prefix``, ``suffix`` (both also as ``{"equals-ignore-case": ...}``),
  ``equals-ignore-case``, ``wildcard`` (``*`` spans anything, newlines included; ``\\*`` is a star),
  ``anything-but`` (a value, a list, ``prefix``/``suffix``/``wildcard``/``equals-ignore-case``),
  ``numeric`` (JSON numbers only, ``= < <= > >=``, ranges), ``cidr``, ``exists``, and ``$or``;
  anything else is a :class:`PatternError` when the rule is read, as PutRule rejects it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any


class PatternError(ValueError):
    """The pattern is not one EventBridge would accept; one line naming the field."""


# -- validation (what PutRule checks) -----------------------------------------------------------------
_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}
_STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")


def validate(pattern: Any, where: str = "") -> None:
    """Raise PatternError if EventBridge would reject ``pattern``."""
    if not isinstance(pattern, dict) or not pattern:
        raise PatternError(f"{where or 'pattern'}: must be a non-empty JSON object")
    for key, value in pattern.items():
        path = f"{where}.{key}" if where else key
        if key == "$or" and isinstance(value, list):
            if len(value) < 2:
                raise PatternError(f"{path}: needs at least two alternatives")
            for index, alternative in enumerate(value):
                validate(alternative, f"{path}[{index}]")
        elif isinstance(value, dict):
            validate(value, path)
        elif isinstance(value, list) and value:
            for entry in value:
                _validate_entry(entry, path)
        else:
            raise PatternError(f"{path}: a leaf must be a non-empty array of values or operators")


def _validate_entry(entry: Any, path: str) -> None:
    if not isinstance(entry, dict):
        if isinstance(entry, list):
            raise PatternError(f"{path}: an array inside a leaf array is not a value")
        return  # a literal: string, number, boolean or null
    if len(entry) != 1:
        raise PatternError(f"{path}: an operator object has exactly one key, got {sorted(entry)}")
    ((operator, operand),) = entry.items()
    checks: dict[str, Callable[[Any], bool]] = {
        "prefix": _string_or_ignore_case,
        "suffix": _string_or_ignore_case,
        "equals-ignore-case": lambda v: isinstance(v, str),
        "wildcard": _valid_wildcard,
        "exists": lambda v: isinstance(v, bool),
        "cidr": _valid_cidr,
        "numeric": _valid_numeric,
        "anything-but": _valid_anything_but,
    }
    if operator not in checks:
        raise PatternError(f"{path}: unknown operator {operator!r} (known: {', '.join(sorted(checks))})")
    if not checks[operator](operand):
        raise PatternError(f"{path}: invalid {operator} operand {json.dumps(operand)}")


def _string_or_ignore_case(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == ["equals-ignore-case"] and isinstance(value["equals-ignore-case"], str)
    return isinstance(value, str)


def _valid_wildcard(value: Any) -> bool:
    """No consecutive ``**``; a backslash escapes only ``*`` or a backslash."""
    return (
        isinstance(value, str)
        and "**" not in value
        and not re.search(r"\\(?![*\\])", value.replace("\\\\", ""))
    )


def _valid_cidr(value: Any) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except (TypeError, ValueError):
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _valid_numeric(value: Any) -> bool:
    if not isinstance(value, list) or len(value) not in (2, 4):
        return False
    pairs = list(zip(value[::2], value[1::2], strict=True))
    if not all(op in _NUMERIC_OPERATORS and _is_number(n) and abs(n) <= 5e9 for op, n in pairs):
        return False
    if len(pairs) == 2:  # a range: one lower and one upper bound, lower first
        (low_op, low), (high_op, high) = pairs
        return low_op in (">", ">=") and high_op in ("<", "<=") and low <= high
    return True


def _valid_anything_but(value: Any) -> bool:
    if isinstance(value, dict):
        return (
            len(value) == 1
            and next(iter(value)) in _STRING_OPERATORS
            and isinstance(next(iter(value.values())), str | list)
        )
    if isinstance(value, list):
        return bool(value) and (all(isinstance(v, str) for v in value) or all(_is_number(v) for v in value))
    return isinstance(value, str) or _is_number(value)


# -- matching ------------------------------------------------------------------------------------
_ABSENT = object()


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` matches the (validated) ``pattern``."""
    for element in _elements(event):
        if isinstance(element, dict) and all(
            _field_matches(key, value, element) for key, value in pattern.items()
        ):
            return True
    return False


def _elements(value: Any) -> list[Any]:
    """An array's elements, arrays of arrays flattened; a single value as itself."""
    if isinstance(value, list):
        return [item for element in value for item in _elements(element)]
    return [value]


def _field_matches(key: str, expected: Any, event: dict[str, Any]) -> bool:
    if key == "$or" and isinstance(expected, list):
        return any(matches(alternative, event) for alternative in expected)
    actual = event.get(key, _ABSENT)
    if isinstance(expected, dict):
        return actual is not _ABSENT and matches(expected, actual)
    if actual is _ABSENT or isinstance(actual, dict):  # exists works on leaves only
        return any(isinstance(e, dict) and e.get("exists") is False for e in expected)
    values = _elements(actual)
    return any(_entry_matches(entry, values) for entry in expected)


def _entry_matches(entry: Any, values: list[Any]) -> bool:
    if not isinstance(entry, dict):
        literal = json.dumps(entry)
        return any(json.dumps(v) == literal for v in values)
    ((operator, operand),) = entry.items()
    if operator == "exists":
        return operand is True
    if operator == "anything-but":
        return any(not _anything_but_hits(operand, v) for v in values)  # an array: any element
    return any(_value_matches(operator, operand, v) for v in values)


def _anything_but_hits(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        ((operator, inner),) = operand.items()
        return any(
            _value_matches(operator, item, value) for item in (inner if isinstance(inner, list) else [inner])
        )
    return any(
        json.dumps(item) == json.dumps(value)
        for item in (operand if isinstance(operand, list) else [operand])
    )


def _value_matches(operator: str, operand: Any, value: Any) -> bool:
    if operator == "numeric":
        return _is_number(value) and all(
            _compare(op, value, bound) for op, bound in zip(operand[::2], operand[1::2], strict=True)
        )
    if operator == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(operand, strict=False)
        except (TypeError, ValueError):
            return False
    if not isinstance(value, str):
        return False  # the string operators match strings only
    if isinstance(operand, dict):  # prefix/suffix with equals-ignore-case
        operand, value = operand["equals-ignore-case"].lower(), value.lower()
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    if operator == "equals-ignore-case":
        return value.lower() == operand.lower()
    return _wildcard_regex(operand).fullmatch(value) is not None


def _compare(op: str, value: float, bound: float) -> bool:
    return {
        "=": value == bound,
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
    }[op]


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` is any run of characters (newlines too); ``\\*`` a star, ``\\\\`` a backslash."""
    parts = re.split(r"(\\\\|\\\*|\*)", pattern)
    translated = {"\\\\": re.escape("\\"), "\\*": re.escape("*"), "*": ".*"}
    return re.compile("".join(translated.get(p, re.escape(p)) for p in parts), re.DOTALL)
