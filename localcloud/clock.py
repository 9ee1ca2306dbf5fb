"""The local cloud's "now": injectable, so a story can run the same services on simulated time.

The executor (execution variables, record times, cache expiry), the local endpoint (capture and
metric timestamps) and :class:`localcloud.LocalCloud` take a :data:`Clock`; the default is the
wall clock in UTC, as AWS stamps everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]  # timezone-aware UTC "now"


def utc_now() -> datetime:
    return datetime.now(UTC)
