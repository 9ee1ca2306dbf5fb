"""The robustness contract every entry point is held to, and the campaign's tally of how it held.

Contract (issue 11): bad input ends either in success with every row used or counted with its
reason, or in a clear refusal (exit non-zero with a one-line message naming the file, row or field,
and no output at all). Never a signal, never a traceback, never a silent drop, never a hang.

Each property test classifies every generated input with :func:`outcome` and records it with
:func:`record`. ``make fuzz`` sets ``FUZZ_REPORT`` to a JSON Lines file and ``FUZZ_PROFILE=fuzz``
(many more examples); ``python -m tests.robustness.campaign <file>`` prints the table the report
quotes. Under ``make test`` the same tests run a few examples each (profile ``robustness``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

# Seconds one input may take before it counts as a hang (the slowest entry point answers in ~1 s).
HANG_SECONDS = 20.0
OUTCOMES = ("ok", "refused", "traceback", "signal", "silent_drop", "hang", "unclear_message")
FAILURES = ("traceback", "signal", "silent_drop", "hang", "unclear_message")

settings.register_profile(
    "robustness",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # `make test` replays one fixed sequence, so it never fails by the luck of the draw; `make fuzz`
    # (the "fuzz" profile) is where new random inputs are explored.
    derandomize=True,
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The profile every campaign test uses (``@CAMPAIGN``): bounded in ``make test``, long in ``make fuzz``.
CAMPAIGN = settings.get_profile(os.environ.get("FUZZ_PROFILE", "robustness"))

_lock = threading.Lock()


def one_line(message: str) -> bool:
    """A refusal a person can act on: one non-empty line, no Python traceback in it."""
    text = message.strip()
    return bool(text) and "\n" not in text and "Traceback" not in text


def record(entry_point: str, outcome: str, detail: str = "") -> None:
    """Add one tried input to the campaign's tally (a no-op unless ``FUZZ_REPORT`` is set)."""
    assert outcome in OUTCOMES, outcome
    path = os.environ.get("FUZZ_REPORT")
    if not path:
        return
    line = json.dumps({"entry_point": entry_point, "outcome": outcome, "detail": detail[:300]})
    with _lock, open(path, "a", encoding="utf-8") as stream:
        stream.write(line + "\n")


@contextmanager
def timed(entry_point: str) -> Iterator[None]:
    """Count an input that takes longer than :data:`HANG_SECONDS` as a hang (and fail the test)."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    if elapsed > HANG_SECONDS:
        record(entry_point, "hang", f"{elapsed:.1f}s")
        raise AssertionError(f"{entry_point}: one input took {elapsed:.1f}s")


def judge(entry_point: str, outcome: str, detail: str = "") -> None:
    """Record the outcome, then fail the test if it breaks the contract."""
    record(entry_point, outcome, detail)
    assert outcome not in FAILURES, f"{entry_point}: {outcome}: {detail}"


def summarize(path: Path) -> str:
    """The campaign's table: inputs tried per entry point and how each ended."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        counts[item["entry_point"]][item["outcome"]] += 1
    header = ["entry point", "inputs", *OUTCOMES]
    rows = [
        [name, str(sum(c.values())), *(str(c[o]) for o in OUTCOMES)] for name, c in sorted(counts.items())
    ]
    total = Counter[str]()
    for c in counts.values():
        total.update(c)
    rows.append(["total", str(sum(total.values())), *(str(total[o]) for o in OUTCOMES)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        " | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in [header, *rows]
    )


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1])))
