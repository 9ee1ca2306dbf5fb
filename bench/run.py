"""Side-by-side benchmark of the drift engine against Evidently, whylogs and nannyml.

Every tool runs in its own subprocess under ``/usr/bin/time -v`` (wall time and peak RSS of the
whole process: interpreter start, imports, reading the CSV files, the drift computation, writing
results). Each driver in ``bench/tools`` prints the features it flagged; the table says whether that
is exactly the set the generator drifted. Results go to stdout and ``docs/benchmark.md``.

Sizes and limits are environment variables so a slow machine can run a subset:
``BENCH_SIZES`` (rows, default "100000 1000000 5000000"), ``BENCH_PEER_MAX_ROWS`` (largest size the
peers run at, default: all), ``BENCH_TIMEOUT`` (seconds per tool run, default 1800).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
from generate import DRIFTED  # noqa: E402

DATA = REPO / "build" / "bench"
# A run writes build/bench/benchmark.md; the tracked docs/benchmark.md changes only when asked
# (BENCH_REPORT=docs/benchmark.md make bench), so measuring never leaves a diff to commit or revert.
DOC = REPO / (os.environ.get("BENCH_REPORT") or "build/bench/benchmark.md")


@dataclass(frozen=True)
class Tool:
    name: str
    script: str
    args: tuple[str, ...] = ()
    package: str | None = None  # distribution whose version is reported (None: this project)
    peer: bool = True
    gives_verdict: bool = True


TOOLS = (
    Tool("engine baseline", "engine_baseline.py", peer=False, gives_verdict=False),
    Tool("engine check", "engine_check.py", peer=False),
    Tool("engine check + report.html", "engine_check.py", ("--report",), peer=False),
    Tool("Evidently DataDriftPreset", "evidently_check.py", package="evidently"),
    Tool("whylogs", "whylogs_check.py", package="whylogs"),
    Tool("nannyml", "nannyml_check.py", package="nannyml"),
    Tool("floor: pyarrow read_csv", "pyarrow_read.py", package="pyarrow", gives_verdict=False),
)


@dataclass
class Run:
    tool: Tool
    rows: int
    seconds: float | None = None
    peak_mb: float | None = None
    drifted: list[str] | None = None
    error: str = ""

    @property
    def verdict(self) -> str:
        if self.error:
            return self.error
        if not self.tool.gives_verdict:
            return "-"
        found = set(self.drifted or [])
        if found == DRIFTED:
            return "exact"
        missed, extra = sorted(DRIFTED - found), sorted(found - DRIFTED)
        return "; ".join(
            p
            for p in (
                f"missed {', '.join(missed)}" if missed else "",
                f"false alarm on {', '.join(extra)}" if extra else "",
            )
            if p
        )


def measure(tool: Tool, rows: int, work: Path, timeout: float) -> Run:
    run = Run(tool, rows)
    if tool.package and not _installed(tool.package):
        run.error = f"{tool.package} not installed"
        return run
    command = [
        "/usr/bin/time", "-v", sys.executable, str(BENCH / "tools" / tool.script), *tool.args,
        "--reference", str(DATA / f"reference_{rows}.csv"),
        "--current", str(DATA / f"drifted_{rows}.csv"),
        "--work", str(work),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(BENCH / "tools")])}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        run.error = f"timeout after {timeout:.0f} s"
        return run
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if wall:
        hours, minutes, seconds = wall.groups()
        run.seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    if rss:
        run.peak_mb = int(rss.group(1)) / 1024
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("\t")]
        run.error = f"failed: {last[-1][:80] if last else done.returncode}"
        return run
    run.drifted = json.loads(done.stdout.strip().splitlines()[-1])["drifted"]
    return run


def _installed(package: str) -> bool:
    try:
        importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _version(tool: Tool) -> str:
    return importlib.metadata.version(tool.package) if tool.package else "this repo"


def table(runs: list[Run]) -> str:
    lines = [
        "| rows | tool | version | wall s | x engine check | peak MB | x engine check | flagged features |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for rows in sorted({r.rows for r in runs}):
        here = [r for r in runs if r.rows == rows]
        ours = next((r for r in here if r.tool.name == "engine check" and r.seconds), None)
        for run in here:
            ratio_t = f"{run.seconds / ours.seconds:.1f}" if run.seconds and ours else ""
            ratio_m = f"{run.peak_mb / ours.peak_mb:.1f}" if run.peak_mb and ours and ours.peak_mb else ""
            seconds = f"{run.seconds:.1f}" if run.seconds is not None else ""
            peak = f"{run.peak_mb:.0f}" if run.peak_mb is not None else ""
            lines.append(
                f"| {rows:,} | {run.tool.name} | {_version(run.tool)} | {seconds} | {ratio_t} | {peak} | {ratio_m} | {run.verdict} |"
            )
    return "\n".join(lines)


def write_doc(runs: list[Run], sizes: list[int], peer_max: int) -> None:
    cpu = os.cpu_count()
    text = f"""# Drift engine benchmark

Generated by `BENCH_REPORT=docs/benchmark.md make bench` (`bench/run.py`; plain `make bench` writes build/bench/benchmark.md). Machine: {cpu} CPU cores
({platform.machine()}, {platform.system()}), Python {platform.python_version()}, shared with other work
while measuring, so absolute times vary run to run; the ratios within one size come from one run.

**Task.** Abalone-like data (bootstrap resamples of `data/abalone.csv` with jitter), a reference file
and a drifted copy of the same size, 8 features. The drifted copy shifts `length` (+0.5 std), scales
`shell weight` (x1.3), changes the `sex` mix, and nulls 5% of `height` (a completeness issue, not a
distribution change). A correct check flags exactly `{", ".join(sorted(DRIFTED))}`.

**Method.** Each tool runs in its own process under `/usr/bin/time -v`: wall time and peak RSS of the
whole process (start-up, imports, reading both CSV files, computing drift, writing results). The engine's
baseline step profiles the reference file once; its check step reads the drifted file against that
baseline (JSON outputs; the row "+ report.html" also renders the HTML report with matplotlib). Peers
get both files as pandas DataFrames, as their documentation shows. Evidently: `DataDriftPreset`
defaults. whylogs: profiles + `calculate_drift_scores` (category DRIFT counts). nannyml:
`UnivariateDriftCalculator` with KS > 0.1 and L-infinity > 0.1, the same tests as the engine. The floor
is reading the drifted file with `pyarrow.csv.read_csv` and nothing else.

Sizes run: {", ".join(f"{s:,}" for s in sizes)} rows; peers up to {peer_max:,} rows.

{table(runs)}

"x engine check" columns are ratios to the engine's check step at the same size (above 1: slower or
larger than the engine). The peers read both files in one process; the engine reads the reference
once in its baseline step (reused by every later check), so compare a peer with baseline + check
when a baseline is profiled for a single check.
"""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    sizes = [int(s) for s in (os.environ.get("BENCH_SIZES") or "100000 1000000 5000000").split()]
    peer_max = int(os.environ.get("BENCH_PEER_MAX_ROWS") or max(sizes))
    timeout = float(os.environ.get("BENCH_TIMEOUT") or 1800)
    runs: list[Run] = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="drift-bench-") as scratch:
            for tool in TOOLS:
                if tool.peer and rows > peer_max:
                    continue
                run = measure(tool, rows, Path(scratch), timeout)
                runs.append(run)
                print(
                    f"{rows:>9,} {tool.name:<28} {run.seconds or 0:8.1f} s {run.peak_mb or 0:8.0f} MB  {run.verdict}",
                    flush=True,
                )
        write_doc(runs, sizes, peer_max)  # after every size, so a long run leaves results behind
    print()
    print(table(runs))
    print(f"\nwrote {DOC}")


if __name__ == "__main__":
    main()
