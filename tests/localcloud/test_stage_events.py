"""A stage endpoint's alarms and state changes reach the build account's topic across accounts.

Against the policies the CDK app writes for the three-account topology: the stage's alarm is
evaluated over the stage account's metrics, its state change event (AWS's shape, ``account`` = the
stage's) is matched by the stage's rule only, forwarded as the stage's events role to the build
account's bus (both the role's policy and the bus policy checked), and published by the build rule.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localcloud.account import LocalAws
from localcloud.awslambda import LambdaRegistry
from localcloud.cloud import synthesize
from localcloud.cloudformation import TemplateError, TemplateSet
from localcloud.cloudwatch import AlarmEvaluator, AlarmState, load_alarms
from localcloud.eventbridge import Delivery, EventRouter, Rule, RuleTarget, load_rules
from localcloud.iam import AccessControl, AccessDeniedError, PolicyStore, Principal
from localcloud.sagemaker.events import endpoint_state_change
from localcloud.stories.stage_events import hops
from pipelines import settings as settings_module
from pipelines.settings import Stage

BUILD, STAGING_ACCOUNT, PROD_ACCOUNT = "123456789012", "111111111111", "222222222222"
STAGING, PROD = Stage("staging", STAGING_ACCOUNT, "us-east-1"), Stage("prod", PROD_ACCOUNT, "us-east-1")
SETTINGS = dataclasses.replace(settings_module.load("dev", account=BUILD), stages=(STAGING, PROD))
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(SETTINGS, tmp_path_factory.mktemp("stages"), cdk_validation=False).cdk_out


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(SETTINGS) as started:
        yield started


def _router(aws: LocalAws, cdk_out: Path) -> EventRouter:
    templates = TemplateSet.load(SETTINGS, cdk_out)
    return EventRouter(
        rules=load_rules(templates),
        settings=SETTINGS,
        client=aws.clients.client,
        start_pipeline=lambda start: None,
        lambdas=LambdaRegistry.for_project(SETTINGS),
        access=AccessControl(aws, PolicyStore.from_templates(templates)),
        client_in=lambda account, region: aws.administrator(account, region).client,
    )


def _failing_prod_traffic(aws: LocalAws) -> None:
    """Half of the prod endpoint's invocations fail, in the prod account's CloudWatch only."""
    endpoint = [
        {"Name": "EndpointName", "Value": SETTINGS.stage_endpoint_name(PROD)},
        {"Name": "VariantName", "Value": SETTINGS.serving.variant_name},
    ]
    aws.administrator(PROD_ACCOUNT).cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": endpoint,
                "Timestamp": NOW - timedelta(minutes=m),
                "Value": value,
            }
            for m in (3, 8, 13)
            for name, value in (
                ("Invocations", 100.0),
                ("Invocation5XXErrors", 50.0),
                ("InvocationModelErrors", 0.0),
            )
        ],
    )


def _prod_alarm_event(aws: LocalAws, cdk_out: Path) -> dict:
    alarms = load_alarms(TemplateSet.load(SETTINGS, cdk_out))
    evaluator = AlarmEvaluator(
        alarms,
        aws.clients.cloudwatch,
        BUILD,
        SETTINGS.region,
        created_at=NOW - timedelta(hours=1),
        cloudwatch_in=lambda account, region: aws.administrator(account, region).cloudwatch,
    )
    _failing_prod_traffic(aws)
    name = SETTINGS.stage_endpoint_alarm_names(PROD)["error-rate"]
    (evaluation,) = evaluator.evaluate(NOW, [name])
    assert evaluation.state is AlarmState.ALARM, evaluation.reason
    assert evaluation.event is not None
    return evaluation.event


def _published(deliveries: list[Delivery]) -> list[str]:
    """The messages the build rule published, wherever they are in the forwarded deliveries."""
    found = []
    for delivery in deliveries:
        if delivery.kind == "sns":
            found.append(json.dumps(delivery.payload))
        if delivery.kind == "bus":
            found.extend(_published(delivery.result))
    return found


@pytest.mark.slow  # the three-account synthesis (~20 s, once per module)
def test_a_prod_alarm_reaches_the_build_topic_through_both_buses_with_the_prod_account(
    aws: LocalAws, cdk_out: Path
) -> None:
    event = _prod_alarm_event(aws, cdk_out)
    assert (event["account"], event["detail"]["alarmName"]) == (
        PROD_ACCOUNT,
        "abalone-mlops-dev-prod-endpoint-error-rate",
    )
    router = _router(aws, cdk_out)
    deliveries = router.route(event)
    assert list(hops(deliveries)) == [
        f"rule abalone-mlops-dev-prod-forward-endpoint-events ({PROD_ACCOUNT}) -> event bus of {BUILD}",
        f"rule abalone-mlops-dev-stage-endpoint-events ({BUILD}) -> published to abalone-mlops-dev-notifications",
    ]
    (message,) = _published(deliveries)
    assert f"CloudWatch Alarm State Change in stage account {PROD_ACCOUNT}" in message and "ALARM" in message
    assert router.access is not None
    assert [c for c in router.access.log.calls if not c.allowed] == []
    assert {(c.principal, c.action) for c in router.access.log.calls} >= {
        (SETTINGS.stage_role_arn(PROD, "events"), "events:PutEvents"),
        ("events.amazonaws.com", "sns:Publish"),
    }


@pytest.mark.slow  # the three-account synthesis (~20 s, once per module)
@pytest.mark.parametrize(("status", "notified"), [("Failed", True), ("InService", True), ("Creating", False)])
def test_a_stage_endpoint_state_change_is_forwarded_only_for_the_states_worth_notifying(
    aws: LocalAws, cdk_out: Path, status: str, notified: bool
) -> None:
    name = SETTINGS.stage_endpoint_name(STAGING)
    endpoint = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:{STAGING_ACCOUNT}:endpoint/{name}",
        "EndpointConfigName": f"{name}-v1",
        "EndpointStatus": status,
        "ProductionVariants": [],
    }
    deliveries = _router(aws, cdk_out).route(endpoint_state_change(endpoint, {}, NOW))
    assert len(_published(deliveries)) == (1 if notified else 0)


@pytest.mark.slow  # the three-account synthesis (~20 s, once per module)
def test_an_event_on_the_build_bus_is_not_matched_by_a_stage_rule(aws: LocalAws, cdk_out: Path) -> None:
    """A rule belongs to its account's bus: the build account's own copy of a prod event is not forwarded."""
    event = {**_prod_alarm_event(aws, cdk_out), "account": BUILD}
    assert _router(aws, cdk_out).route(event) == []


def _without_bus_statement(cdk_out: Path, to: Path, sid: str) -> Path:
    shutil.copytree(cdk_out, to)
    path = to / "Monitoring.template.json"
    template = json.loads(path.read_text())
    resources = template["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Properties"].get("StatementId") == sid]
    del resources[logical_id]
    path.write_text(json.dumps(template))
    return to


@pytest.mark.slow  # the three-account synthesis (~20 s, once per module)
def test_without_the_prod_bus_statement_the_forward_is_denied_naming_the_account(
    aws: LocalAws, cdk_out: Path, tmp_path: Path
) -> None:
    router = _router(
        aws, _without_bus_statement(cdk_out, tmp_path / "cdk.out", "ProdAccountSendsEndpointEvents")
    )
    (refused,) = router.route(_prod_alarm_event(aws, cdk_out))
    assert refused.kind == "failed"
    assert refused.error.startswith(
        f"AccessDeniedError: AccessDenied: User: arn:aws:sts::{PROD_ACCOUNT}:assumed-role/"
        f"abalone-mlops-dev-prod-events-us-east-1/events is not authorized to perform: events:PutEvents "
        f"on resource: {SETTINGS.event_bus_arn} because no resource-based policy allows the events:PutEvents "
        f"action to account {PROD_ACCOUNT}"
    )
    assert router.access is not None
    assert [(c.action, c.resource) for c in router.access.log.denied] == [
        ("events:PutEvents", SETTINGS.event_bus_arn)
    ]


@pytest.mark.slow  # the three-account synthesis (~20 s, once per module)
def test_an_account_the_bus_policy_does_not_name_is_refused(cdk_out: Path) -> None:
    store = PolicyStore.from_templates(TemplateSet.load(SETTINGS, cdk_out))
    access = AccessControl(LocalAws(SETTINGS), store)
    stranger = Principal(role_arn="arn:aws:iam::333333333333:role/forwarder", session="events")
    context = {"events:source": "aws.cloudwatch", "events:detail-type": "CloudWatch Alarm State Change"}
    with pytest.raises(AccessDeniedError, match="to account 333333333333"):
        access.authorize(stranger, "events:PutEvents", resources=[SETTINGS.event_bus_arn], context=context)
    # A named stage account, but an event the policy does not let it send (another source).
    prod = Principal(role_arn=SETTINGS.stage_role_arn(PROD, "events"), session="events")
    with pytest.raises(AccessDeniedError, match=f"to account {PROD_ACCOUNT}"):
        access.authorize(
            prod,
            "events:PutEvents",
            resources=[SETTINGS.event_bus_arn],
            context={**context, "events:source": "my.app"},
        )


def _forwarding_rule(role: str | None) -> Rule:
    bus = SETTINGS.event_bus_arn
    spec = {"Id": "Bus", "Arn": bus, **({"RoleArn": role} if role else {})}
    return Rule(
        "forward", f"arn:aws:events:us-east-1:{PROD_ACCOUNT}:rule/forward", "fixture: Forward",
        {"source": ["test"]}, None, True, (RuleTarget("Bus", bus, spec),), account=PROD_ACCOUNT,
    )  # fmt: skip


def _bare_router(aws: LocalAws, rule: Rule) -> EventRouter:
    return EventRouter(
        rules=[rule],
        settings=SETTINGS,
        client=aws.clients.client,
        start_pipeline=lambda start: None,
        lambdas=LambdaRegistry.for_project(SETTINGS),
    )


def test_a_rule_forwarding_to_another_accounts_bus_without_a_role_is_a_template_error(aws: LocalAws) -> None:
    """AWS requires a role for a bus target in another account: the rule is wrong, not the event."""
    rule = _forwarding_rule(None)
    with pytest.raises(TemplateError, match=r"fixture: Forward target Bus: .* needs a RoleArn"):
        _bare_router(aws, rule).route({"source": "test", "account": PROD_ACCOUNT})


def test_an_event_received_from_another_account_is_not_sent_on_to_a_third(aws: LocalAws) -> None:
    rule = _forwarding_rule(SETTINGS.stage_role_arn(PROD, "events"))
    (delivery,) = _bare_router(aws, rule).route(
        {"source": "test", "account": STAGING_ACCOUNT}, bus_account=PROD_ACCOUNT
    )
    assert delivery.kind == "not-delivered" and "not forwarded to a third" in delivery.note
