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
- Fewer than N: ``breaching``/``notBreaching`` fill the gaps with breaching/good points. ``missing``
  and ``ignore`` decide on the real points when there are at least M of them; with fewer, a good
  point means OK, and otherwise ``missing`` alarms only by the documented premature-alarm rule (the
  oldest breaching point of the last N periods is at least M periods old and nothing more recent is
  good: ``- - X - -`` alarms, ``- - - - X`` and ``- - - X -`` do not), and the state is kept.
- No real datapoint: ``missing`` -> INSUFFICIENT_DATA, ``ignore`` -> unchanged, ``breaching`` ->
  ALARM, ``notBreaching`` -> OK. Metrics of ``AWS/DynamoDB`` always ignore missing data.

Statistics: the standard ones and percentiles (``p99``), from the raw values the emulator holds
(:mod:`localcloud.moto_extensions.cloudwatch_metrics`), with ``EvaluateLowSampleCountPercentile``.
Metric math: :mod:`localcloud.cloudwatch_math`. Refused when the template is read, naming the field:
anomaly-detection comparisons, ``EvaluationWindow``, ``ThresholdMetricId``, trimmed statistics and
the metric-math functions that module refuses.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from localcloud import cloudwatch_math
from localcloud.cloudformation import Resource, TemplateError, TemplateSet
from localcloud.event_envelope import envelope
from localcloud.moto_extensions import cloudwatch_metrics
from localcloud.moto_extensions.cloudwatch_metrics import percentile_of

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
# "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore missing data even if you
# choose a different option" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
ALWAYS_IGNORE_MISSING_NAMESPACES = frozenset({"AWS/DynamoDB"})


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
    id_generated: bool = False  # a single-metric alarm's query: the id is ours, not the template's

    def tree(self, where: str) -> cloudwatch_math.Node:
        """The parsed expression; a TemplateError naming ``where`` if it is not evaluable locally."""
        try:
            return _parse_expression(self.expression)
        except cloudwatch_math.MathError as err:
            raise TemplateError(f"{where}: {err}") from err

    def as_event_metric(self, alarm_arn: str) -> dict[str, Any]:
        """This query as the alarm event's ``configuration.metrics[]`` entry.

        A single-metric alarm has no query id of its own; AWS's sample events show a generated UUID
        there, so one is derived from the alarm's ARN (stable across evaluations)."""
        if self.expression:
            return {
                "id": self.id,
                "expression": self.expression,
                "label": self.label or self.id,
                "returnData": self.return_data,
            }
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm_arn)) if self.id_generated else self.id,
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
    low_sample_count: str = "evaluate"  # EvaluateLowSampleCountPercentile: evaluate | ignore
    # Where the alarm lives (its stack's account and region; a stage's alarms are in the stage's
    # account): it evaluates that account's metrics and its events are that account's. "": the
    # evaluator's own account and region.
    account: str = ""
    region: str = ""

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
        "Statistic", "ExtendedStatistic", "Period", "EvaluateLowSampleCountPercentile",
    )  # fmt: skip
    # Only what the evaluation reads is resolved: actions and other references may point anywhere.
    props = {k: templates.property(resource, k) for k in keys if k in resource.properties}

    def require(key: str) -> Any:
        if key not in props:
            raise TemplateError(f"{resource.where(key)} is required by the local alarm evaluation")
        return props[key]

    name = require("AlarmName")
    for unsupported in ("EvaluationWindow", "ThresholdMetricId"):
        if unsupported in resource.properties:
            raise TemplateError(
                f"{resource.where(unsupported)}: not evaluated locally (only the rolling M-of-N "
                "evaluation of https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html)"
            )
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
    queries, period = _queries(resource, props)
    if {q.namespace for q in queries} & ALWAYS_IGNORE_MISSING_NAMESPACES:
        treat_missing = MissingData.IGNORE
    low_sample = props.get("EvaluateLowSampleCountPercentile", "evaluate")
    if low_sample not in ("evaluate", "ignore"):
        raise TemplateError(
            f"{resource.where('EvaluateLowSampleCountPercentile')}: unknown value {low_sample!r}"
        )
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
        low_sample_count=low_sample,
        account=templates.account_of(resource),
        region=templates.region_of(resource),
    )


def _dimensions(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((d["Name"], str(d["Value"])) for d in raw or []))


def _queries(resource: Resource, props: dict[str, Any]) -> tuple[tuple[MetricQuery, ...], int]:
    """The alarm's metric queries and its period; expressions parsed (and refused) here, not mid-loop."""
    if "Metrics" not in props:
        stat = props.get("Statistic") or props.get("ExtendedStatistic")
        if not stat or "MetricName" not in props or "Period" not in props:
            raise TemplateError(
                f"{resource.where()}: needs MetricName, Period and Statistic/ExtendedStatistic, or Metrics"
            )
        _check_stat(resource.where("ExtendedStatistic"), stat)
        query = MetricQuery(
            id="m1",
            id_generated=True,
            return_data=True,
            namespace=props.get("Namespace", ""),
            metric_name=props["MetricName"],
            dimensions=_dimensions(props.get("Dimensions")),
            stat=stat,
            period=int(props["Period"]),
        )
        return (query,), query.period
    queries: list[MetricQuery] = []
    for index, raw in enumerate(props["Metrics"]):
        where = resource.where(f"Metrics[{index}]")
        if "Expression" in raw:
            query = MetricQuery(
                id=raw["Id"],
                return_data=raw.get("ReturnData", True),
                expression=raw["Expression"],
                label=raw.get("Label", ""),
            )
            query.tree(where)
            queries.append(query)
            continue
        stat = raw["MetricStat"]
        _check_stat(f"{where}.MetricStat.Stat", stat["Stat"])
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
    ids = {q.id for q in queries}
    for query in (q for q in queries if q.expression):
        unknown = cloudwatch_math.references(query.tree(resource.where("Metrics"))) - ids
        if unknown:
            raise TemplateError(f"{resource.where('Metrics')}: {query.id} uses unknown ids {sorted(unknown)}")
    _expression_order(queries, resource.where("Metrics"))
    periods = {q.period for q in queries if not q.expression}
    return tuple(queries), max(periods)


def _check_stat(where: str, stat: str) -> None:
    """The standard statistics and percentiles are computed locally; trimmed means etc. are refused."""
    if stat not in STANDARD_STATISTICS and percentile_of(stat) is None:
        raise TemplateError(
            f"{where}: statistic {stat} is not computed locally (standard statistics and pNN only)"
        )


@cache
def _parse_expression(expression: str) -> cloudwatch_math.Node:
    return cloudwatch_math.parse(expression)


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


@dataclass(frozen=True)
class Fetched:
    """The alarm's value per period of the window (None: no datapoint) and the periods whose
    percentile had too few samples (see ``EvaluateLowSampleCountPercentile``)."""

    values: list[float | None]
    low_sample: frozenset[int] = frozenset()


def fetch_values(cloudwatch: Any, alarm: AlarmDefinition, window: Window) -> Fetched:
    """The alarm's value per period of ``window``, oldest first; None where no datapoint exists.

    Metric queries go to GetMetricData (namespace, name, exact dimensions; percentiles from the raw
    values, see :mod:`localcloud.moto_extensions.cloudwatch_metrics`); expressions are evaluated
    here, each after the ids it uses, so an expression may use another expression's id.
    """
    stat_queries = [q for q in alarm.queries if not q.expression]
    api_queries = [q.as_api_query() for q in stat_queries]
    percentiles = [(q, p) for q in stat_queries if (p := percentile_of(q.stat)) is not None]
    needed = 0.0  # samples a period needs, when EvaluateLowSampleCountPercentile is ignore
    if percentiles and alarm.low_sample_count == "ignore":
        query, percentile = percentiles[0]
        api_queries.append(replace(query, id=_SAMPLES_ID, stat="SampleCount").as_api_query())
        needed = low_sample_threshold(percentile)
    response = cloudwatch.get_metric_data(
        MetricDataQueries=api_queries,
        StartTime=window.start,
        EndTime=window.end,
        ScanBy="TimestampAscending",
    )
    series: dict[str, list[float | None]] = {q["Id"]: [None] * window.count for q in api_queries}
    for result in response["MetricDataResults"]:
        for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True):
            index = window.index_of(timestamp)
            if 0 <= index < window.count:
                series[result["Id"]][index] = value
    samples = series.pop(_SAMPLES_ID, [])
    low_sample = frozenset(i for i, n in enumerate(samples) if (n or 0) < needed)
    context = cloudwatch_math.Context(
        series={qid: tuple(values) for qid, values in series.items()},
        periods={q.id: q.period for q in stat_queries},
        count=window.count,
    )
    computed = dict(context.series)
    for query in _expression_order(alarm.queries, alarm.source):
        computed[query.id] = cloudwatch_math.evaluate(
            query.tree(alarm.source), replace(context, series=computed)
        )
    return Fetched(list(computed[alarm.result_query.id]), low_sample)


_SAMPLES_ID = "lowsamplecount"  # the extra SampleCount query of a percentile alarm


def low_sample_threshold(percentile: float) -> float:
    """CloudWatch's "too few data points" for a percentile: 10/(1-p) from p0.5 up to p100
    (exclusive), 10/p below p0.5; p0 and p100 are outside both ranges, so never too few
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html)."""
    if percentile in (0.0, 1.0):
        return 0.0
    return 10 / (1 - percentile) if percentile >= 0.5 else 10 / percentile


def _expression_order(queries: Iterable[MetricQuery], where: str) -> list[MetricQuery]:
    """The expressions, each after the expressions it uses; a TemplateError for a cycle."""
    pending = {q.id: q for q in queries if q.expression}
    ordered: list[MetricQuery] = []
    while pending:
        ready = [
            q for q in pending.values() if not (cloudwatch_math.references(q.tree(where)) & pending.keys())
        ]
        if not ready:
            raise TemplateError(f"{where}: expressions use each other in a cycle: {sorted(pending)}")
        for query in ready:
            ordered.append(pending.pop(query.id))
    return ordered


# -- deciding the state --------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """A state and the datapoints that decided it (for the reason text and the event)."""

    state: AlarmState
    evaluated: tuple[tuple[int, float], ...]  # (period index, value), oldest first
    breaching: int
    filled: int  # missing periods counted through the missing-data treatment


def decide(alarm: AlarmDefinition, values: list[float | None], current: AlarmState) -> Decision:
    """The state CloudWatch would set, given one value (or None) per evaluation-range period.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
    """
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
    if treat is MissingData.NOT_BREACHING or len(real) >= m:
        return Decision(_state(breaching >= m), tuple(real), breaching, filled if breaching else 0)
    # missing / ignore with fewer than M real datapoints: none of them is good evidence either way.
    if breaching < len(real):
        return Decision(AlarmState.OK, tuple(real), breaching, 0)
    if treat is MissingData.MISSING and _premature_alarm(alarm, values):
        return Decision(AlarmState.ALARM, tuple(real), breaching, 0)
    return Decision(current, tuple(real), breaching, 0)  # "- - - - X": wait for the next datapoint


def _premature_alarm(alarm: AlarmDefinition, values: list[float | None]) -> bool:
    """The documented exception ("avoiding premature transitions to alarm state"): ALARM when the
    oldest breaching datapoint of the last N periods is at least M periods old and every more recent
    datapoint breaches or is missing, so ``- - X - -`` alarms (3 of 3) but ``- - - - X`` and
    ``- - - X -`` do not."""
    last = values[-alarm.evaluation_periods :]
    breaching_ages = [len(last) - i for i, v in enumerate(last) if v is not None and alarm.breaches(v)]
    if not breaching_ages or max(breaching_ages) < alarm.datapoints_to_alarm:
        return False
    oldest = len(last) - max(breaching_ages)
    return all(v is None or alarm.breaches(v) for v in last[oldest:])


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
    # The CloudWatch client of another (account, region), for an alarm of a stage stack: CloudWatch
    # evaluates an alarm over the metrics of its own account (SageMaker publishes a stage endpoint's
    # AWS/SageMaker metrics in the stage's account). None: every alarm is read with ``cloudwatch``.
    cloudwatch_in: Callable[[str, str], Any] | None = None
    states: dict[str, StateRecord] = field(init=False)

    def __post_init__(self) -> None:
        cloudwatch_metrics.install()  # namespaces kept apart, percentiles: what the queries rely on
        self.states = {
            a.name: StateRecord(
                AlarmState.INSUFFICIENT_DATA, "Unchecked: Initial alarm creation", "", self.created_at
            )
            for a in self.alarms
        }

    def evaluate(self, at: datetime, names: Iterable[str] | None = None) -> list[Evaluation]:
        """Evaluate every evaluable alarm (or those named) at ``at`` (timezone-aware)."""
        at = at.astimezone(UTC).replace(second=0, microsecond=0)
        wanted = set(names) if names is not None else None
        return [
            self._evaluate_one(alarm, at) for alarm in self.alarms if wanted is None or alarm.name in wanted
        ]

    def _cloudwatch_of(self, account: str, region: str) -> Any:
        if self.cloudwatch_in is None or (account, region) == (self.account, self.region):
            return self.cloudwatch
        return self.cloudwatch_in(account, region)

    def _evaluate_one(self, alarm: AlarmDefinition, at: datetime) -> Evaluation:
        window = Window(end=at, period=alarm.period, count=evaluation_range(alarm.evaluation_periods))
        account, region = alarm.account or self.account, alarm.region or self.region
        fetched = fetch_values(self._cloudwatch_of(account, region), alarm, window)
        values = fetched.values
        previous = self.states[alarm.name]
        decision = decide(alarm, values, previous.value)
        reason = _reason(alarm, decision, window, previous.value)
        if fetched.low_sample & {i for i, _ in decision.evaluated}:
            # EvaluateLowSampleCountPercentile=ignore: "the alarm state does not change during periods
            # with too few data points to be statistically significant".
            reason = f"Too few samples for {alarm.result_query.stat}: state kept ({reason})"
            decision = replace(decision, state=previous.value)
        if decision.state is previous.value:
            return Evaluation(alarm, at, previous.value, decision.state, reason, tuple(values))
        record = StateRecord(decision.state, reason, _reason_data(alarm, decision, window, at), at)
        self.states[alarm.name] = record
        event = alarm_state_change_event(alarm, record, previous, account, region)
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
        # AWS's samples: the start of the oldest datapoint evaluated, not of the whole range fetched.
        "startDate": _cw_time(
            window.period_start(decision.evaluated[0][0]) if decision.evaluated else window.start
        ),
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
    configuration: dict[str, Any] = {"metrics": [q.as_event_metric(alarm.arn) for q in alarm.queries]}
    if alarm.description:
        configuration["description"] = alarm.description
    detail = {
        "alarmName": alarm.name,
        "state": state.as_event(),
        "previousState": previous.as_event(),
        "configuration": configuration,
    }
    return envelope(
        source=EVENT_SOURCE,
        detail_type=EVENT_DETAIL_TYPE,
        account=account,
        region=region,
        resources=[alarm.arn],
        detail=detail,
        at=state.timestamp,
    )
