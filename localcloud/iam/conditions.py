"""IAM condition operators, evaluated as AWS evaluates them.

The rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
within one operator every key must match, and a key matches if any of the policy's values matches
(OR); ``...IfExists`` matches when the key is absent; a negated operator (``StringNotEquals``,
``ArnNotLike``...) matches when the key is absent; ``ForAnyValue:``/``ForAllValues:`` compare
multivalued keys (``ForAllValues`` matches an absent key); ``Null`` tests presence. Keys are
case-insensitive, values case-sensitive (except ``StringEqualsIgnoreCase``). An operator this module
does not know makes the statement not match, and is reported once (never silently allowed).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

Context = Mapping[str, Sequence[str]]  # lower-cased key -> its values (one for single-valued keys)


def _translate(pattern: str) -> str:
    """IAM's ``*`` (any run of characters) and ``?`` (one character); nothing else is special."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def wildcard_pattern(patterns: tuple[str, ...], *, ignore_case: bool) -> re.Pattern[str]:
    """One regex matching a whole value against any of ``patterns`` (statements compile theirs once)."""
    regex = "|".join(f"(?:{_translate(p)})" for p in patterns) or "(?!)"
    return re.compile(f"(?s:{regex})\\Z", re.IGNORECASE if ignore_case else 0)


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return wildcard_pattern((pattern,), ignore_case=ignore_case)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def test(actual: str, expected: str) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and compare(a, e)

    return test


def _arn_like(actual: str, expected: str) -> bool:
    # ARN operators compare the six colon-separated parts; a pattern with fewer parts never matches.
    a, e = actual.split(":", 5), expected.split(":", 5)
    return len(a) == len(e) == 6 and all(wildcard_match(p, v) for p, v in zip(e, a, strict=True))


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda a, e: a == e,
    "stringequalsignorecase": lambda a, e: a.lower() == e.lower(),
    "stringlike": lambda a, e: wildcard_match(e, a),
    "arnequals": _arn_like,
    "arnlike": _arn_like,
    "bool": lambda a, e: a.lower() == e.lower(),
    "numericequals": _numeric(lambda a, e: a == e),
    "numericlessthan": _numeric(lambda a, e: a < e),
    "numericlessthanequals": _numeric(lambda a, e: a <= e),
    "numericgreaterthan": _numeric(lambda a, e: a > e),
    "numericgreaterthanequals": _numeric(lambda a, e: a >= e),
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
}


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def _operator_matches(operator: str, key: str, expected: list[str], context: Context) -> bool:
    name = operator.lower()
    qualifier = ""
    if ":" in name:
        qualifier, name = name.split(":", 1)
    if_exists = name.endswith("ifexists")
    name = name.removesuffix("ifexists")
    actual = context.get(key.lower())
    if name == "null":
        return (actual is None) == (expected[0].lower() == "true")
    negated = name in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(name, name))
    if matcher is None:
        log.warning(
            "IAM condition operator %s is not evaluated locally; the statement does not match", operator
        )
        return False
    if actual is None:
        return if_exists or negated or qualifier == "forallvalues"

    def one(value: str) -> bool:
        return any(matcher(value, e) for e in expected)

    if qualifier == "forallvalues":
        hit = all(one(value) for value in actual)
    else:  # single-valued keys and ForAnyValue
        hit = any(one(value) for value in actual)
    return not hit if negated else hit


def conditions_match(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """True when every operator's every key matches (AND across operators and keys)."""
    return all(
        _operator_matches(operator, key, _values(expected), context)
        for operator, keys in conditions.items()
        for key, expected in keys.items()
    )
