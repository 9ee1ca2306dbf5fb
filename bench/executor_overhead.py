"""How much the local executor adds over running the same step scripts by hand.

1. The executor runs the synthesized training pipeline (caching off) against a fresh emulator;
   the time counted includes starting the emulator, S3 staging, records and logs.
2. "By hand": the Processing and Training jobs of that run are replayed from its record.json with
   the same command lines, environments and hyperparameters, reading and writing plain local
   directories (the raw CSV from data/, each job's outputs copied to the next one's inputs), with
   no emulator, no S3 and no engine. Registration, conditions and the Lambda step have no script
   to run by hand; they are part of the executor's time (they take well under a second).

Both are repeated (alternating, so load on a shared machine hits both alike); the medians are
compared. Run: ``.venv/bin/python bench/executor_overhead.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud import LocalAws, LocalPipelineRunner  # noqa: E402
from localcloud.sagemaker.executor.steps.container import host_path, local_command, write_config  # noqa: E402
from localcloud.sagemaker.executor.steps.training import ALGORITHM_COMMAND  # noqa: E402
from pipelines import settings as settings_module  # noqa: E402
from processing_scripts import contract  # noqa: E402

SCRIPT_STEPS = ("Processing", "Training")


def run_executor(
    settings: settings_module.Settings, definition: dict[str, Any], runs: Path
) -> tuple[float, float, Path]:
    """Wall time of a whole local execution, and the part spent in its Processing/Training steps."""
    started = time.perf_counter()
    with LocalAws(settings) as aws:
        record = LocalPipelineRunner(settings, aws, runs, use_cache=False).run(
            definition, pipeline_name=settings.training_pipeline_name
        )
    elapsed = time.perf_counter() - started
    if not record.succeeded:
        raise SystemExit(f"the executor run failed: {record.failure_reason}")
    in_jobs = sum(s.duration_seconds or 0 for s in record.steps.values() if s.type in SCRIPT_STEPS)
    return elapsed, in_jobs, record.record_file


def run_by_hand(record_file: Path, settings: settings_module.Settings, scratch: Path) -> float:
    """Replay the record's jobs with local directories standing in for S3."""
    steps = [
        s for s in json.loads(record_file.read_text())["steps"] if s["type"] in ("Processing", "Training")
    ]
    local: dict[str, Path] = {settings.raw_data_uri: REPO_ROOT / "data" / "abalone.csv"}
    started = time.perf_counter()
    for step in steps:
        opt_ml = scratch / step["name"]
        if step["type"] == "Processing":
            _processing(step["arguments"], opt_ml, local)
        else:
            _training(step["properties"], opt_ml, local)
    return time.perf_counter() - started


def _copy_in(uri: str, local: dict[str, Path], destination: Path) -> None:
    source = local[uri.rstrip("/")]
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy(source, destination / source.name)


def _environment(declared: dict[str, str], opt_ml: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        **declared,
        contract.BASE_DIR_ENV: str(opt_ml),
        "PYTHONPATH": str(REPO_ROOT),
        "AWS_REGION": "us-east-1",
    }


def _processing(arguments: dict[str, Any], opt_ml: Path, local: dict[str, Path]) -> None:
    for item in arguments.get("ProcessingInputs", []):
        source = item["S3Input"]
        _copy_in(source["S3Uri"], local, host_path(opt_ml, source["LocalPath"], "LocalPath"))
    app = arguments["AppSpecification"]
    argv = local_command([*app["ContainerEntrypoint"], *app.get("ContainerArguments", [])])
    subprocess.run(
        argv, env=_environment(arguments.get("Environment", {}), opt_ml), check=True, capture_output=True
    )
    for item in arguments["ProcessingOutputConfig"]["Outputs"]:
        output = item["S3Output"]
        local[output["S3Uri"].rstrip("/")] = host_path(opt_ml, output["LocalPath"], "LocalPath")


def _training(job: dict[str, Any], opt_ml: Path, local: dict[str, Path]) -> None:
    channels = {}
    for channel in job["InputDataConfig"]:
        name = channel["ChannelName"]
        source = channel["DataSource"]["S3DataSource"]["S3Uri"]
        _copy_in(source, local, host_path(opt_ml, contract.Training.channel(name), "channel"))
        channels[name] = {"ContentType": channel.get("ContentType", "text/csv")}
    write_config(opt_ml, contract.Training.HYPERPARAMETERS, job["HyperParameters"])
    write_config(opt_ml, contract.Training.INPUT_DATA_CONFIG, channels)
    subprocess.run(ALGORITHM_COMMAND, env=_environment({}, opt_ml), check=True, capture_output=True)
    archive = opt_ml / contract.Training.MODEL_ARCHIVE
    model = host_path(opt_ml, contract.Training.MODEL, "model") / contract.Training.MODEL_FILE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model, arcname=contract.Training.MODEL_FILE)
    local[job["ModelArtifacts"]["S3ModelArtifacts"]] = archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = settings_module.load("dev")
    from pipelines.synth import render_pipelines

    definition = json.loads(render_pipelines(settings)[settings.training_pipeline_name])
    executor, job_steps, by_hand = [], [], []
    with tempfile.TemporaryDirectory(prefix="executor-overhead-") as tmp:
        for index in range(args.repeats):
            elapsed, in_jobs, record_file = run_executor(settings, definition, Path(tmp) / f"runs-{index}")
            executor.append(elapsed)
            job_steps.append(in_jobs)
            by_hand.append(run_by_hand(record_file, settings, Path(tmp) / f"hand-{index}"))
            print(
                f"run {index + 1}: executor {elapsed:.1f}s (Processing/Training steps {in_jobs:.1f}s), "
                f"by hand {by_hand[-1]:.1f}s",
                flush=True,
            )
    hand = statistics.median(by_hand)
    for label, times in (("whole execution", executor), ("Processing/Training steps", job_steps)):
        median = statistics.median(times)
        print(f"{label}: median {median:.1f}s vs by hand {hand:.1f}s: overhead {(median - hand) / hand:+.1%}")


if __name__ == "__main__":
    main()
