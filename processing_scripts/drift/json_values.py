"""Values as Model Monitor's JSON files hold them: numbers that may be null, Enabled/Disabled switches.

Shared by the statistics/constraints reader (:mod:`.formats`) and the monitoring config
(:mod:`.config`); a value that cannot be read is a :class:`DriftInputError` naming where it was.
"""

from __future__ import annotations

import math
from typing import Any

from processing_scripts.drift.errors import DriftInputError


def number(value: Any, where: str = "value") -> float:
    """A JSON number as a float; null is NaN (a statistic Model Monitor could not compute)."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise DriftInputError(f"{where} must be a number, got {value!r}") from err


def enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def parse_enabled(value: Any, where: str) -> bool:
    """Enabled/Disabled as documented; booleans and true/false as older files have them."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("enabled", "true", "1", "yes"):
        return True
    if text in ("disabled", "false", "0", "no"):
        return False
    raise DriftInputError(f"{where} must be Enabled or Disabled, got {value!r}")
