"""A user's pipeline, built from their own code (``module.py:get_pipeline``) against the emulator.

The SageMaker Projects seed code, and most teams' repositories, have a function that returns the
pipeline object (``get_pipeline(region, role, default_bucket, ...)``); building it uploads the
step code and data to S3 (the SDK does that when a step's code is a local file). So instead of
asking for a definition JSON and seeds, ``run-local module.py:get_pipeline`` builds the object with
the emulator running, and the SDK's own uploads land in the emulator.

The build runs in the USER's interpreter with THEIR SDK (usually 2.x, while this project pins 3.x),
never in ours: a small standard-library-only script (``bootstrap/build_pipeline.py``) imports the
module, calls the function and writes the definition to a file. Which interpreter:
``--python``, else ``$MLOPS_USER_PYTHON``, else the ``python3`` on ``PATH`` (:func:`user_python`);
the same one runs the user's Lambda handlers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.account import LocalAws
from pipelines.settings import JOB_ROLE

USER_PYTHON_ENV = "MLOPS_USER_PYTHON"
BUILD_SCRIPT = Path(__file__).parent / "bootstrap" / "build_pipeline.py"
BUILD_LOG = "build-pipeline.log"
# What the SDK's own default bucket is called (Session.default_bucket): the seed's default.
DEFAULT_BUCKET = "sagemaker-{region}-{account}"
_BUILD_TIMEOUT_SECONDS = 600
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class UserPipelineError(RuntimeError):
    """The user's pipeline could not be built; one line naming the exception and where."""


class InterpreterNotFoundError(UserPipelineError):
    """The user's interpreter is not there (a usage problem: nothing of theirs ran)."""


@dataclass(frozen=True)
class PipelineTarget:
    """``path/to/module.py:function``: where the user's pipeline comes from."""

    module: Path
    function: str

    @classmethod
    def parse(cls, text: str) -> PipelineTarget | None:
        """The target ``text`` names, or None when it is not ``<file>.py:<function>``."""
        path, _, function = text.rpartition(":")
        if not path.endswith(".py") or not function.isidentifier():
            return None
        return cls(Path(path).expanduser(), function)

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


@dataclass(frozen=True)
class BuiltPipeline:
    name: str
    definition: dict[str, Any]


def user_python(explicit: str | None = None) -> str:
    """The user's interpreter: ``explicit``, else ``$MLOPS_USER_PYTHON``, else ``python3`` on PATH."""
    given = explicit or os.environ.get(USER_PYTHON_ENV) or "python3"
    found = shutil.which(given)
    if found is None:
        source = "--python" if explicit else USER_PYTHON_ENV if os.environ.get(USER_PYTHON_ENV) else "PATH"
        raise InterpreterNotFoundError(f"no Python interpreter {given!r} (from {source}); pass --python PATH")
    return found


def build(
    target: PipelineTarget,
    kwargs: Mapping[str, str],
    *,
    python: str,
    aws: LocalAws,
    log_dir: Path,
) -> BuiltPipeline:
    """Call the user's function in their interpreter against the running emulator.

    ``region``, ``role`` and ``default_bucket`` are passed when the function takes them and
    ``kwargs`` does not give them: the emulator's region, the settings' SageMaker execution role
    (the emulator accepts any role) and the SDK's default bucket name for the emulator's account,
    created first. Everything the build prints goes to ``log_dir/build-pipeline.log``.
    """
    if not target.module.is_file():
        raise UserPipelineError(f"{target.module} is not a file")
    settings = aws.settings
    bucket = DEFAULT_BUCKET.format(region=settings.region, account=settings.account)
    aws.create_bucket(bucket)
    defaults = {
        "region": settings.region,
        "role": settings.role_arn(JOB_ROLE),
        "default_bucket": bucket,
    }
    environment = {
        **{k: os.environ[k] for k in _INHERITED if k in os.environ},
        **aws.process_environment(),
        "SAGEMAKER_VALIDATE_ROLE": "false",  # no IAM role lookups while building
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / BUILD_LOG
    with tempfile.TemporaryDirectory(prefix="build-pipeline-") as folder:
        request, result = Path(folder) / "request.json", Path(folder) / "result.json"
        request.write_text(json.dumps({"kwargs": dict(kwargs), "defaults": defaults}))
        argv = [
            python,
            str(BUILD_SCRIPT),
            str(target.module.resolve()),
            target.function,
            str(request),
            str(result),
        ]
        try:
            with log.open("w") as output:
                finished = subprocess.run(
                    argv,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=environment,
                    timeout=_BUILD_TIMEOUT_SECONDS,
                    check=False,
                )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise UserPipelineError(f"{target}: {' '.join(str(err).split())}") from err
        if not result.is_file():
            raise UserPipelineError(
                f"{target}: {python} exited {finished.returncode} without a result (see {log})"
            )
        outcome = json.loads(result.read_text())
    if "error" in outcome:
        where = f" at {outcome['where']}" if outcome.get("where") else ""
        raise UserPipelineError(f"{target}: {outcome['error']}{where} (output: {log})")
    return BuiltPipeline(str(outcome["name"]), outcome["definition"])
