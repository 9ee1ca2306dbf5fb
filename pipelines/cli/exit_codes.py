"""The CLI's exit codes: one meaning each, the same code for the same situation in every command.

Scripts and CI branch on these (``status`` exit 6 means "deploy it first", exit 5 means "it ran
and failed"), so they are defined once here; ``docs/cli.md`` shows :func:`markdown_table`, and a test
keeps the page equal to this enum.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a failure was; each member's meaning is in :data:`MEANINGS` (the docs table shows both)."""

    OK = 0
    DIFFERS = 1
    USAGE = 2
    INVALID = 3
    AWS = 4
    FAILED = 5
    NOT_FOUND = 6
    DECLINED = 7
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success (for `monitor check`: the check ran, drift or not, unless `--fail-on-drift`)",
    ExitCode.DIFFERS: "`diff`: the local and the deployed definition differ (like `diff(1)`)",
    ExitCode.USAGE: "bad arguments or option values: an unknown option, pipeline, region or parameter",
    ExitCode.INVALID: "a definition or data file was read and is not valid (JSON, schema, graph, baseline)",
    ExitCode.AWS: "AWS (or the emulator) refused the call or could not be reached: credentials, permissions, network",
    ExitCode.FAILED: "the thing ran and failed: a pipeline execution, the closed loop, a drift gate",
    ExitCode.NOT_FOUND: "a named thing does not exist: a file, a pipeline that is not deployed, an execution, a model package",
    ExitCode.DECLINED: "a confirmation was declined (or could not be asked without `--yes`); nothing changed",
    ExitCode.INTERRUPTED: "stopped with Ctrl-C",
}


def markdown_table() -> str:
    """The table ``docs/cli.md`` shows, generated from :class:`ExitCode`."""
    rows = [f"| {code.value} | `{code.name}` | {MEANINGS[code]} |" for code in ExitCode]
    return "\n".join(["| exit code | name | meaning |", "| --- | --- | --- |", *rows])
