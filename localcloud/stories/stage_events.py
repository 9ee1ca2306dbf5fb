"""What a stage endpoint says about itself, seen from the build account: the hop across the bus.

SageMaker emits a "SageMaker Endpoint State Change" in the account that hosts the endpoint. After a
stage deploy, the story builds that event from the stage's control plane (as the stage account's
SageMaker would send it) and puts it on the stage account's bus; the synthesized rules take it from
there (:mod:`localcloud.eventbridge`): the stage's forwarding rule, as its role, puts it on the build
account's bus (checked against the role's policy and the build bus's policy), where the build
account's rule publishes it to the notification topic. A stage alarm's transition takes the same
path (``tests/localcloud/test_stage_events.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from localcloud.account import LocalAws
from localcloud.eventbridge import Delivery, EventRouter
from localcloud.sagemaker.events import endpoint_state_change
from pipelines.settings import Settings, Stage

Note = Callable[[str, str], None]  # (what happened, why): a story's timeline


def endpoint_state_event(settings: Settings, aws: LocalAws, stage: Stage) -> dict[str, Any]:
    """The stage endpoint's state change event, from the stage account's control plane."""
    sagemaker = aws.administrator(stage.account, stage.region).sagemaker
    endpoint = sagemaker.describe_endpoint(EndpointName=settings.stage_endpoint_name(stage))
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
    at = endpoint.get("LastModifiedTime")
    return endpoint_state_change(
        endpoint,
        {t["Key"]: t["Value"] for t in tags},
        at if isinstance(at, datetime) else datetime.now(UTC),
    )


def hops(deliveries: list[Delivery]) -> Iterator[str]:
    """Each rule an event went through, in order, with its account and what its target answered."""
    for delivery in deliveries:
        rule = delivery.rule
        outcome = delivery.error or delivery.note or delivery.kind
        if delivery.kind == "sns":
            outcome = f"published to {delivery.target.arn.rsplit(':', 1)[-1]}"
        yield f"rule {rule.name} ({rule.account}) -> {outcome}"
        if delivery.kind == "bus" and isinstance(delivery.result, list):
            yield from hops(delivery.result)


def forward_endpoint_state(
    settings: Settings, aws: LocalAws, router: EventRouter, stage: Stage, *, note: Note
) -> list[Delivery]:
    """Route the stage endpoint's current state change as EventBridge would and note the hops; the
    deliveries (a refused forward is a ``failed`` one, its AccessDenied in ``error``)."""
    event = endpoint_state_event(settings, aws, stage)
    deliveries = router.route(event)
    status = event["detail"]["EndpointStatus"]
    path = list(hops(deliveries)) or ["no rule matched"]
    note(
        f"{stage.name} ({stage.account}): endpoint state {status} -> " + "; ".join(path),
        "SageMaker emits it in the stage account; the stage's rule forwards it to the build account's bus",
    )
    return deliveries
