"""Running a job's "container" as a local subprocess with SageMaker's ``/opt/ml`` contract.

Each instance of a job gets its own directory standing in for ``/opt/ml``: mounted there in a
private mount namespace where the machine allows it (:mod:`..private_opt_ml`), and always passed as
``OPT_ML_DIR`` (what the project's scripts read, see :mod:`processing_scripts.contract`). It gets a
clean environment holding only what the job definition declares plus the emulator's endpoint and
fake credentials, and its output is streamed line by line into the step's log. An image's
``python3`` is this interpreter, with the repository root on ``PYTHONPATH`` (the project's image
has ``processing_scripts`` there).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from localcloud.sagemaker.executor import private_opt_ml
from localcloud.sagemaker.executor.images import Image, ImageKind
from localcloud.sagemaker.executor.steps.base import JOB_INTERNAL_ERROR, StepError, StepLog
from pipelines.settings import REPO_ROOT
from processing_scripts import contract, example

PYTHON_COMMANDS = ("python", "python3")
# SageMaker reads a job's failure reason from these files, when the code wrote one.
JOB_BIN = Path(__file__).parents[1] / "job_bin"  # the job's python and pip (see container_environment)
FAILURE_FILES = (contract.Training.FAILURE, contract.ProcessingJob.EXIT_MESSAGE)
_TAIL_LINES = 20
_STOP_GRACE_SECONDS = 5
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '(?P<module>[^'.]+)")


@dataclass(frozen=True)
class ContainerProcess:
    host: str  # algo-1, algo-2, ... (or a tuning job's training job name)
    argv: list[str]
    environment: dict[str, str]
    opt_ml_dir: Path
    # Where the code starts, a container path. Not the image's WORKDIR (often ``/``, which here is the
    # host's): code that writes to its working directory writes into the instance's directory.
    cwd: str = str(contract.OPT_ML)


@dataclass(frozen=True)
class ProcessOutcome:
    host: str
    returncode: int
    tail: list[str]


def host_path(opt_ml_dir: Path, container_path: str, field: str) -> Path:
    """Where a container path of the job definition lives in this instance's directory."""
    try:
        relative = PurePosixPath(container_path).relative_to(contract.OPT_ML)
    except ValueError:
        raise StepError(f"{field} {container_path!r} is not under {contract.OPT_ML}") from None
    if ".." in relative.parts:
        raise StepError(f"{field} {container_path!r} must not contain '..'")
    return opt_ml_dir / relative


def isolation_problem(image: Image) -> str | None:
    """Why this image's code cannot run here (one line), or None.

    Only the project's code finds its files through ``OPT_ML_DIR``; anyone else's code expects a
    real ``/opt/ml``, which it gets only from a private mount namespace.
    """
    if image.kind is ImageKind.PROJECT:
        return None
    reason = private_opt_ml.unavailable_reason()
    if reason is None:
        return None
    return (
        f"image {image.label}: {reason}. Code written for SageMaker reads /opt/ml; only code that reads "
        f"{contract.BASE_DIR_ENV} instead (as the project's own scripts do) runs without it"
    )


def require_isolation(image: Image) -> None:
    problem = isolation_problem(image)
    if problem is not None:
        raise StepError(problem)


def command_not_installed(command: object) -> bool:
    """A job's first command word that is neither ``python``, a file the job stages under /opt/ml,
    nor on PATH: it exists only inside the job's image (e.g. a notebook job's
    ``amazon_sagemaker_scheduler``), so the job cannot start here."""
    if not isinstance(command, str) or PurePosixPath(command).name in PYTHON_COMMANDS:
        return False
    return not command.startswith(str(contract.OPT_ML)) and shutil.which(command) is None


def local_command(argv: list[str]) -> list[str]:
    """The image's ``python3`` is this interpreter (same packages as the image's requirements)."""
    if argv and Path(argv[0]).name in PYTHON_COMMANDS:
        return [sys.executable, *argv[1:]]
    return list(argv)


def container_environment(
    declared: dict[str, str], emulator: dict[str, str], opt_ml_dir: Path, *, project_code: bool = True
) -> dict[str, str]:
    """A container's environment: nothing inherited from this shell except PATH, HOME and locale.

    The project's code (and the XGBoost emulation) imports from this checkout; anyone else's code
    does not get it on ``PYTHONPATH``, where a package of theirs named ``pipelines`` (SageMaker
    Projects' seed code has one) would meet ours.
    """
    # MLOPS_EXAMPLES_DIR too: in AWS the image carries the examples; here the checkout is the image,
    # and a folder of examples outside it (a team's own, a test's) is part of that checkout's content.
    passed = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", example.EXAMPLES_DIR_ENV)
    inherited = {k: os.environ[k] for k in passed if k in os.environ}
    return {
        **inherited,
        # `python`/`pip` from PATH (a FrameworkProcessor's runproc.sh) are this interpreter and a
        # pip that never installs into it (see steps/job_pip.py).
        "PATH": os.pathsep.join([str(JOB_BIN), *([inherited["PATH"]] if "PATH" in inherited else [])]),
        "LOCALCLOUD_PYTHON": sys.executable,
        "LOCALCLOUD_REPO": str(REPO_ROOT),
        **{str(k): str(v) for k, v in (declared or {}).items()},
        **emulator,
        contract.BASE_DIR_ENV: str(opt_ml_dir),
        **({"PYTHONPATH": str(REPO_ROOT)} if project_code else {}),
        "PYTHONUNBUFFERED": "1",
    }


def write_config(opt_ml_dir: Path, container_path: str, document: object) -> None:
    """One of the JSON files SageMaker puts into a container before the job's code starts."""
    path = host_path(opt_ml_dir, container_path, "config file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


def write_resource_config(opt_ml_dir: Path, container_path: str, host: str, hosts: list[str]) -> None:
    """The cluster description SageMaker gives each instance (where scripts learn their host)."""
    write_config(
        opt_ml_dir, container_path, {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}
    )


def run_processes(
    processes: list[ContainerProcess],
    log: StepLog,
    on_line: Callable[[str, str], None] | None = None,
    max_runtime_seconds: float | None = None,
) -> list[ProcessOutcome]:
    """Start every process, stream their output to the log, wait for all of them.

    On Ctrl-C (or any exception, or the job's MaxRuntimeInSeconds passing) every process is
    terminated, then killed: a stopped run leaves no job running in the background.
    """
    deadline = None if max_runtime_seconds is None else time.monotonic() + max_runtime_seconds
    label = len(processes) > 1
    started: list[tuple[ContainerProcess, subprocess.Popen[str]]] = []
    pumps: list[threading.Thread] = []
    tails: dict[str, collections.deque[str]] = {}
    try:
        for process in processes:
            argv, cwd = process.argv, host_path(process.opt_ml_dir, process.cwd, "working directory")
            if private_opt_ml.unavailable_reason() is None:
                argv, cwd = private_opt_ml.wrap(argv, process.opt_ml_dir, process.cwd), process.opt_ml_dir
            try:
                popen = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=process.environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    errors="replace",
                    start_new_session=True,  # Ctrl-C reaches us; we stop the children ourselves
                )
            except OSError as err:
                raise StepError(f"cannot start {process.argv[0]!r}: {err.strerror}") from err
            started.append((process, popen))
            tails[process.host] = collections.deque(maxlen=_TAIL_LINES)
            pump = threading.Thread(
                target=_pump,
                args=(popen,),
                kwargs={
                    "label": process.host if label else None,
                    "host": process.host,
                    "log": log,
                    "tail": tails[process.host],
                    "on_line": on_line,
                },
                daemon=True,
            )
            pump.start()
            pumps.append(pump)
        outcomes = [
            ProcessOutcome(p.host, _wait(popen, pump, deadline), [])
            for (p, popen), pump in zip(started, pumps, strict=True)
        ]
        for pump in pumps:
            pump.join()
    except BaseException:
        _stop_all([popen for _, popen in started])
        raise
    return [ProcessOutcome(o.host, o.returncode, list(tails[o.host])) for o in outcomes]


def _wait(popen: subprocess.Popen[str], pump: threading.Thread, deadline: float | None) -> int:
    """The process's exit status, waited for without polling.

    ``Popen.wait(timeout=...)`` polls, sleeping up to 50 ms between checks, which added ~25 ms to
    every job with a ``MaxRuntimeInSeconds``. The pump reaches the end of the output when the
    process exits, and joining it blocks until then (or the deadline); the exit status is there by
    then.
    """
    if deadline is None:
        return popen.wait()
    pump.join(timeout=max(0.0, deadline - time.monotonic()))
    try:
        return popen.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise StepError("the job ran longer than its StoppingCondition.MaxRuntimeInSeconds") from None


def _pump(
    popen: subprocess.Popen[str],
    *,
    label: str | None,
    host: str,
    log: StepLog,
    tail: collections.deque[str],
    on_line: Callable[[str, str], None] | None,
) -> None:
    assert popen.stdout is not None
    for raw in popen.stdout:
        line = raw.rstrip("\n")
        tail.append(line)
        log.line(line, label)
        if on_line is not None:
            on_line(host, line)


def _stop_all(popens: list[subprocess.Popen[str]]) -> None:
    for popen in popens:
        if popen.poll() is None:
            popen.terminate()
    for popen in popens:
        try:
            popen.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def failure_of(outcome: ProcessOutcome, opt_ml_dir: Path, image: Image | None = None) -> StepError:
    """SageMaker's failure reason: the job's own failure file, else the end of its log.

    A process killed by a signal is the platform failing (out of memory, a lost host), which
    SageMaker reports as an internal error a retry policy may retry; a non-zero exit is the
    algorithm's own error and is never retried. Code that died importing a package this
    environment lacks (but the job's image may well have) is told which package to install.
    """
    missing = next((m["module"] for line in outcome.tail if (m := _MISSING_MODULE.search(line))), None)
    if missing is not None and outcome.returncode > 0:
        where = f"; image {image.label} may have it" if image is not None else ""
        return StepError(
            f"AlgorithmError: the job's code imports {missing!r}, which is not installed in the "
            f"environment the local executor runs jobs with{where}: install it into that venv "
            f"(host {outcome.host}, exit code {outcome.returncode})"
        )
    written = next(
        (
            path.read_text().strip()
            for path in (host_path(opt_ml_dir, name, "failure file") for name in FAILURE_FILES)
            if path.is_file() and path.read_text().strip()
        ),
        None,
    )
    last_lines = [line for line in outcome.tail if line.strip()][-3:]
    detail = written or " | ".join(last_lines) or "no output"
    if outcome.returncode < 0:
        name = signal.Signals(-outcome.returncode).name
        return StepError(
            f"InternalServerError: {outcome.host} was killed by {name}: {detail}", JOB_INTERNAL_ERROR
        )
    prefix = "" if detail.startswith(("ClientError", "AlgorithmError")) else "AlgorithmError: "
    return StepError(f"{prefix}{detail} (host {outcome.host}, exit code {outcome.returncode})")
