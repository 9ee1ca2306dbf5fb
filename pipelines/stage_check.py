"""The staging test a model version must pass before prod may be approved: one definition for the
local cloud's demo and for a check against a real stage endpoint.

Four checks, each with what it saw:

* **smoke**: the endpoint is healthy (locally ``GET /ping``; in AWS, ``DescribeEndpoint`` says
  ``InService``);
* **sample**: a sample of real rows, sent as one CSV request, is answered with one number per row;
* **load**: a short burst of single-row requests is answered without an error, its p95 latency
  under :data:`MAX_P95_MS`;
* **capture**: the endpoint wrote data capture for that traffic (the path prod's drift monitoring
  reads).

It takes its I/O as callables (no AWS client is made here), so a caller passes the local endpoint's
or boto3's ``sagemaker-runtime`` and S3.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SAMPLE_ROWS = 20
LOAD_REQUESTS = 50
MAX_P95_MS = 500.0  # generous: the check is for a broken model server, not a benchmark


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class StageCheck:
    """The four checks' results for one stage endpoint."""

    endpoint_name: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[str]:
        return [f"{r.name}: {r.detail}" for r in self.results if not r.passed]

    def lines(self) -> list[str]:
        return [f"{'ok  ' if r.passed else 'FAIL'} {r.name}: {r.detail}" for r in self.results]


def check_stage(
    endpoint_name: str,
    *,
    healthy: Callable[[], bool],
    invoke: Callable[[str], str],
    captured: Callable[[], int],
    rows: Sequence[str],
    load_requests: int = LOAD_REQUESTS,
    clock: Callable[[], float] = time.perf_counter,
) -> StageCheck:
    """Run the four checks in order; a failed smoke check skips the rest (nothing would answer).

    ``invoke`` sends one CSV body and returns the answer's text; ``captured`` counts the capture
    records written for this endpoint so far (called before and after the traffic); ``rows`` are
    feature rows without the target, at least one."""
    if not rows:
        raise ValueError("the staging check needs at least one sample row")
    if not healthy():
        return StageCheck(endpoint_name, (CheckResult("smoke", False, "the endpoint is not healthy"),))
    results = [CheckResult("smoke", True, "healthy")]
    before = captured()
    results.append(_sample(invoke, rows[:SAMPLE_ROWS]))
    results.append(_load(invoke, rows, load_requests, clock))
    written = captured() - before
    results.append(
        CheckResult("capture", written > 0, f"{written} capture records written for the check's traffic")
    )
    return StageCheck(endpoint_name, tuple(results))


def _sample(invoke: Callable[[str], str], rows: Sequence[str]) -> CheckResult:
    try:
        answer = invoke("\n".join(rows))
    except Exception as err:  # any failure of the call is the check's finding, not a crash
        return CheckResult("sample", False, f"request failed: {' '.join(str(err).split())}")
    values = answer.strip().splitlines()
    shaped = len(values) == len(rows) and all(_is_number(v) for v in values)
    detail = f"{len(rows)} rows answered with {len(values)} values"
    return CheckResult("sample", shaped, detail if shaped else f"{detail}, expected one number per row")


def _load(
    invoke: Callable[[str], str], rows: Sequence[str], requests: int, clock: Callable[[], float]
) -> CheckResult:
    latencies: list[float] = []
    errors = 0
    for i in range(requests):
        start = clock()
        try:
            invoke(rows[i % len(rows)])
        except Exception:  # counted: the check reports how many failed
            errors += 1
        latencies.append((clock() - start) * 1000)
    p95 = sorted(latencies)[max(0, math.ceil(0.95 * len(latencies)) - 1)]
    passed = errors == 0 and p95 <= MAX_P95_MS
    return CheckResult(
        "load", passed, f"{requests} requests, {errors} errors, p95 {p95:.1f} ms (max {MAX_P95_MS:g})"
    )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
