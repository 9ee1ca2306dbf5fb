"""``CacheConfig.ExpireAfter``: the ISO 8601 durations SageMaker accepts, as a ``timedelta``."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"P?(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?",
    re.IGNORECASE,
)


def parse_expire_after(text: object) -> timedelta | None:
    """``P30D``, ``PT1H`` or SageMaker's short ``30d``/``T16m``/``30dT5h``; None (absent): never expires.

    Forms: https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching-enabling.html.
    A year counts 365 days and a month 30, as nothing finer is documented.
    """
    if text is None:
        return None
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"ExpireAfter {text!r} is not an ISO 8601 duration such as P30D or PT1H")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    days = parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"]
    try:
        return timedelta(days=days, hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"])
    except OverflowError:  # beyond timedelta's 999,999,999 days: no cache entry lives that long anyway
        raise ValueError(f"ExpireAfter {text!r} is longer than any duration this can hold") from None
