"""A local job's ``pip``: never installs into the environment the executor runs jobs with.

A ``FrameworkProcessor`` job runs the SDK's ``runproc.sh``, which (in the image) runs ``pip
uninstall --yes typing`` and ``python -m pip install -r requirements.txt`` (SDK 3.x:
``python3 install_requirements.py requirements.txt``) before the user's script. Here the job's
``python`` is this project's venv (``job_bin/``, first on every job's PATH, sends those commands
here), and a job must not change it. So: an install whose requirements are all satisfied already is
skipped with a line saying so; one that is not fails the job with one line naming what is missing
(also written as the job's failure reason); an uninstall is skipped; read-only commands (``list``,
``show``, ``freeze``, ``--version``) run the real pip.

Run as ``python -m localcloud.sagemaker.executor.steps.job_pip ARGS`` (what ``job_bin/pip`` does).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from localcloud.sagemaker.executor.steps.script_mode import unmet_requirements
from processing_scripts import contract

READ_ONLY = ("list", "show", "freeze", "check", "--version", "-V", "help", "--help")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command in READ_ONLY:
        os.execv(sys.executable, [sys.executable, "-m", "pip", *argv])
    if command == "uninstall":
        print(f"local job: `pip {' '.join(argv)}` skipped: a job never changes the executor's environment")
        return 0
    if command != "install":
        return _refuse(
            f"`pip {' '.join(argv)}` is not something a local job may run (it would change the executor's environment)"
        )
    files, named = _requirements(argv[1:])
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        return _refuse(f"pip install: no requirements file {', '.join(missing)}")
    unmet = [need for path in files for need in unmet_requirements(path)] + _unmet_named(named)
    if unmet:
        return _refuse(
            f"the job's pip install needs {', '.join(unmet)}, which the executor's environment does not "
            "have, and a local job never pip-installs into it: install it into the venv run-local runs in"
        )
    print(
        "local job: every requirement is already satisfied by the executor's environment; nothing installed"
    )
    return 0


def _requirements(args: list[str]) -> tuple[list[Path], list[str]]:
    """The ``-r`` files and the requirements named on the command line (options dropped)."""
    files, named, it = [], [], iter(args)
    for arg in it:
        if arg in ("-r", "--requirement"):
            files.append(Path(next(it, "")))
        elif arg.startswith("--requirement="):
            files.append(Path(arg.partition("=")[2]))
        elif not arg.startswith("-"):
            named.append(arg)
    return files, named


def _unmet_named(named: list[str]) -> list[str]:
    if not named:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.txt"
        path.write_text("\n".join(named) + "\n")
        return unmet_requirements(path)


def _refuse(message: str) -> int:
    """One line on stderr, and the job's failure reason (SageMaker reads /opt/ml/output/failure)."""
    print(f"ClientError: {message}", file=sys.stderr)
    failure = contract.host_path(contract.Training.FAILURE)
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(f"ClientError: {message}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
