"""A run-local killed at each step (SIGKILL, no chance to clean up): the next run resumes from the
verified cache, and the killed run's record ends Failed instead of saying "Executing" forever
(issue 11, defect 11). The run-local process runs as a user runs it, in its own process group; the
steps wait for a release file, so the kill lands inside the chosen step every time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localcloud.sagemaker.executor.records import ABANDONED
from tests.localcloud.conftest import PipelineBuilder

STEPS = ("First", "Second", "Third")
REPO = Path(__file__).resolve().parents[2]


def _definition(signals: Path) -> dict:
    """Three cached processing steps in a chain; each says when it started and waits to be released."""
    pipeline = PipelineBuilder()
    previous = None
    for name in STEPS:
        script = f"""
            import time
            Path({str(signals)!r}, "started-{name}").touch()
            while not Path({str(signals)!r}, "release-{name}").exists():
                time.sleep(0.05)
            (out("data") / "part.txt").write_text("{name}")
        """
        inputs = {"data": pipeline.output_uri(previous, "data")} if previous else None
        pipeline.processing(
            name,
            script,
            inputs=inputs,
            outputs=("data",),
            CacheConfig={"Enabled": True, "ExpireAfter": "PT1H"},
        )
        previous = name
    return pipeline.definition()


def _run_local(definition: Path, runs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "run-local", str(definition), "--runs-dir", str(runs)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes the step's job with it
    )


def _records(runs: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(runs.glob("*/record.json"))]


@pytest.mark.slow
@pytest.mark.parametrize("killed_in", range(len(STEPS)))
def test_a_run_killed_in_any_step_resumes_from_the_cache_and_its_record_ends_failed(
    tmp_path: Path, killed_in: int
) -> None:
    signals, runs = tmp_path / "signals", tmp_path / "runs"
    signals.mkdir()
    definition = tmp_path / "kill-demo.json"
    definition.write_text(json.dumps(_definition(signals)))
    for name in STEPS[:killed_in]:
        (signals / f"release-{name}").touch()

    run = _run_local(definition, runs)
    deadline = time.monotonic() + 120
    while not (signals / f"started-{STEPS[killed_in]}").exists():
        assert run.poll() is None, run.communicate()[0]
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.communicate()
    (killed,) = _records(runs)
    assert killed["status"] == "Executing"  # what it said forever before the fix

    for name in STEPS:
        (signals / f"release-{name}").touch()
    rerun = _run_local(definition, runs)
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output

    by_id = {r["execution_id"]: r for r in _records(runs)}
    settled = by_id.pop(killed["execution_id"])
    (resumed,) = by_id.values()
    assert settled["status"] == "Failed" and settled["failure_reason"] == ABANDONED
    steps = {s["name"]: s for s in settled["steps"]}
    assert [steps[n]["status"] for n in STEPS] == ["Succeeded"] * killed_in + ["Failed"] + ["NotStarted"] * (
        len(STEPS) - killed_in - 1
    )
    assert resumed["status"] == "Succeeded"
    hits = [s["name"] for s in resumed["steps"] if s["cache_hit"]]
    assert hits == list(STEPS[:killed_in])  # what finished before the kill came back from the cache


def test_a_record_whose_process_still_runs_is_left_alone(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from localcloud.sagemaker.executor.records import running, settle_abandoned

    run_dir = tmp_path / "abc123"
    with running(run_dir):
        (run_dir / "record.json").write_text(json.dumps({"status": "Executing", "steps": []}))
        assert settle_abandoned(tmp_path, datetime.now(UTC)) == []  # its runner holds the lock
    assert settle_abandoned(tmp_path, datetime.now(UTC)) == [run_dir / "record.json"]
    assert json.loads((run_dir / "record.json").read_text())["status"] == "Failed"
