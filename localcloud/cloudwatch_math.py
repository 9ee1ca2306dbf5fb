"""CloudWatch metric math for the local alarm evaluator: parse an expression, evaluate it per period.

The rules are those of "Metric math syntax and functions" and "Using IF expressions"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html), checked
against the examples of that page (``tests/localcloud/test_metric_math.py``):

- a time series is one value per period of the evaluation range, ``None`` where it has no datapoint;
  a result has a datapoint where at least one of its input series has one, and *missing values in a
  time series are treated as 0* (arithmetic, comparison and logical operators, ``AVG``/``SUM`` of an
  array); a division by zero drops the datapoint;
- comparisons and ``AND``/``&&``, ``OR``/``||`` give 1 or 0; ``IF(c, a[, b])`` follows the page's
  tables: a missing ``c`` drops the point, a true ``c`` with ``a`` missing gives 0, a false ``c`` with
  ``b`` missing or omitted drops the point;
- ``FILL(m, S | m2 | REPEAT | LINEAR)``; per-point ``ABS``, ``CEIL``, ``FLOOR``, ``LOG``, ``LOG10``;
  ``SUM``/``AVG``/``MIN``/``MAX``/``STDDEV`` of an array ``[m1, m2]``; ``PERIOD(m)``;
  ``TIME_SERIES(S)``; an expression may use another expression's id.

Refused by name (a :class:`MathError` when the template is read): the functions whose value depends
on how many periods an alarm fetches, which CloudWatch does not document (the page itself advises
against them in alarms: ``AVG``/``SUM``/... of a single series, ``DATAPOINT_COUNT``, ``RUNNING_SUM``,
``DIFF``, ``RATE``, ...), and the ones that need data the emulator does not have (``METRICS``,
``SEARCH``, ``ANOMALY_DETECTION_BAND``, ``INSIGHT_RULE_METRIC``, ``SERVICE_QUOTA``, ...).
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Series = tuple[float | None, ...]
Value = float | Series


class MathError(ValueError):
    """The expression cannot be evaluated locally, or is not valid metric math; one line."""


# -- syntax tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Keyword:
    name: str  # REPEAT | LINEAR, only as FILL's second argument


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Array:
    items: tuple[Node, ...]


Node = Number | Ref | Keyword | Negate | Binary | Call | Array

POINTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": math.ceil,
    "FLOOR": math.floor,
    "LOG": math.log,
    "LOG10": math.log10,
}
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": math.fsum,
    "AVG": statistics.fmean,
    "MIN": min,
    "MAX": max,
    "STDDEV": statistics.pstdev,
}
RANGE_DEPENDENT = {"DATAPOINT_COUNT", "DIFF", "DIFF_TIME", "RATE", "RUNNING_SUM", "REMOVE_EMPTY"}
TIMESTAMP_FUNCTIONS = {"MINUTE", "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH"}
OUTSIDE_DATA = {
    "METRICS", "SEARCH", "ANOMALY_DETECTION_BAND", "INSIGHT_RULE_METRIC", "SERVICE_QUOTA",
    "SORT", "SLICE", "FIRST", "LAST", "METRIC_COUNT", "LAMBDA",
}  # fmt: skip
SUPPORTED = {"FILL", "IF", "PERIOD", "TIME_SERIES", *POINTWISE, *AGGREGATES}


# -- parsing -------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>(),\[\]])"
    r"|(?P<string>\"[^\"]*\"))"
)
# Lowest first; ^ binds tightest (the page lists the operators, not their precedence: the usual one).
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("OR", "||"),
    ("AND", "&&"),
    ("==", "!=", "<=", ">=", "<", ">"),
    ("+", "-"),
    ("*", "/"),
)
_ALIASES = {"&&": "AND", "||": "OR"}


def parse(expression: str) -> Node:
    """The syntax tree of ``expression``; MathError names what is not metric math or not evaluable."""
    tokens = _tokenize(expression)
    parser = _Parser(tokens, expression)
    node = parser.expression(0)
    if parser.position != len(tokens):
        raise MathError(f"unexpected {tokens[parser.position]!r} in metric math {expression!r}")
    return node


def _tokenize(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise MathError(f"cannot read metric math {expression!r} at {expression[position:]!r}")
        if match.group("string") is not None:
            raise MathError(
                f"metric math {expression!r}: string arguments (METRICS, SEARCH) are not evaluated locally"
            )
        tokens.append(next(v for v in match.groupdict().values() if v is not None))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], expression: str) -> None:
        self.tokens, self.text, self.position = tokens, expression, 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise MathError(f"metric math {self.text!r}: expected {expected or 'more'}, got {token!r}")
        self.position += 1
        return token

    def expression(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.power()
        node = self.expression(level + 1)
        while self.peek() in _LEVELS[level]:
            op = self.take()
            node = Binary(_ALIASES.get(op, op), node, self.expression(level + 1))
        return node

    def power(self) -> Node:
        base = self.unary()
        if self.peek() == "^":
            self.take()
            return Binary("^", base, self.power())
        return base

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Negate(self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.expression(0)
            self.take(")")
            return node
        if token == "[":
            return Array(self.arguments("]"))
        if token[0].isdigit() or token[0] == ".":
            return Number(float(token))
        if not (token[0].isalpha() or token[0] == "_"):
            raise MathError(f"metric math {self.text!r}: unexpected {token!r}")
        if token in ("REPEAT", "LINEAR"):
            return Keyword(token)
        if self.peek() == "(":
            self.take()
            return self.call(token, self.arguments(")"))
        if not token[0].islower():
            raise MathError(f"metric math {self.text!r}: {token!r} is not an id (ids start lowercase)")
        return Ref(token)

    def arguments(self, closing: str) -> tuple[Node, ...]:
        args: list[Node] = []
        while self.peek() != closing:
            if args:
                self.take(",")
            args.append(self.expression(0))
        self.take(closing)
        return tuple(args)

    def call(self, name: str, args: tuple[Node, ...]) -> Call:
        where = f"metric math {self.text!r}"
        if name in RANGE_DEPENDENT or (
            name in AGGREGATES and not (len(args) == 1 and isinstance(args[0], Array))
        ):
            raise MathError(
                f"{where}: {name} of a single series depends on how many periods the alarm fetches, "
                "which CloudWatch does not document; not evaluated locally"
            )
        if name in TIMESTAMP_FUNCTIONS or name in OUTSIDE_DATA or name not in SUPPORTED:
            known = (
                "unknown function"
                if name not in TIMESTAMP_FUNCTIONS | OUTSIDE_DATA
                else "not evaluated locally"
            )
            raise MathError(f"{where}: {name} ({known}); supported: {', '.join(sorted(SUPPORTED))}")
        arity = {"FILL": (2,), "IF": (2, 3), "PERIOD": (1,), "TIME_SERIES": (1,)}.get(name, (1,))
        if len(args) not in arity:
            raise MathError(
                f"{where}: {name} takes {' or '.join(map(str, arity))} arguments, got {len(args)}"
            )
        return Call(name, args)


def references(node: Node) -> set[str]:
    """The ids an expression uses."""
    if isinstance(node, Ref):
        return {node.id}
    children: Sequence[Node] = ()
    if isinstance(node, Negate):
        children = (node.operand,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    elif isinstance(node, Call | Array):
        children = node.args if isinstance(node, Call) else node.items
    return set().union(*(references(child) for child in children))


# -- evaluation ----------------------------------------------------------------------------------
_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": operator.pow,
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "<=": lambda a, b: float(a <= b),
    ">=": lambda a, b: float(a >= b),
    "<": lambda a, b: float(a < b),
    ">": lambda a, b: float(a > b),
    "AND": lambda a, b: float(bool(a) and bool(b)),
    "OR": lambda a, b: float(bool(a) or bool(b)),
}


@dataclass(frozen=True)
class Context:
    """What an expression reads: each id's series (metrics and other expressions) and metric periods."""

    series: Mapping[str, Series]
    periods: Mapping[str, int]
    count: int  # periods in the evaluation range


def evaluate(node: Node, context: Context) -> Series:
    """The expression's time series; MathError if it is a scalar (an alarm watches a time series)."""
    value = _value(node, context)
    if not isinstance(value, tuple):
        raise MathError("the expression gives a single number, not a time series")
    return value


def _value(node: Node, context: Context) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        if node.id not in context.series:
            raise MathError(f"unknown id {node.id!r}")
        return context.series[node.id]
    if isinstance(node, Negate):
        return _combine(lambda a, _: -a, _value(node.operand, context), 0.0)
    if isinstance(node, Binary):
        return _combine(_OPERATORS[node.op], _value(node.left, context), _value(node.right, context))
    if isinstance(node, Call):
        return _call(node, context)
    raise MathError(f"{type(node).__name__} is only valid as an argument (FILL's mode, an aggregate's array)")


def _safe(function: Callable[..., float], *args: Any) -> float | None:
    """A datapoint, or None where CloudWatch drops it (division by zero, a logarithm of <= 0)."""
    try:
        result = function(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    return None if isinstance(result, complex) or math.isnan(result) else float(result)


def _combine(function: Callable[[float, float], float], left: Value, right: Value) -> Value:
    """Point by point; a point exists where either series has one, the other's gap counting as 0."""
    if not isinstance(left, tuple) and not isinstance(right, tuple):
        result = _safe(function, left, right)
        if result is None:
            raise MathError(f"{left} and {right} give no number (division by zero or a logarithm of <= 0)")
        return result
    if not isinstance(left, tuple):
        return tuple(None if b is None else _safe(function, left, b) for b in right)  # type: ignore[union-attr]
    if not isinstance(right, tuple):
        return tuple(None if a is None else _safe(function, a, right) for a in left)
    return tuple(
        None if a is None and b is None else _safe(function, a or 0.0, b or 0.0)
        for a, b in zip(left, right, strict=True)
    )


def _call(node: Call, context: Context) -> Value:
    name, args = node.name, node.args
    if name == "PERIOD":
        if not isinstance(args[0], Ref) or args[0].id not in context.periods:
            raise MathError("PERIOD takes a metric's id (not an expression)")
        return float(context.periods[args[0].id])
    if name == "TIME_SERIES":
        scalar = _value(args[0], context)
        if isinstance(scalar, tuple):
            raise MathError("TIME_SERIES takes a number")
        return (scalar,) * context.count
    if name == "FILL":
        return _fill(_series(_value(args[0], context), "FILL"), args[1], context)
    if name == "IF":
        return _if([_value(arg, context) for arg in args], context)
    if name in POINTWISE:
        series = _series(_value(args[0], context), name)
        return tuple(None if v is None else _safe(POINTWISE[name], v) for v in series)
    array = args[0]
    assert isinstance(array, Array)  # the parser admits aggregates over arrays only
    members = [_series(_value(item, context), name) for item in array.items]
    return tuple(
        None if all(v is None for v in column) else _safe(AGGREGATES[name], [v or 0.0 for v in column])
        for column in zip(*members, strict=True)
    )


def _series(value: Value, name: str) -> Series:
    if not isinstance(value, tuple):
        raise MathError(f"{name} takes a time series, got the number {value}")
    return value


def _fill(series: Series, mode: Node, context: Context) -> Series:
    """FILL: a number or another series fills the gaps; REPEAT the most recent earlier value;
    LINEAR interpolates between the values around the gap (a gap with no value on that side stays)."""
    if isinstance(mode, Keyword):
        known = [(i, v) for i, v in enumerate(series) if v is not None]
        filled = list(series)
        for i, v in enumerate(series):
            if v is not None:
                continue
            before = next(((j, w) for j, w in reversed(known) if j < i), None)
            after = next(((j, w) for j, w in known if j > i), None)
            if mode.name == "REPEAT" and before:
                filled[i] = before[1]
            elif mode.name == "LINEAR" and before and after:
                filled[i] = before[1] + (after[1] - before[1]) * (i - before[0]) / (after[0] - before[0])
        return tuple(filled)
    filler = _value(mode, context)
    fillers = filler if isinstance(filler, tuple) else (filler,) * len(series)
    return tuple(f if v is None else v for v, f in zip(series, fillers, strict=True))


def _if(args: list[Value], context: Context) -> Series:
    condition = args[0] if isinstance(args[0], tuple) else None
    count = context.count
    then = args[1] if isinstance(args[1], tuple) else (args[1],) * count
    otherwise: Series = (
        (None,) * count if len(args) == 2 else args[2] if isinstance(args[2], tuple) else (args[2],) * count
    )
    if condition is None:  # IF(scalar, a, b): the whole of a or of b
        return then if args[0] else otherwise
    return tuple(
        None if c is None else (t if t is not None else 0.0) if c else o
        for c, t, o in zip(condition, then, otherwise, strict=True)
    )
