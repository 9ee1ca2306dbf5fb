"""Metric math: the examples of AWS's "Metric math syntax and functions" and "Using IF expressions"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html), verbatim."""

from __future__ import annotations

import pytest

from localcloud.cloudwatch_math import Context, MathError, evaluate, parse


def _ts(text: str) -> tuple[float | None, ...]:
    """The page's notation: ``[30, -, 0]`` with ``-`` where the series has no value."""
    return tuple(None if v.strip() == "-" else float(v) for v in text.strip("[]").split(","))


def _eval(expression: str, **series: str) -> tuple[float | None, ...]:
    values = {name: _ts(text) for name, text in series.items()}
    count = len(next(iter(values.values())))
    return evaluate(parse(expression), Context(values, {name: 60 for name in values}, count))


# "Comparison and logical operators": metric1 [30, 20, 0, 0], metric2 [20, -, 20, -].
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(metric1 < metric2)", "[0, 0, 1, 0]"),
        ("(metric1 >= 30)", "[1, 0, 0, 0]"),
        ("(metric1 > 15 AND metric2 > 15)", "[1, 0, 0, 0]"),
        ("(metric1 > 15 && metric2 > 15)", "[1, 0, 0, 0]"),
        ("metric1 < 25 OR metric2 > 15", "[1, 1, 1, 1]"),
    ],
)
def test_comparison_and_logical_operators_example(expression, expected):
    assert _eval(expression, metric1="[30, 20, 0, 0]", metric2="[20, -, 20, -]") == _ts(expected)


# "Using IF expressions": the page's three tables.
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("IF(metric1, metric2, metric3)", "[30, 0, 20, -, -]"),
        ("IF(metric1, 5, metric3)", "[5, 5, 20, -, -]"),
        ("IF(metric1, metric2, 5)", "[30, 0, 5, 5, -]"),
        ("IF(metric1, metric2)", "[30, 0, -, -, -]"),  # no falseValue: false points are dropped
    ],
)
def test_if_tables(expression, expected):
    got = _eval(
        expression, metric1="[1, 1, 0, 0, -]", metric2="[30, -, 0, 0, 30]", metric3="[0, 0, 20, -, 20]"
    )
    assert got == _ts(expected)


def test_missing_values_in_arithmetic_count_as_zero_and_division_by_zero_drops_the_point():
    # "Missing values in a time series are treated as 0. If ... divide by zero, the data point is dropped."
    assert _eval("m1 + m2", m1="[1, -, -]", m2="[2, 3, -]") == (3.0, 3.0, None)
    assert _eval("m1 / m2", m1="[1, 1]", m2="[0, 2]") == (None, 0.5)
    assert _eval("-m1 * 2 ^ 2", m1="[1, -]") == (-4.0, None)


def test_the_endpoint_error_rate_alarm_with_a_metric_missing_in_a_period():
    """Our own alarm: a period with invocations and model errors but no 5XX datapoint still rates."""
    got = _eval(
        "IF(invocations > 0, (errors5xx + modelerrors) / invocations, 0)",
        invocations="[100, 100, -, 0]",
        errors5xx="[-, 5, -, -]",
        modelerrors="[10, -, -, -]",
    )
    assert got == (0.1, 0.05, None, 0.0)


def test_fill_with_a_number_another_series_repeat_and_linear():
    assert _eval("FILL(m1, 10)", m1="[-, 1, -, 4, -]") == (10.0, 1.0, 10.0, 4.0, 10.0)
    assert _eval("FILL(m1, m2)", m1="[-, 1, -]", m2="[7, 8, -]") == (7.0, 1.0, None)
    assert _eval("FILL(m1, REPEAT)", m1="[-, 1, -, 4, -]") == (None, 1.0, 1.0, 4.0, 4.0)
    assert _eval("FILL(m1, LINEAR)", m1="[-, 1, -, -, 4, -]") == (None, 1.0, 2.0, 3.0, 4.0, None)


def test_functions_of_arrays_and_points():
    assert _eval("SUM([m1, m2])", m1="[1, -, -]", m2="[2, 3, -]") == (3.0, 3.0, None)
    assert _eval("AVG([m1, m2])", m1="[1, -]", m2="[3, 4]") == (2.0, 2.0)  # missing counts as 0
    assert _eval("MAX([m1, m2])", m1="[1, 5]", m2="[3, 4]") == (3.0, 5.0)
    assert _eval("ABS(m1) + CEIL(m1) + FLOOR(m1)", m1="[-1.5]") == (1.5 - 1.0 - 2.0,)
    assert _eval("LOG10(m1)", m1="[100, 0]") == (2.0, None)
    assert _eval("m1 / PERIOD(m1)", m1="[120, -]") == (2.0, None)
    assert _eval("TIME_SERIES(3)", m1="[1, -]") == (3.0, 3.0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("AVG(m1)", "AVG of a single series"),
        ("m1 - MIN(m1)", "MIN of a single series"),
        ("DIFF(m1)", "DIFF"),
        ("METRICS()", "METRICS"),
        ('SUM(METRICS("errors"))', "string arguments"),
        ("ANOMALY_DETECTION_BAND(m1, 2)", "ANOMALY_DETECTION_BAND"),
        ("HOUR(m1)", "HOUR"),
        ("NOPE(m1)", "NOPE (unknown function)"),
        ("FILL(m1)", "FILL takes 2 arguments"),
        ("m1 +", "expected more"),
        ("M1", "not an id"),
    ],
)
def test_what_is_not_evaluated_locally_is_refused_by_name(expression, message):
    with pytest.raises(MathError) as err:
        parse(expression)
    assert message in str(err.value)


def test_a_scalar_result_is_refused():
    with pytest.raises(MathError, match="single number"):
        _eval("5 * 2", m1="[1]")
