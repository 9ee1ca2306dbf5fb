"""The calls a local run made, as IAM saw them: who, what, on which resource, allowed or not, by
which grant. Kept as counts per distinct call (a run makes thousands of S3 calls, a few dozen kinds)
and written to ``<runs dir>/iam-calls.json``, which ``python -m pipelines iam-report`` reads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CALLS_FILE = "iam-calls.json"


@dataclass(frozen=True)
class Call:
    principal: str  # role ARN, or the AWS service principal
    action: str
    resource: str
    allowed: bool
    reason: str = ""  # AWS's "because ..." when denied
    grants: tuple[str, ...] = ()  # labels of the statements that allowed it
    on_behalf: str = (
        ""  # who made the call for the principal: "sagemaker" (staging a job), "" (the principal)
    )


def with_denials(reason: str, denied: list[Call]) -> str:
    """A failure reason that names the IAM denials behind it, and why each was denied, when the
    error itself could not (S3 answers a denied HEAD with a bare 403, a job may print only its own
    message)."""
    missing = [c for c in denied if c.action not in reason or c.resource not in reason]
    if not missing:
        return reason
    grants = "; ".join(
        f"{c.principal} may not {c.action} on {c.resource}" + (f" because {c.reason}" if c.reason else "")
        for c in missing
    )
    return f"{reason} (IAM denied: {grants})"


class CallLog:
    """Thread-safe counts of distinct calls; the moto server answers requests on many threads."""

    def __init__(self) -> None:
        self._counts: dict[Call, int] = {}
        self._denials: list[Call] = []  # in order, repeats included: what failed during a step
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self._counts[call] = self._counts.get(call, 0) + 1
            if not call.allowed:
                self._denials.append(call)

    def mark(self) -> int:
        """A position to ask :meth:`denied_since` about later."""
        with self._lock:
            return len(self._denials)

    def denied_since(self, mark: int) -> list[Call]:
        """The calls denied since ``mark``, first denial first, each once."""
        with self._lock:
            return list(dict.fromkeys(self._denials[mark:]))

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._counts)

    @property
    def denied(self) -> list[Call]:
        return [call for call in self.calls if not call.allowed]

    def write(self, path: Path) -> Path:
        """Write the calls to ``path`` (replacing the previous session's: a report is about the last run)."""
        with self._lock:
            counted = sorted(
                self._counts.items(), key=lambda item: (item[0].principal, item[0].action, item[0].resource)
            )
        rows = [{**asdict(call), "count": count} for call, count in counted]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"calls": rows}, indent=1) + "\n")
        return path


def read_counts(path: Path) -> Iterable[tuple[Call, int]]:
    """The calls in a file written by :meth:`CallLog.write` (nothing when there is no file yet)."""
    if not path.is_file():
        return []
    try:
        rows: list[dict[str, Any]] = json.loads(path.read_text())["calls"]
        return [
            (
                Call(
                    principal=row["principal"],
                    action=row["action"],
                    resource=row["resource"],
                    allowed=bool(row["allowed"]),
                    reason=row.get("reason", ""),
                    grants=tuple(row.get("grants", ())),
                    on_behalf=row.get("on_behalf", ""),
                ),
                int(row.get("count", 1)),
            )
            for row in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a calls file written by a local run ({err})") from err
