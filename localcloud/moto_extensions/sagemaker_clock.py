"""moto's SageMaker stamps what it creates (a pipeline execution's ``StartTime``, ...) with the wall
clock. A story on simulated time needs those stamps on its clock too: the retrain guard compares the
newest execution's ``StartTime`` with the triggering event's time to apply its cooldown, and in
``simulate`` that event is hours of simulated time after the previous one, seconds of wall time.

moto 5.2.5 reads the time through ``moto.sagemaker.models.utcnow`` (naive UTC); this swaps it for
the story's clock for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from moto.sagemaker import models


@contextlib.contextmanager
def stamped_by(clock: Callable[[], datetime]) -> Iterator[None]:
    """moto's SageMaker times come from ``clock`` (a ``localcloud.clock.Clock``) inside the block
    (process-wide, as moto is)."""
    original = models.utcnow
    models.utcnow = lambda: clock().astimezone(UTC).replace(tzinfo=None)
    try:
        yield
    finally:
        models.utcnow = original
