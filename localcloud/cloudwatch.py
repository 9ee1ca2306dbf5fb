"""CloudWatch alarm evaluation for the local loop, from the alarms in the synthesized templates.

moto stores metrics and answers GetMetricData but never evaluates an alarm, so this module does what
CloudWatch does each minute: fetch the alarm's datapoints for the evaluation range, decide the state
with the alarm's M-of-N and missing-data rules, and emit the ``CloudWatch Alarm State Change`` event
(AWS's exact shape) on transitions only. The alarms come from ``cdk.out/*.template.json``
(``AWS::CloudWatch::Alarm``), so a wrong threshold, period or metric name in ``infra/`` shows up in
the local run exactly as it would in the account.

The missing-data rules follow CloudWatch's documentation ("Configuring how CloudWatch alarms treat
missing data", including its two worked tables for 3-of-3 and 2-of-3 alarms):

- CloudWatch retrieves more periods than ``EvaluationPeriods`` (the evaluation range); the exact count
  is not documented, the docs' examples use 5 for 3 periods, so we use ``N + max(2, N // 3)``.
- At least N real datapoints in the range: the most recent N real ones decide; treatment unused.
- Fewer than N: every real datapoint counts and the rest are filled by the treatment:
  ``breaching``/``notBreaching`` fill with breaching/good points; ``missing`` decides on the real
  points alone (so a single breaching point can alarm early: the docs' "premature alarm"); ``ignore``
  decides like ``missing`` but never alarms early (it keeps the current state instead).
- No real datapoint: ``missing`` -> INSUFFICIENT_DATA, ``ignore`` -> unchanged, ``breaching`` ->
  ALARM, ``notBreaching`` -> OK.

Limits (reported, never guessed): percentile statistics (``ExtendedStatistic``) are not computed by
moto, so such alarms are listed as not evaluable locally; metric math supports arithmetic,
comparisons, ``FILL(m, value)`` and ``IF(condition, a, b)``.
"""

from __future__ import annotations

import ast
import json
import operator
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from localcloud.cloudformation import Resource, TemplateError, TemplateSet

ALARM_TYPE = "AWS::CloudWatch::Alarm"
EVENT_SOURCE = "aws.cloudwatch"
EVENT_DETAIL_TYPE = "CloudWatch Alarm State Change"


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class MissingData(StrEnum):
    MISSING = "missing"
    IGNORE = "ignore"
    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"


COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
STANDARD_STATISTICS = {"Average", "Sum", "Minimum", "Maximum", "SampleCount"}


def evaluation_range(evaluation_periods: int) -> int:
    """How many periods CloudWatch looks at (more than N, to skip over missing datapoints)."""
    return evaluation_periods + max(2, evaluation_periods // 3)


# -- definitions read from the templates ---------------------------------------------------------
@dataclass(frozen=True)
class MetricQuery:
    """One metric (``MetricStat``) or one metric-math expression of an alarm."""

    id: str
    return_data: bool
    namespace: str = ""
    metric_name: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str = ""
    period: int = 0
    expression: str = ""
    label: str = ""

    def as_event_metric(self) -> dict[str, Any]:
        """This query as the alarm event's ``configuration.metrics[]`` entry."""
        if self.expression:
            return {
                "id": self.id,
                "expression": self.expression,
                "label": self.label or self.id,
                "returnData": self.return_data,
            }
        return {
            "id": self.id,
            "metricStat": {
                "metric": {
                    "namespace": self.namespace,
                    "name": self.metric_name,
                    "dimensions": dict(self.dimensions),
                },
                "period": self.period,
                "stat": self.stat,
            },
            "returnData": self.return_data,
        }

    def as_api_query(self) -> dict[str, Any]:
        """This (non-expression) query as a GetMetricData ``MetricDataQueries`` entry."""
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric_name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": self.period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


@dataclass(frozen=True)
class AlarmDefinition:
    """An ``AWS::CloudWatch::Alarm`` with every intrinsic resolved."""

    name: str
    arn: str
    source: str  # "<template>: <logical id>", for messages
    description: str
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: MissingData
    period: int
    queries: tuple[MetricQuery, ...]
    not_evaluable_reason: str = ""  # set when the emulator cannot compute this alarm's data

    @property
    def result_query(self) -> MetricQuery:
        """The query whose values are compared with the threshold (the one returning data)."""
        returning = [q for q in self.queries if q.return_data]
        return returning[0]

    def breaches(self, value: float) -> bool:
        compare, _ = COMPARISONS[self.comparison]
        return compare(value, self.threshold)


def load_alarms(templates: TemplateSet) -> list[AlarmDefinition]:
    """Every alarm of every template, in a stable order; raises TemplateError naming the field."""
    alarms = [_alarm_from_resource(templates, r) for r in templates.resources(ALARM_TYPE)]
    names = [a.name for a in alarms]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TemplateError(f"alarm names defined more than once across templates: {duplicates}")
    return alarms


def _alarm_from_resource(templates: TemplateSet, resource: Resource) -> AlarmDefinition:
    keys = (
        "AlarmName", "AlarmDescription", "ComparisonOperator", "Threshold", "EvaluationPeriods",
        "DatapointsToAlarm", "TreatMissingData", "Metrics", "MetricName", "Namespace", "Dimensions",
        "Statistic", "ExtendedStatistic", "Period",
    )  # fmt: skip
    # Only what the evaluation reads is resolved: actions and other references may point anywhere.
    props = {k: templates.property(resource, k) for k in keys if k in resource.properties}

    def require(key: str) -> Any:
        if key not in props:
            raise TemplateError(f"{resource.where(key)} is required by the local alarm evaluation")
        return props[key]

    name = require("AlarmName")
    comparison = require("ComparisonOperator")
    if comparison not in COMPARISONS:
        raise TemplateError(
            f"{resource.where('ComparisonOperator')}: {comparison} (anomaly-detection bands) is not "
            f"evaluated locally; supported: {', '.join(COMPARISONS)}"
        )
    evaluation_periods = int(require("EvaluationPeriods"))
    treat = props.get("TreatMissingData", MissingData.MISSING.value)
    try:
        treat_missing = MissingData(treat)
    except ValueError as err:
        raise TemplateError(f"{resource.where('TreatMissingData')}: unknown value {treat!r}") from err
    queries, period, reason = _queries(resource, props)
    return AlarmDefinition(
        name=name,
        arn=templates.resolve({"Fn::GetAtt": [resource.logical_id, "Arn"]}, resource, "Arn"),
        source=f"{resource.template.name}: {resource.logical_id}",
        description=props.get("AlarmDescription", ""),
        comparison=comparison,
        threshold=float(require("Threshold")),
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=int(props.get("DatapointsToAlarm", evaluation_periods)),
        treat_missing_data=treat_missing,
        period=period,
        queries=queries,
        not_evaluable_reason=reason,
    )


def _dimensions(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((d["Name"], str(d["Value"])) for d in raw or []))


def _queries(resource: Resource, props: dict[str, Any]) -> tuple[tuple[MetricQuery, ...], int, str]:
    """The alarm's metric queries, its period, and why it cannot be evaluated locally (or "")."""
    if "Metrics" not in props:
        stat = props.get("Statistic") or props.get("ExtendedStatistic")
        if not stat or "MetricName" not in props or "Period" not in props:
            raise TemplateError(
                f"{resource.where()}: needs MetricName, Period and Statistic/ExtendedStatistic, or Metrics"
            )
        query = MetricQuery(
            id="m1",
            return_data=True,
            namespace=props.get("Namespace", ""),
            metric_name=props["MetricName"],
            dimensions=_dimensions(props.get("Dimensions")),
            stat=stat,
            period=int(props["Period"]),
        )
        return (query,), query.period, _stat_reason(stat)
    queries: list[MetricQuery] = []
    for index, raw in enumerate(props["Metrics"]):
        where = resource.where(f"Metrics[{index}]")
        if "Expression" in raw:
            _parse_expression(raw["Expression"], where)  # fail at load, not mid-loop
            queries.append(
                MetricQuery(
                    id=raw["Id"],
                    return_data=raw.get("ReturnData", True),
                    expression=raw["Expression"],
                    label=raw.get("Label", ""),
                )
            )
            continue
        stat = raw["MetricStat"]
        metric = stat["Metric"]
        queries.append(
            MetricQuery(
                id=raw["Id"],
                return_data=raw.get("ReturnData", True),
                namespace=metric.get("Namespace", ""),
                metric_name=metric["MetricName"],
                dimensions=_dimensions(metric.get("Dimensions")),
                stat=stat["Stat"],
                period=int(stat["Period"]),
                label=raw.get("Label", ""),
            )
        )
    returning = [q for q in queries if q.return_data]
    if len(returning) != 1:
        raise TemplateError(f"{resource.where('Metrics')}: exactly one entry must have ReturnData true")
    periods = {q.period for q in queries if not q.expression}
    reasons = [_stat_reason(q.stat) for q in queries if not q.expression]
    return tuple(queries), max(periods), next((r for r in reasons if r), "")


def _stat_reason(stat: str) -> str:
    if stat in STANDARD_STATISTICS:
        return ""
    return f"statistic {stat} (percentiles) is not computed by the moto emulator"


# -- metric math ---------------------------------------------------------------------------------
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS = {"FILL": 2, "IF": 3}  # name -> argument count
_NODES = (ast.BinOp, ast.UnaryOp, ast.USub, ast.Compare, ast.Constant, ast.Name, ast.Load, ast.Call)


def _parse_expression(expression: str, where: str) -> ast.expr:
    """Parse the supported subset of metric math: arithmetic, comparisons, FILL(m, v), IF(c, a, b)."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as err:
        raise TemplateError(f"{where}: cannot parse metric math {expression!r}") from err
    for node in ast.walk(tree):
        if not isinstance(node, _NODES + tuple(_BINARY) + tuple(_COMPARE)):
            raise TemplateError(f"{where}: metric math {expression!r}: {type(node).__name__} unsupported")
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise TemplateError(f"{where}: metric math {expression!r}: chained comparisons unsupported")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float)
        ):
            raise TemplateError(f"{where}: metric math {expression!r}: {node.value!r} is not a number")
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if _FUNCTIONS.get(name) != len(node.args):
                raise TemplateError(
                    f"{where}: metric math {expression!r}: only {', '.join(_FUNCTIONS)} are evaluated "
                    "locally (with 2 and 3 arguments)"
                )
    return tree


def _evaluate_expression(node: ast.expr, values: dict[str, float | None]) -> float | None:
    """One period's value of an expression; a missing input makes the result missing."""
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # _parse_expression admits numbers only
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.Call):
        args = [_evaluate_expression(arg, values) for arg in node.args]
        if node.func.id == "FILL":  # type: ignore[attr-defined]
            return args[1] if args[0] is None else args[0]
        condition, then, otherwise = args  # IF
        if condition is None:
            return None
        return then if condition else otherwise
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate_expression(node.operand, values)
        return None if inner is None else -inner
    if isinstance(node, ast.Compare):
        left = _evaluate_expression(node.left, values)
        right = _evaluate_expression(node.comparators[0], values)
        if left is None or right is None:
            return None
        return float(_COMPARE[type(node.ops[0])](left, right))
    assert isinstance(node, ast.BinOp)  # the last node type _parse_expression admits
    left, right = _evaluate_expression(node.left, values), _evaluate_expression(node.right, values)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Div) and right == 0:
        return None  # CloudWatch drops a datapoint that divides by zero
    return _BINARY[type(node.op)](left, right)


# -- fetching datapoints -------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """The evaluation range of one evaluation: ``count`` periods ending at ``end``."""

    end: datetime
    period: int
    count: int

    @property
    def start(self) -> datetime:
        return self.end - timedelta(seconds=self.period * self.count)

    def period_start(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.period * index)

    def index_of(self, timestamp: datetime) -> int:
        return int((timestamp - self.start).total_seconds() // self.period)


def fetch_values(cloudwatch: Any, alarm: AlarmDefinition, window: Window) -> list[float | None]:
    """The alarm's value per period of ``window``, oldest first; None where no datapoint exists."""
    stat_queries = [q for q in alarm.queries if not q.expression]
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[q.as_api_query() for q in stat_queries],
        StartTime=window.start,
        EndTime=window.end,
        ScanBy="TimestampAscending",
    )
    per_query: dict[str, list[float | None]] = {q.id: [None] * window.count for q in stat_queries}
    for result in response["MetricDataResults"]:
        for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True):
            index = window.index_of(timestamp)
            if 0 <= index < window.count:
                per_query[result["Id"]][index] = value
    target = alarm.result_query
    if not target.expression:
        return per_query[target.id]
    tree = _parse_expression(target.expression, alarm.source)
    return [
        _evaluate_expression(tree, {qid: series[i] for qid, series in per_query.items()})
        for i in range(window.count)
    ]


# -- deciding the state --------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """A state and the datapoints that decided it (for the reason text and the event)."""

    state: AlarmState
    evaluated: tuple[tuple[int, float], ...]  # (period index, value), oldest first
    breaching: int
    filled: int  # missing periods counted through the missing-data treatment


def decide(alarm: AlarmDefinition, values: list[float | None], current: AlarmState) -> Decision:
    """The state CloudWatch would set, given one value (or None) per evaluation-range period."""
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm
    real = [(i, v) for i, v in enumerate(values) if v is not None]
    treat = alarm.treat_missing_data
    if not real:
        state = {
            MissingData.MISSING: AlarmState.INSUFFICIENT_DATA,
            MissingData.IGNORE: current,
            MissingData.BREACHING: AlarmState.ALARM,
            MissingData.NOT_BREACHING: AlarmState.OK,
        }[treat]
        filled = 0 if treat in (MissingData.MISSING, MissingData.IGNORE) else n
        return Decision(state, (), n if treat is MissingData.BREACHING else 0, filled)
    if len(real) >= n:
        recent = tuple(real[-n:])
        breaching = sum(alarm.breaches(v) for _, v in recent)
        return Decision(_state(breaching >= m), recent, breaching, 0)
    breaching = sum(alarm.breaches(v) for _, v in real)
    filled = n - len(real)
    if treat is MissingData.BREACHING:
        state = _state(breaching + filled >= m)
        return Decision(state, tuple(real), breaching + filled, filled)
    if treat is MissingData.NOT_BREACHING:
        return Decision(_state(breaching >= m), tuple(real), breaching, filled)
    alarms_early = breaching >= min(m, len(real))
    if treat is MissingData.MISSING:
        return Decision(_state(alarms_early), tuple(real), breaching, 0)
    # ignore: a full M breaching alarms; an early alarm is withheld (the state is kept).
    if breaching >= m:
        return Decision(AlarmState.ALARM, tuple(real), breaching, 0)
    return Decision(current if alarms_early else AlarmState.OK, tuple(real), breaching, 0)


def _state(alarm: bool) -> AlarmState:
    return AlarmState.ALARM if alarm else AlarmState.OK


# -- the evaluator -------------------------------------------------------------------------------
def _cw_time(moment: datetime) -> str:
    """CloudWatch's timestamp format inside alarm events: 2019-10-02T17:04:40.989+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class StateRecord:
    value: AlarmState
    reason: str
    reason_data: str
    timestamp: datetime

    def as_event(self) -> dict[str, str]:
        record = {"value": self.value.value, "reason": self.reason, "timestamp": _cw_time(self.timestamp)}
        if self.reason_data:
            record["reasonData"] = self.reason_data
        return record


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation of one alarm found; ``event`` is set only on a state transition."""

    alarm: AlarmDefinition
    at: datetime
    previous: AlarmState
    state: AlarmState
    reason: str
    values: tuple[float | None, ...]
    event: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return self.event is not None


@dataclass
class AlarmEvaluator:
    """Holds every alarm's state and evaluates them at given instants, like CloudWatch's scheduler.

    Alarms start in INSUFFICIENT_DATA, as a newly created CloudWatch alarm does. ``evaluate(at)``
    aligns ``at`` down to the minute (CloudWatch evaluates once a minute) and returns one
    :class:`Evaluation` per alarm; an event exists only where the state changed.
    """

    alarms: list[AlarmDefinition]
    cloudwatch: Any
    account: str
    region: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    states: dict[str, StateRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.states = {
            a.name: StateRecord(
                AlarmState.INSUFFICIENT_DATA, "Unchecked: Initial alarm creation", "", self.created_at
            )
            for a in self.alarms
        }

    def evaluable(self) -> list[AlarmDefinition]:
        return [a for a in self.alarms if not a.not_evaluable_reason]

    def evaluate(self, at: datetime, names: Iterable[str] | None = None) -> list[Evaluation]:
        """Evaluate every evaluable alarm (or those named) at ``at`` (timezone-aware)."""
        at = at.astimezone(UTC).replace(second=0, microsecond=0)
        wanted = set(names) if names is not None else None
        return [
            self._evaluate_one(alarm, at)
            for alarm in self.evaluable()
            if wanted is None or alarm.name in wanted
        ]

    def _evaluate_one(self, alarm: AlarmDefinition, at: datetime) -> Evaluation:
        window = Window(end=at, period=alarm.period, count=evaluation_range(alarm.evaluation_periods))
        values = fetch_values(self.cloudwatch, alarm, window)
        previous = self.states[alarm.name]
        decision = decide(alarm, values, previous.value)
        reason = _reason(alarm, decision, window, previous.value)
        if decision.state is previous.value:
            return Evaluation(alarm, at, previous.value, decision.state, reason, tuple(values))
        record = StateRecord(decision.state, reason, _reason_data(alarm, decision, window, at), at)
        self.states[alarm.name] = record
        event = alarm_state_change_event(alarm, record, previous, self.account, self.region)
        return Evaluation(alarm, at, previous.value, decision.state, reason, tuple(values), event)


def _reason(alarm: AlarmDefinition, decision: Decision, window: Window, previous: AlarmState) -> str:
    """CloudWatch's ``StateReason`` wording, e.g. "Threshold Crossed: 1 out of the last 1 ..."."""
    if not decision.evaluated and decision.filled == 0:
        return f"Insufficient Data: {window.count} datapoints were unknown."
    points = ", ".join(
        f"{v!r} ({window.period_start(i).strftime('%d/%m/%y %H:%M:%S')})" for i, v in decision.evaluated
    )
    total = len(decision.evaluated) + decision.filled
    _, words = COMPARISONS[alarm.comparison]
    verb = "was" if decision.state is AlarmState.ALARM else "was not"
    plural = "datapoint" if alarm.datapoints_to_alarm == 1 else "datapoints"
    return (
        f"Threshold Crossed: {decision.breaching} out of the last {total} datapoints [{points}] {verb} "
        f"{words} the threshold ({alarm.threshold}) (minimum {alarm.datapoints_to_alarm} {plural} for "
        f"{previous.value} -> {decision.state.value} transition)."
    )


def _reason_data(alarm: AlarmDefinition, decision: Decision, window: Window, at: datetime) -> str:
    query = alarm.result_query
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _cw_time(at),
        "startDate": _cw_time(window.start),
        "period": alarm.period,
        "recentDatapoints": [v for _, v in decision.evaluated],
        "threshold": alarm.threshold,
        "evaluatedDatapoints": [
            {"timestamp": _cw_time(window.period_start(i)), "value": v}
            for i, v in reversed(decision.evaluated)
        ],
    }
    if not query.expression:
        data["statistic"] = query.stat
    return json.dumps(data, separators=(",", ":"))


def alarm_state_change_event(
    alarm: AlarmDefinition, state: StateRecord, previous: StateRecord, account: str, region: str
) -> dict[str, Any]:
    """The EventBridge event CloudWatch emits on a transition (source aws.cloudwatch)."""
    configuration: dict[str, Any] = {"metrics": [q.as_event_metric() for q in alarm.queries]}
    if alarm.description:
        configuration["description"] = alarm.description
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": account,
        "time": state.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [alarm.arn],
        "detail": {
            "alarmName": alarm.name,
            "state": state.as_event(),
            "previousState": previous.as_event(),
            "configuration": configuration,
        },
    }
