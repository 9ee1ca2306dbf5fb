"""EventBridge for the local loop: the synthesized rules match events and deliver them to targets.

moto stores rules but cannot deliver to a SageMaker pipeline or run a Lambda function, so this
module reads the ``AWS::Events::Rule`` resources of ``cdk.out/*.template.json``, matches each event
with moto's own pattern matcher (``moto.events.models.EventPattern``), and dispatches to the targets
the way EventBridge would:

- a SageMaker pipeline target (``Arn`` = pipeline ARN, ``SageMakerPipelineParameters``) asks the
  local runner to start that pipeline with those parameters;
- a Lambda target invokes the function through the local cloud's Lambda registry
  (:mod:`localcloud.awslambda`, the same path a pipeline's Lambda step takes) with the target's
  input and the emulator's clients; when the retrain guard answers ``{"action": "started", ...}``
  the local runner executes that pipeline. A target naming a function the registry does not know is
  a :class:`TemplateError`. A function that fails is recorded on the delivery, not raised:
  EventBridge invokes Lambda asynchronously, so a function error never reaches the rule
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html,
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html);
- an SNS target publishes the input to the emulator's topic.

Target input follows EventBridge: ``Input`` (constant JSON), ``InputPath``, ``InputTransformer``
(``InputPathsMap`` + ``InputTemplate``, with the predefined ``<aws.events.*>`` variables), or the
whole event. One moto bug is worked around in the open: its matcher flattens nested objects but not
arrays of objects, so a filter on a field inside an array of objects (e.g. a ``numeric`` filter on
``detail.configuration.metrics.metricStat.period``) never matches, where AWS matches when any element
does. :func:`normalize_for_matching` merges such arrays into one object of value lists first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.awslambda import ClientFactory, FunctionError, LambdaRegistry, UnknownFunctionError
from localcloud.cloudformation import Resource, TemplateError, TemplateSet
from pipelines.settings import Settings

RULE_TYPE = "AWS::Events::Rule"


# -- rules read from the templates ---------------------------------------------------------------
@dataclass(frozen=True)
class RuleTarget:
    """One entry of a rule's ``Targets`` with intrinsics resolved (the raw CloudFormation keys)."""

    id: str
    arn: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    name: str
    arn: str
    source: str  # "<template>: <logical id>"
    pattern: dict[str, Any] | None  # None for schedule-only rules
    schedule: str | None
    enabled: bool
    targets: tuple[RuleTarget, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        if not self.enabled or self.pattern is None:
            return False
        # moto is heavy; importing `localcloud` (the local XGBoost job's subprocess does) stays light.
        from moto.events.models import EventPattern

        return EventPattern.load(json.dumps(self.pattern)).matches_event(normalize_for_matching(event))


def load_rules(templates: TemplateSet) -> list[Rule]:
    """Every ``AWS::Events::Rule`` of the templates (default event bus), in a stable order."""
    return [_rule(templates, resource) for resource in templates.resources(RULE_TYPE)]


# What delivery reads from a target; RoleArn, DeadLetterConfig, RetryPolicy are not resolved.
_TARGET_KEYS = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SageMakerPipelineParameters")


def _rule(templates: TemplateSet, resource: Resource) -> Rule:
    bus = templates.property(resource, "EventBusName", "default")
    if bus != "default":
        raise TemplateError(f"{resource.where('EventBusName')}: only the default bus is routed locally")
    pattern = templates.property(resource, "EventPattern")
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    name = templates.property(resource, "Name") or resource.logical_id
    targets = []
    for index, raw in enumerate(resource.properties.get("Targets", [])):
        spec = {
            k: templates.resolve(raw[k], resource, f"Targets[{index}].{k}") for k in _TARGET_KEYS if k in raw
        }
        targets.append(RuleTarget(id=spec.get("Id", f"Target{index}"), arn=spec["Arn"], spec=spec))
    arn = f"arn:aws:events:{templates.settings.region}:{templates.settings.account}:rule/{name}"
    return Rule(
        name=name,
        arn=arn,
        source=f"{resource.template.name}: {resource.logical_id}",
        pattern=pattern,
        schedule=templates.property(resource, "ScheduleExpression"),
        enabled=templates.property(resource, "State", "ENABLED") == "ENABLED",
        targets=tuple(targets),
    )


def normalize_for_matching(node: Any) -> Any:
    """The event with every array of objects merged into one object whose leaves are value lists.

    ``{"metrics": [{"id": "a", "p": 60}, {"id": "b"}]}`` -> ``{"metrics": {"id": ["a", "b"], "p": [60]}}``,
    which moto's matcher flattens to ``metrics.id = ["a", "b"]``: a filter then matches when any
    element matches, as in EventBridge.
    """
    if isinstance(node, dict):
        return {k: normalize_for_matching(v) for k, v in node.items()}
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        merged: dict[str, list[Any]] = {}
        for item in node:
            for key, value in item.items():
                merged.setdefault(key, []).append(value)
        return {key: _merge_values(values) for key, values in merged.items()}
    return node


def _merge_values(values: list[Any]) -> Any:
    """One key's values across the array's elements: objects merge again, scalars form a list."""
    items = [item for value in values for item in (value if isinstance(value, list) else [value])]
    if items and all(isinstance(item, dict) for item in items):
        return normalize_for_matching(items)
    return items


# -- target input (Input, InputPath, InputTransformer) ----------------------------------------------
def _json_path(event: Any, path: str, where: str) -> Any:
    """The value at a simple JSONPath (``$``, ``$.a.b``, ``$.a[0].b``); None when absent."""
    if not path.startswith("$"):
        raise TemplateError(f"{where}: JSONPath {path!r} must start with $")
    value = event
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path[1:]):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
    return value


def target_input(rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Any:
    """What EventBridge delivers to ``target`` for ``event`` (a JSON value)."""
    spec, where = target.spec, f"{rule.source} target {target.id}"
    if "Input" in spec:
        return json.loads(spec["Input"])
    if "InputPath" in spec:
        return _json_path(event, spec["InputPath"], where)
    if "InputTransformer" in spec:
        return _transform(rule, event, spec["InputTransformer"], where)
    return event


def _transform(rule: Rule, event: dict[str, Any], transformer: dict[str, Any], where: str) -> Any:
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.ingestion-time": event.get("time", ""),
        "aws.events.event": event,
        "aws.events.event.json": event,
    }
    for name, path in transformer.get("InputPathsMap", {}).items():
        variables[name] = _json_path(event, path, where)
    return _fill_template(transformer["InputTemplate"], variables)


def _fill_template(template: str, variables: Mapping[str, Any]) -> Any:
    """EventBridge's rule: a placeholder inside a JSON string receives the value's text (escaped);
    one outside strings receives the value as JSON. A template that is not JSON is plain text."""

    def as_text(match: re.Match[str]) -> str:
        value = variables.get(match.group(1))
        return json.dumps(value if isinstance(value, str) else json.dumps(value))[1:-1]

    def as_json(match: re.Match[str]) -> str:
        return json.dumps(variables.get(match.group(1)))

    placeholder = r"<([A-Za-z0-9_.\-]+)>"
    parts = re.split(r'("(?:[^"\\]|\\.)*")', template)  # odd indexes are string literals
    filled = "".join(
        re.sub(placeholder, as_text if index % 2 else as_json, part) for index, part in enumerate(parts)
    )
    try:
        return json.loads(filled)
    except json.JSONDecodeError:
        return filled


# -- delivery -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PipelineStart:
    """A request to run a pipeline locally, and who asked for it."""

    pipeline_name: str
    parameters: dict[str, str]
    requested_by: str  # "<rule> -> <target>"
    execution_arn: str | None = None  # set when the guard already started it in the emulator


@dataclass(frozen=True)
class Delivery:
    """One target invocation for one matched rule, with what the target answered."""

    rule: Rule
    target: RuleTarget
    kind: str  # pipeline | lambda | sns | not-delivered
    payload: Any
    result: Any = None
    pipeline_start: PipelineStart | None = None
    note: str = ""
    error: str = ""  # the function's failure, one line (a Lambda target that failed)


@dataclass
class EventRouter:
    """Routes events through the synthesized rules to in-process targets.

    ``start_pipeline`` is the local runner (called for every pipeline start a target asks for);
    ``client`` is the emulator's client factory, handed to the Lambda functions as in the Lambda
    runtime; ``lambdas`` is the registry Lambda targets are invoked through.
    """

    rules: list[Rule]
    settings: Settings
    client: ClientFactory
    start_pipeline: Callable[[PipelineStart], Any]
    lambdas: LambdaRegistry
    deliveries: list[Delivery] = field(default_factory=list)

    def route(self, event: dict[str, Any]) -> list[Delivery]:
        """Deliver ``event`` to the targets of every enabled rule whose pattern matches it."""
        delivered: list[Delivery] = []
        for rule in self.rules:
            if rule.matches(event):
                delivered.extend(self._deliver(rule, target, event) for target in rule.targets)
        self.deliveries.extend(delivered)
        return delivered

    def _deliver(self, rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Delivery:
        payload = target_input(rule, target, event)
        requested_by = f"{rule.name} -> {target.id}"
        pipeline = self._pipeline_for(target.arn)
        if pipeline is not None:
            params = target.spec.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
            start = PipelineStart(pipeline, {p["Name"]: p["Value"] for p in params}, requested_by)
            result = self.start_pipeline(start)
            return Delivery(rule, target, "pipeline", payload, result, start)
        service = _service(target.arn)
        if service == "lambda":
            return self._invoke(rule, target, payload, requested_by)
        if service == "sns":
            return self._publish(rule, target, payload)
        note = f"{target.arn}: no local delivery for this target type (recorded only)"
        return Delivery(rule, target, "not-delivered", payload, note=note)

    def _pipeline_for(self, arn: str) -> str | None:
        return next((n for n in self.settings.pipeline_names if self.settings.pipeline_arn(n) == arn), None)

    def _invoke(self, rule: Rule, target: RuleTarget, payload: Any, requested_by: str) -> Delivery:
        try:
            function = self.lambdas.function(target.arn)
        except UnknownFunctionError as err:
            raise TemplateError(f"{rule.source}: target {target.id}: {err}") from err
        try:
            result = function.invoke(payload, self.client)
        except FunctionError as err:
            return Delivery(rule, target, "lambda", payload, note=function.purpose, error=str(err))
        start = None
        if isinstance(result, dict) and result.get("action") == "started":
            start = PipelineStart(
                pipeline_name=payload["PipelineName"],
                parameters={p["Name"]: p["Value"] for p in result.get("parameters", [])},
                requested_by=requested_by,
                execution_arn=result.get("pipeline_execution_arn"),
            )
            self.start_pipeline(start)
        return Delivery(rule, target, "lambda", payload, result, start, note=function.purpose)

    def _publish(self, rule: Rule, target: RuleTarget, payload: Any) -> Delivery:
        sns = self.client("sns")
        topic = sns.create_topic(Name=target.arn.rsplit(":", 1)[1])["TopicArn"]  # idempotent
        message = payload if isinstance(payload, str) else json.dumps(payload)
        result = sns.publish(TopicArn=topic, Message=message)
        return Delivery(rule, target, "sns", payload, {"MessageId": result["MessageId"]})


def _service(arn: str) -> str:
    """The service an ARN belongs to: ``arn:<partition>:<service>:...``."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""
