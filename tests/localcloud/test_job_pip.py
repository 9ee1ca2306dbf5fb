"""A local job's pip (``job_bin/pip``): skips what is satisfied, refuses what is not, in one line,
and never installs into the executor's environment."""

from __future__ import annotations

import pytest

from localcloud.sagemaker.executor.steps import job_pip
from processing_scripts import contract


@pytest.fixture
def opt_ml(tmp_path, monkeypatch):
    monkeypatch.setenv(contract.BASE_DIR_ENV, str(tmp_path))
    return tmp_path


def test_an_uninstall_is_skipped(opt_ml, capsys):
    assert job_pip.main(["uninstall", "--yes", "typing"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_satisfied_requirements_install_nothing(opt_ml, capsys):
    requirements = opt_ml / "requirements.txt"
    requirements.write_text("numpy>=1.20\n# a comment\n--index-url https://example.invalid\n")
    assert job_pip.main(["install", "-r", str(requirements), "-U"]) == 0
    assert "nothing installed" in capsys.readouterr().out


def test_an_unmet_requirement_is_one_line_and_the_jobs_failure_reason(opt_ml, capsys):
    requirements = opt_ml / "requirements.txt"
    requirements.write_text("numpy>=1.20\nno-such-package-for-byop==1.0\n")
    assert job_pip.main(["install", f"--requirement={requirements}", "scipy>=999"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "ClientError: the job's pip install needs no-such-package-for-byop==1.0, scipy>=999 (installed: "
    )
    assert (opt_ml / "output" / "failure").read_text().strip() == line


@pytest.mark.parametrize("argv", [["install", "-r", "missing.txt"], ["download", "numpy"]])
def test_what_a_job_may_not_run_is_refused(opt_ml, argv, capsys):
    assert job_pip.main(argv) == 1
    assert capsys.readouterr().err.startswith("ClientError: ")
