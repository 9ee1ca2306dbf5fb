"""Each job instance sees its own directory at ``/opt/ml``: a private mount namespace per process.

Scripts written for SageMaker hard-code ``/opt/ml/processing/...`` or ``/opt/ml/model``; the
project's own scripts read ``OPT_ML_DIR`` instead (:mod:`processing_scripts.contract`), and that is
all that runs without isolation. For anyone else's code the job's command runs under util-linux's
``unshare --mount`` (as root; ``--map-root-user`` added for an ordinary user where the kernel
allows unprivileged user namespaces), with the instance's directory bind-mounted at ``/opt/ml``
inside that namespace only. Two instances of one job, or two jobs at once, never see each other's
files, and nothing is mounted on the host. The mount point itself must exist on the host: root
creates the empty ``/opt/ml`` (what every SageMaker image has); an ordinary user is told to.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from processing_scripts import contract

MOUNT_POINT = str(contract.OPT_ML)
# ``$0`` is the instance's directory, ``$1`` the working directory inside the container, the rest the
# job's command: the shell mounts, moves there, then becomes the job.
_MOUNT_THEN_EXEC = f'mount --bind -- "$0" {MOUNT_POINT} && cd -- "$1" && shift && exec "$@"'
_PROBE_TIMEOUT_SECONDS = 10


class NamespaceUnavailableError(Exception):
    """This machine cannot give a process its own ``/opt/ml`` (the message says what is missing)."""


def wrap(argv: list[str], opt_ml_dir: Path, cwd: str = MOUNT_POINT) -> list[str]:
    """``argv`` run from ``cwd`` with ``opt_ml_dir`` mounted at ``/opt/ml``; raises
    :class:`NamespaceUnavailableError`."""
    prefix = unshare_prefix()
    return [*prefix, "sh", "-c", _MOUNT_THEN_EXEC, str(opt_ml_dir), cwd, *argv]


def unavailable_reason() -> str | None:
    """Why jobs cannot get their own ``/opt/ml`` here (one line), or None when they can."""
    found = _probe()
    return found if isinstance(found, str) else None


def unshare_prefix() -> tuple[str, ...]:
    """The ``unshare`` command that works on this machine; raises :class:`NamespaceUnavailableError`."""
    found = _probe()
    if isinstance(found, str):
        raise NamespaceUnavailableError(found)
    return found


@functools.cache
def _probe() -> tuple[str, ...] | str:
    """The working ``unshare`` command, or why there is none: found once per process, by mounting."""
    try:
        return _working_prefix()
    except NamespaceUnavailableError as err:
        return str(err)


def _working_prefix() -> tuple[str, ...]:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise NamespaceUnavailableError(
            "util-linux `unshare` is not installed (Linux only), so jobs cannot get their own /opt/ml"
        )
    root = os.geteuid() == 0
    if not Path(MOUNT_POINT).is_dir():
        if not root:
            raise NamespaceUnavailableError(
                f"{MOUNT_POINT} does not exist; create the empty mount point once: sudo mkdir -p {MOUNT_POINT}"
            )
        Path(MOUNT_POINT).mkdir(parents=True, exist_ok=True)
    user_namespace = () if root else ("--map-root-user",)
    prefix = (unshare, *user_namespace, "--mount", "--propagation", "private")
    with tempfile.TemporaryDirectory(prefix="opt-ml-probe-") as probe:
        marker = Path(probe) / "mounted"
        marker.touch()
        command = [*prefix, "sh", "-c", _MOUNT_THEN_EXEC, probe, MOUNT_POINT, "test", "-e", "mounted"]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise NamespaceUnavailableError(f"`unshare` could not run ({err})") from err
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        need = (
            "root"
            if root
            else "root, or unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        )
        raise NamespaceUnavailableError(
            f"a private mount namespace is not allowed here ({detail}); it needs {need}"
        )
    return prefix
