"""EventBridge for the local loop: the synthesized rules match events and deliver them to targets.

moto stores rules but cannot deliver to a SageMaker pipeline or run a Lambda function, so this
module reads the ``AWS::Events::Rule`` resources of ``cdk.out/*.template.json``, matches each event
with EventBridge's pattern rules (:mod:`localcloud.event_patterns`; a pattern EventBridge would
reject is a :class:`TemplateError` when the rule is read), and dispatches to the targets
the way EventBridge would:

- a SageMaker pipeline target (``Arn`` = pipeline ARN, ``SageMakerPipelineParameters``) asks the
  local runner to start that pipeline with those parameters; a value that is a JSON path
  (``$.detail.x``) is read from the event ("dynamic path parameters",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html);
- a Lambda target invokes the function through the local cloud's Lambda registry
  (:mod:`localcloud.awslambda`, the same path a pipeline's Lambda step takes) with the target's
  input and the emulator's clients; when the retrain guard answers ``{"action": "started", ...}``
  the local runner executes that pipeline. A target naming a function the registry does not know is
  a :class:`TemplateError`. A function that fails is recorded on the delivery, not raised:
  EventBridge invokes Lambda asynchronously, so a function error never reaches the rule
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html,
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html);
- an SNS target publishes the input to the emulator's topic;
- an event bus target (``arn:...:event-bus/NAME``, a stage's rule forwarding to the build
  account's default bus) puts the event, unchanged, on that bus: EventBridge keeps its ``account``
  and ``source`` (the receiving account's rules match "events from the sender account",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html), and the
  receiving bus's rules route it. It is sent as the target's role (``RoleArn``), which EventBridge
  requires for a bus in another account, so both halves are checked: the role's identity policy
  must allow ``events:PutEvents`` on the bus and the bus's policy (``AWS::Events::EventBusPolicy``)
  must allow the sender's account; a refusal fails the delivery with AWS's AccessDenied. An event
  that came from another account is not sent on to a third ("these events are not sent to the
  third account", same page).

Each rule belongs to the default bus of its stack's account (a stage stack's rules to the stage's),
and an event is matched only by the rules of the bus it is on: an AWS service puts its events on
the bus of the account they are about (the event's ``account``).

A delivery that fails (the target could not be reached or refused the event) is recorded on the
delivery (kind ``failed``, ``Delivery.error``), never raised out of the router: EventBridge retries
a target per its ``RetryPolicy`` and then sends the event to the target's ``DeadLetterConfig``
queue; locally the failure is final at once (a retry would fail the same way in-process) and the
event goes to that queue in the emulator
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). A Lambda function
that fails is not a failed delivery: EventBridge invoked it asynchronously, so what happens next is
Lambda's: the function is retried ``MaximumRetryAttempts`` times (2 by default) and then an
invocation record goes to its on-failure destination, both read from the templates'
``AWS::Lambda::EventInvokeConfig`` (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html); retries run at
once rather than after Lambda's back-off.

Target input follows EventBridge: ``Input`` (constant JSON), ``InputPath``, ``InputTransformer``
(``InputPathsMap`` + ``InputTemplate``, with the predefined ``<aws.events.*>`` variables:
``<aws.events.event>`` is the event without ``detail``, ``<aws.events.event.json>`` the whole event,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html), or the
whole event.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from infra.dashboard import EVENTS_NAMESPACE
from localcloud.awslambda import (
    ClientFactory,
    Function,
    FunctionError,
    LambdaRegistry,
    UnknownFunctionError,
    unqualified_arn,
)
from localcloud.cloudformation import Resource, TemplateError, TemplateSet
from localcloud.event_envelope import envelope
from localcloud.event_patterns import PatternError, matches, validate
from localcloud.iam import AccessControl, AccessDeniedError, Principal
from pipelines.settings import Settings

RULE_TYPE = "AWS::Events::Rule"
EVENTS = "events.amazonaws.com"  # the service principal EventBridge calls targets as
_EVENTS_SESSION = "events"
_SEND_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}  # what putting a message on a destination is
INVOKE_CONFIG_TYPE = "AWS::Lambda::EventInvokeConfig"
DEFAULT_ASYNC_RETRIES = 2  # Lambda's retries of a failed asynchronous invocation, unless configured


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
    account: str = ""  # the account whose default bus the rule is on ("": the settings' account)
    region: str = ""

    def matches(self, event: Mapping[str, Any]) -> bool:
        if not self.enabled or self.pattern is None:
            return False
        return matches(self.pattern, event)


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """What Lambda does with an asynchronous invocation that fails: retries, then the destination."""

    retries: int = DEFAULT_ASYNC_RETRIES
    on_failure: str | None = None  # an SQS queue or SNS topic ARN


def load_invoke_configs(templates: TemplateSet) -> dict[str, AsyncInvokeConfig]:
    """Each function's ``AWS::Lambda::EventInvokeConfig``, by unqualified function ARN."""
    configs: dict[str, AsyncInvokeConfig] = {}
    for resource in templates.resources(INVOKE_CONFIG_TYPE):
        arn = unqualified_arn(_function_arn(templates, resource))
        destination = (
            templates.property(resource, "DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        if destination is not None and _service(destination) not in ("sqs", "sns"):
            raise TemplateError(
                f"{resource.where('DestinationConfig')}: only SQS and SNS destinations are delivered locally"
            )
        retries = templates.property(resource, "MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)
        configs[arn] = AsyncInvokeConfig(int(retries), destination)
    return configs


def _function_arn(templates: TemplateSet, resource: Resource) -> str:
    """``FunctionName`` may be a Ref to the function (CDK's way), a name or an ARN."""
    raw = resource.properties.get("FunctionName")
    if isinstance(raw, dict) and "Ref" in raw:
        return str(templates.resolve({"Fn::GetAtt": [raw["Ref"], "Arn"]}, resource, "FunctionName"))
    name = str(templates.property(resource, "FunctionName"))
    if name.startswith("arn:"):
        return name
    sub = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + name
    return str(templates.resolve({"Fn::Sub": sub}, resource, "FunctionName"))


def load_rules(templates: TemplateSet) -> list[Rule]:
    """Every ``AWS::Events::Rule`` of the templates (default event bus), in a stable order."""
    return [_rule(templates, resource) for resource in templates.resources(RULE_TYPE)]


# What delivery reads from a target; RetryPolicy is not resolved.
_TARGET_KEYS = (
    "Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "SageMakerPipelineParameters",
    "DeadLetterConfig",
)  # fmt: skip


def _rule(templates: TemplateSet, resource: Resource) -> Rule:
    bus = templates.property(resource, "EventBusName", "default")
    if bus != "default":
        raise TemplateError(f"{resource.where('EventBusName')}: only the default bus is routed locally")
    pattern = templates.property(resource, "EventPattern")
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    if pattern is not None:
        try:
            validate(pattern)
        except PatternError as err:  # PutRule rejects the rule: so does reading it
            raise TemplateError(f"{resource.where('EventPattern')}: {err}") from err
    name = templates.property(resource, "Name") or resource.logical_id
    account, region = templates.account_of(resource), templates.region_of(resource)
    targets = []
    for index, raw in enumerate(resource.properties.get("Targets", [])):
        spec = {
            k: templates.resolve(raw[k], resource, f"Targets[{index}].{k}") for k in _TARGET_KEYS if k in raw
        }
        targets.append(RuleTarget(id=spec.get("Id", f"Target{index}"), arn=spec["Arn"], spec=spec))
    arn = f"arn:aws:events:{region}:{account}:rule/{name}"
    return Rule(
        name=name,
        arn=arn,
        source=f"{resource.template.name}: {resource.logical_id}",
        pattern=pattern,
        schedule=templates.property(resource, "ScheduleExpression"),
        enabled=templates.property(resource, "State", "ENABLED") == "ENABLED",
        targets=tuple(targets),
        account=account,
        region=region,
    )


# -- target input (Input, InputPath, InputTransformer) ----------------------------------------------
ABSENT: Any = object()  # a JSON path that is not in the event (unlike a JSON null)


@dataclass(frozen=True)
class RawText:
    """A target input that is not JSON (an input template that fills to plain text), sent as is."""

    text: str


def _json_path(event: Any, path: str, where: str) -> Any:
    """The value at a simple JSONPath (``$``, ``$.a.b``, ``$.a[0].b``); :data:`ABSENT` when absent."""
    if not path.startswith("$"):
        raise TemplateError(f"{where}: JSONPath {path!r} must start with $")
    value = event
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path[1:]):
        if name:
            value = value.get(name, ABSENT) if isinstance(value, dict) else ABSENT
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else ABSENT
    return value


def target_input(rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Any:
    """What EventBridge delivers to ``target`` for ``event``: a JSON value, or :class:`RawText`."""
    spec, where = target.spec, f"{rule.source} target {target.id}"
    if "Input" in spec:
        return json.loads(spec["Input"])
    if "InputPath" in spec:
        value = _json_path(event, spec["InputPath"], where)
        return None if value is ABSENT else value
    if "InputTransformer" in spec:
        return _transform(rule, event, spec["InputTransformer"], where)
    return event


def _transform(rule: Rule, event: dict[str, Any], transformer: dict[str, Any], where: str) -> Any:
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.ingestion-time": event.get("time", ""),
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
    for name, path in transformer.get("InputPathsMap", {}).items():
        value = _json_path(event, path, where)
        if value is not ABSENT:  # "that variable isn't created and won't appear in the output"
            variables[name] = value
    return _fill_template(transformer["InputTemplate"], variables)


def _fill_template(template: str, variables: Mapping[str, Any]) -> Any:
    """EventBridge's rules (eb-transform-target-input.html): a placeholder inside a JSON string gets
    the value's text, *not escaped* ("EventBridge doesn't escape values extracted by Input Path");
    one outside strings gets the value as JSON; a variable that was not created leaves nothing. The
    result is the JSON value if the text parses (a JSON string template stays a JSON string, quotes
    included on the wire), else :class:`RawText`."""

    def as_text(match: re.Match[str]) -> str:
        value = variables.get(match.group(1), "")
        return value if isinstance(value, str) else json.dumps(value)

    def as_json(match: re.Match[str]) -> str:
        return json.dumps(variables[match.group(1)]) if match.group(1) in variables else ""

    placeholder = r"<([A-Za-z0-9_.\-]+)>"
    parts = re.split(r'("(?:[^"\\]|\\.)*")', template)  # odd indexes are string literals
    filled = "".join(
        re.sub(placeholder, as_text if index % 2 else as_json, part) for index, part in enumerate(parts)
    )
    try:
        return json.loads(filled)
    except json.JSONDecodeError:
        return RawText(filled)


# -- delivery -------------------------------------------------------------------------------------
class RetriesExhaustedError(Exception):
    """A Lambda function failed on every asynchronous attempt (``error`` is the last failure)."""

    def __init__(self, error: FunctionError, attempts: int, destination: str) -> None:
        super().__init__(str(error))
        self.error, self.attempts, self.destination = error, attempts, destination


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
    kind: str  # pipeline | lambda | sns | bus | not-delivered | failed
    payload: Any
    result: Any = None
    pipeline_start: PipelineStart | None = None
    note: str = ""
    error: str = ""  # the failure, one line (a Lambda function's last attempt, or the delivery's)
    attempts: int = 1  # invocations of a Lambda function (1 + Lambda's asynchronous retries)
    failure_destination: str = ""  # where a failure went: the target's DLQ or the on-failure destination


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
    invoke_configs: Mapping[str, AsyncInvokeConfig] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    # IAM: EventBridge calls a target as the target's role, or as events.amazonaws.com under the
    # target's resource policy; a Lambda target then runs as its function's role. None: unchecked.
    access: AccessControl | None = None
    # The client factory of another (account, region), for what a rule of a stage's bus records in
    # its own account (TriggeredRules). None: ``client`` for every rule.
    client_in: Callable[[str, str], ClientFactory] | None = None

    def route(self, event: dict[str, Any], *, bus_account: str | None = None) -> list[Delivery]:
        """Deliver ``event``, put on the default bus of ``bus_account`` (by default the account the
        event is about, where AWS services put their events), to the targets of every enabled rule
        of that bus whose pattern matches it."""
        bus = bus_account or str(event.get("account") or self.settings.account)
        delivered: list[Delivery] = []
        for rule in self.rules:
            if (rule.account or self.settings.account) == bus and rule.matches(event):
                self._count_triggered(rule, event)
                delivered.extend(self._deliver_or_record(rule, target, event) for target in rule.targets)
        self.deliveries.extend(delivered)
        return delivered

    def _count_triggered(self, rule: Rule, event: dict[str, Any]) -> None:
        """EventBridge's TriggeredRules metric for a rule an event matched (AWS/Events, dimension
        RuleName: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html), which
        the dashboard's retraining-triggers widget plots."""
        at = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")) if event.get("time") else None
        self._client_of(rule)("cloudwatch").put_metric_data(
            Namespace=EVENTS_NAMESPACE,
            MetricData=[
                {
                    "MetricName": "TriggeredRules",
                    "Dimensions": [{"Name": "RuleName", "Value": rule.name}],
                    "Timestamp": at or datetime.now(UTC),
                    "Value": 1.0,
                    "Unit": "Count",
                }
            ],
        )

    def _client_of(self, rule: Rule) -> ClientFactory:
        """The client factory of the rule's own account and region."""
        where = (rule.account or self.settings.account, rule.region or self.settings.region)
        if self.client_in is None or where == (self.settings.account, self.settings.region):
            return self.client
        return self.client_in(*where)

    def fire_schedules(self, target_arn: str, at: datetime) -> list[Delivery]:
        """What happens when the enabled scheduled rules that target ``target_arn`` come due at
        ``at``: each delivers a "Scheduled Event" to its targets (all of them, as EventBridge does).

        The local cloud does not keep time for schedules, so a story says when one fires; the
        event's shape is AWS's sample (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-events.html,
        "Scheduled Event"). An empty list: no enabled scheduled rule targets it.
        """
        delivered: list[Delivery] = []
        for rule in self.rules:
            if rule.enabled and rule.schedule and any(t.arn == target_arn for t in rule.targets):
                event = scheduled_event(rule, self.settings, at)
                delivered.extend(self._deliver_or_record(rule, target, event) for target in rule.targets)
        self.deliveries.extend(delivered)
        return delivered

    def _deliver_or_record(self, rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Delivery:
        """A failing target is the target's problem, not the bus's: recorded, then dead-lettered."""
        try:
            delivery = self._deliver(rule, target, event)
        except TemplateError:
            raise  # the rule itself is wrong: say so at once
        except Exception as err:  # any failure of the target: EventBridge does not stop for it
            delivery = Delivery(rule, target, "failed", event, error=f"{type(err).__name__}: {err}")
        dead_letter = target.spec.get("DeadLetterConfig", {}).get("Arn")
        if delivery.kind == "failed" and dead_letter:
            try:  # EventBridge sends to the dead-letter queue under the queue's policy
                self._authorize(
                    Principal(service=EVENTS), rule, _SEND_ACTIONS[_service(dead_letter)], dead_letter
                )
            except AccessDeniedError as err:
                return replace(delivery, error=f"{delivery.error}; not dead-lettered: {err}")
            self._send(dead_letter, json.dumps(event))
            delivery = replace(delivery, failure_destination=dead_letter)
        return delivery

    def _send(self, arn: str, message: str) -> str:
        """Put ``message`` on the emulator's SQS queue or SNS topic named by ``arn``; its message id."""
        name = arn.rsplit(":", 1)[1]
        if _service(arn) == "sqs":
            sqs = self.client("sqs")
            queue = sqs.create_queue(QueueName=name)["QueueUrl"]  # idempotent
            return str(sqs.send_message(QueueUrl=queue, MessageBody=message)["MessageId"])
        sns = self.client("sns")
        topic = sns.create_topic(Name=name)["TopicArn"]  # idempotent
        return str(sns.publish(TopicArn=topic, Message=message)["MessageId"])

    def _deliver(self, rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Delivery:
        payload = target_input(rule, target, event)
        requested_by = f"{rule.name} -> {target.id}"
        pipeline = self._pipeline_for(target.arn)
        if pipeline is not None:
            params = target.spec.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
            where = f"{rule.source} target {target.id}"
            values = {p["Name"]: _parameter_value(p["Value"], event, where) for p in params}
            start = PipelineStart(pipeline, values, requested_by)
            role = self.access.target_role(rule.arn, target.arn) if self.access else None
            if role is not None:
                self._authorize(
                    Principal(role_arn=role, session=_EVENTS_SESSION),
                    rule,
                    "sagemaker:StartPipelineExecution",
                    target.arn,
                )
            result = self.start_pipeline(start)
            return Delivery(rule, target, "pipeline", payload, result, start)
        service = _service(target.arn)
        if service == "lambda":
            return self._invoke(rule, target, payload, requested_by)
        if service == "sns":
            return self._publish(rule, target, payload)
        if service == "events" and ":event-bus/" in target.arn:
            return self._put_on_bus(rule, target, event)
        note = f"{target.arn}: no local delivery for this target type (recorded only)"
        return Delivery(rule, target, "not-delivered", payload, note=note)

    def _pipeline_for(self, arn: str) -> str | None:
        return next((n for n in self.settings.pipeline_names if self.settings.pipeline_arn(n) == arn), None)

    def _invoke(self, rule: Rule, target: RuleTarget, payload: Any, requested_by: str) -> Delivery:
        try:
            function = self.lambdas.function(target.arn)
        except UnknownFunctionError as err:
            raise TemplateError(f"{rule.source}: target {target.id}: {err}") from err
        self._authorize(Principal(service=EVENTS), rule, "lambda:InvokeFunction", function.arn)
        try:
            result = self._invoke_async(function, payload.text if isinstance(payload, RawText) else payload)
        except RetriesExhaustedError as failed:
            return Delivery(
                rule,
                target,
                "lambda",
                payload,
                note=function.purpose,
                error=str(failed.error),
                attempts=failed.attempts,
                failure_destination=failed.destination,
            )
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

    def _invoke_async(self, function: Function, event: Any) -> Any:
        """Lambda's asynchronous invocation: retried on error; once the retries are exhausted the
        invocation record goes to the on-failure destination and :class:`RetriesExhaustedError` is raised."""
        config = self.invoke_configs.get(function.arn, AsyncInvokeConfig())
        attempts = 1 + config.retries
        failures: list[FunctionError] = []
        while len(failures) < attempts:
            try:
                return function.invoke(event, self._client_for(function))
            except FunctionError as err:
                failures.append(err)
        if config.on_failure:
            if self.access is not None:  # Lambda sends the record as the function's role
                role = Principal(role_arn=self.access.function_role(function.arn), session=function.name)
                if role.role_arn is not None:
                    params = {"TopicArn": config.on_failure, "QueueName": config.on_failure}
                    self.access.authorize(
                        role, _SEND_ACTIONS[_service(config.on_failure)], params, on_behalf="lambda"
                    )
            self._send(
                config.on_failure, json.dumps(_invocation_record(function, event, failures[-1], attempts))
            )
        raise RetriesExhaustedError(failures[-1], attempts, config.on_failure or "")

    def _client_for(self, function: Function) -> ClientFactory:
        """The client factory a function runs with: its role's when IAM is enforced."""
        if self.access is None or not self.access.enforcing:
            return self.client
        return self.access.function_clients(function.arn, function.name)

    def _authorize(self, principal: Principal, rule: Rule, action: str, resource_arn: str) -> None:
        """EventBridge's call to a target, with the rule as the source (``aws:SourceArn``)."""
        if self.access is None:
            return
        params = {
            "TopicArn": resource_arn,
            "FunctionName": resource_arn,
            "PipelineName": resource_arn,
            "QueueName": resource_arn,
        }
        context = {"aws:SourceArn": rule.arn, "aws:SourceAccount": self.settings.account}
        self.access.authorize(principal, action, params, context=context, on_behalf="events")

    def _put_on_bus(self, rule: Rule, target: RuleTarget, event: dict[str, Any]) -> Delivery:
        """Put ``event`` on the target bus as the target's role and route it there: the event as
        is (not the target input: EventBridge sends the event itself to a bus target). Only the
        rule's own account's events are sent on; only default buses are routed locally."""
        sender = rule.account or self.settings.account
        _, _, _, _, receiver, resource = target.arn.split(":", 5)
        if resource != "event-bus/default":
            raise TemplateError(
                f"{rule.source} target {target.id}: only a default event bus is routed locally"
            )
        if str(event.get("account") or sender) != sender:
            note = f"not sent on to {receiver}: an event from another account is not forwarded to a third"
            return Delivery(rule, target, "not-delivered", event, note=note)
        role = target.spec.get("RoleArn")
        if role is None and receiver != sender:
            raise TemplateError(
                f"{rule.source} target {target.id}: a rule whose target is an event bus in another "
                "account needs a RoleArn (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html)"
            )
        if self.access is not None:
            # The bus policy's documented condition keys (eb-event-bus-perms.html): the event's
            # source and detail type, as PutEvents carries them.
            context = {
                "events:source": str(event.get("source", "")),
                "events:detail-type": str(event.get("detail-type", "")),
            }
            self.access.authorize(
                Principal(role_arn=role, session=_EVENTS_SESSION) if role else Principal(service=EVENTS),
                "events:PutEvents",
                resources=[target.arn],
                context={**context, "aws:SourceArn": rule.arn, "aws:SourceAccount": sender},
                on_behalf="events",
            )
        routed = self.route(event, bus_account=receiver)
        return Delivery(rule, target, "bus", event, routed, note=f"event bus of {receiver}")

    def _publish(self, rule: Rule, target: RuleTarget, payload: Any) -> Delivery:
        self._authorize(Principal(service=EVENTS), rule, "sns:Publish", target.arn)
        # The target input as EventBridge sends it: JSON text (a JSON string keeps its quotes), or raw text.
        message = payload.text if isinstance(payload, RawText) else json.dumps(payload)
        return Delivery(rule, target, "sns", payload, {"MessageId": self._send(target.arn, message)})


def scheduled_event(rule: Rule, settings: Settings, at: datetime) -> dict[str, Any]:
    """The event EventBridge sends when a scheduled rule fires: no detail, the rule as resource."""
    return envelope(
        source="aws.events",
        detail_type="Scheduled Event",
        account=settings.account,
        region=settings.region,
        resources=[rule.arn],
        detail={},
        at=at,
    )


def _invocation_record(function: Function, event: Any, error: FunctionError, attempts: int) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination (invocation-async-retain-records.html)."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error.aws_error or error).__name__},
    }


def _parameter_value(value: str, event: dict[str, Any], where: str) -> str:
    """A static value, or a JSON path (``$.detail.x``) read from the event, as its text."""
    if not value.startswith("$."):
        return value
    found = _json_path(event, value, where)
    if found is ABSENT:
        raise LookupError(f"{where}: pipeline parameter path {value} is not in the event")
    return found if isinstance(found, str) else json.dumps(found)


def _service(arn: str) -> str:
    """The service an ARN belongs to: ``arn:<partition>:<service>:...``."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""
