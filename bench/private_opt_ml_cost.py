"""What a private /opt/ml costs per job process: ``true`` run bare and run through the wrapper.

The wrapper (:mod:`localcloud.sagemaker.executor.private_opt_ml`) is ``unshare``, a shell that
bind-mounts the instance's directory at /opt/ml, then the job's command; the machine is probed once
per process before the first job, which is not counted here. Alternating, so load on a shared
machine hits both alike. Run: ``.venv/bin/python bench/private_opt_ml_cost.py [--repeats 50]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud.sagemaker.executor import private_opt_ml  # noqa: E402  (after the path)


def _seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    repeats = parser.parse_args().repeats
    reason = private_opt_ml.unavailable_reason()
    if reason is not None:
        sys.exit(f"no private /opt/ml on this machine: {reason}")
    with tempfile.TemporaryDirectory() as directory:
        commands = {"bare": ["true"], "private /opt/ml": private_opt_ml.wrap(["true"], Path(directory))}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, argv in commands.items():
                times[name].append(_seconds(argv))
    for name, values in times.items():
        print(f"{name:16} median {statistics.median(values) * 1000:6.1f} ms over {repeats} runs")


if __name__ == "__main__":
    main()
