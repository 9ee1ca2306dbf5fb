"""The envelope every event on an EventBridge bus has, whoever emits it.

CloudWatch's alarm transitions, SageMaker's state changes and EventBridge's own scheduled events
share it (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html): a
version, a fresh id, the detail type and source, the account and region, the time to the second in
UTC, the resources the event is about, and the service's ``detail``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def envelope(
    *,
    source: str,
    detail_type: str,
    account: str,
    region: str,
    resources: list[str],
    detail: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
