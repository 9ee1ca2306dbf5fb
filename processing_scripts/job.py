"""What every processing script needs around its main logic.

* :class:`JobInputError` marks a problem with the job's *input* (a file, row, column, argument): the
  user fixes the data, not the code. :func:`run` turns it into one clear log line, writes it to
  ``/opt/ml/output/message`` (SageMaker shows the first 1 KB as the job's ``ExitMessage``) and exits
  with status 1; anything else is a bug and keeps its traceback.
* :func:`cluster` names this instance and its peers, so shards processed in parallel write distinct
  files.
* :func:`write_all_or_nothing` publishes a job's outputs only once every one of them is ready, so a
  failed job never leaves half its files behind for the next step (or an S3 upload) to pick up.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from processing_scripts import contract
from processing_scripts.example import ExampleError

log = logging.getLogger(__name__)

DEFAULT_HOST = "algo-1"
EXIT_MESSAGE_LIMIT = 1024  # bytes SageMaker keeps of the exit message
PUBLISHED_FILE_MODE = 0o644  # mkstemp makes files private; outputs are read by other steps and people


class JobInputError(Exception):
    """The job's input is unusable; the message says which file, row, column or argument and why."""


def configure_logging() -> None:
    """One readable line per event on stderr, which SageMaker forwards to CloudWatch Logs."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main`` and return its exit status (0 done, 1 bad input: the job's data or
    arguments, or the example the job was told to use)."""
    configure_logging()
    try:
        main(argv)
    except (JobInputError, ExampleError) as err:
        log.error("%s", err)
        _write_exit_message(str(err))
        return 1
    return 0


def exit_with(main: Callable[[Sequence[str] | None], None]) -> NoReturn:
    """A job script's ``__main__``: run ``main`` and exit the process with its status.

    Every object the job made lives until the process ends, so they are frozen out of the garbage
    collector first: the interpreter's final collections then skip pandas', pyarrow's and
    matplotlib's objects, 0.2-0.4 s of every job.
    """
    status = run(main)
    gc.freeze()
    raise SystemExit(status)


def _write_exit_message(message: str) -> None:
    """Leave the reason where DescribeProcessingJob shows it; never mask the real error."""
    path = contract.host_path(contract.ProcessingJob.EXIT_MESSAGE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        truncated = message.encode("utf-8")[:EXIT_MESSAGE_LIMIT].decode("utf-8", errors="ignore")
        path.write_text(truncated, encoding="utf-8")
    except OSError as err:
        log.warning("could not write the exit message to %s: %s", path, err)


@dataclass(frozen=True)
class Cluster:
    """Which instance this is and how many run the job (ProcessingInstanceCount)."""

    current_host: str
    hosts: tuple[str, ...]


def cluster() -> Cluster:
    """From SageMaker's resource config; a single ``algo-1`` when running anywhere else."""
    path = contract.host_path(contract.ProcessingJob.RESOURCE_CONFIG)
    if not path.is_file():
        return Cluster(DEFAULT_HOST, (DEFAULT_HOST,))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        host, hosts = doc["current_host"], tuple(doc.get("hosts") or (doc["current_host"],))
    except (ValueError, KeyError, TypeError) as err:
        raise JobInputError(f"{path}: cannot read 'current_host' from the resource config ({err})") from err
    if not isinstance(host, str) or not host or "/" in host:
        raise JobInputError(f"{path}: 'current_host' must be a plain name, got {host!r}")
    return Cluster(host, hosts)


def write_all_or_nothing(files: Mapping[Path, str | bytes]) -> None:
    """Write every file, or none of them.

    Each file is first written to a hidden temporary file in its own directory (same file system,
    so each rename is atomic); only when all are written are they renamed into place. On any error
    the temporary files and any file already renamed are removed (output folders start empty in a
    job, so there is nothing older to restore) and the error propagates.
    """
    staged: list[tuple[Path, Path]] = []
    published: list[Path] = []
    try:
        for target, content in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(temp_name), target))
            data = content.encode("utf-8") if isinstance(content, str) else content
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temp_name, PUBLISHED_FILE_MODE)
        for temp, target in staged:
            os.replace(temp, target)
            published.append(target)
    except BaseException:
        for path in [temp for temp, _ in staged] + published:
            path.unlink(missing_ok=True)
        raise
    for target in files:
        log.info("wrote %s", target)
