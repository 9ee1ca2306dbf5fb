"""Run the CLI in-process as a user would, exit code and output included."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``python -m pipelines *argv`` in-process; return (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(stderr: str) -> tuple[str, str]:
    """The (message, hint) of an error printed as the CLI promises: one ``error:`` line, at most one
    ``hint:`` line, nothing else (no traceback, no usage block, no HTML)."""
    lines = stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), stderr
    assert len(lines) <= 2, stderr
    hint = lines[1] if len(lines) == 2 else ""
    assert not hint or hint.startswith("hint: "), stderr
    return lines[0].removeprefix("error: "), hint.removeprefix("hint: ")


def assert_iam_report_clean(capsys: pytest.CaptureFixture[str], runs_dir: Path, cdk_out: Path) -> None:
    """``pipelines iam-report`` over a run's calls: nothing denied, and every grant the run left
    unused has its reason written down (infra/iam_reasons.py)."""
    code, out, _ = run(
        capsys, "--env", "dev", "iam-report", "--runs-dir", str(runs_dir), "--cdk-out", str(cdk_out)
    )
    assert (code, out.strip().splitlines()[-1]) == (0, "0 denied call(s); 0 unused grant(s) without a reason")
