"""`python -m pipelines monitor baseline|check` as a user calls it: local files and S3 (moto)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from moto import mock_aws

from pipelines import settings as settings_module
from pipelines.cli import main
from pipelines.cli.context import CliError
from pipelines.cli.exit_codes import ExitCode
from tests.pipelines.cli_runner import one_line_error, run

REPO = Path(__file__).resolve().parents[2]
ABALONE = REPO / "data" / "abalone.csv"
SETTINGS = settings_module.load("dev")


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    main_args = ["monitor", "baseline", "--data", str(ABALONE), "--out", str(out)]
    with pytest.raises(SystemExit) as done:
        main([*main_args, "--comparison-threshold", "0.15"])
    assert done.value.code in (0, None)
    return out


def drifted_csv(path: Path) -> Path:
    table = pacsv.read_csv(ABALONE)
    table = table.set_column(1, "length", pc.add(table.column("length"), 0.1))
    pacsv.write_csv(table, path)
    return path


def test_baseline_takes_thresholds_from_settings_unless_given(baseline_dir):
    written = json.loads((baseline_dir / "constraints.json").read_text())["monitoring_config"]
    given = dataclasses.replace(SETTINGS.monitoring.drift, comparison_threshold=0.15)  # on the command line
    assert written == given.to_json()


def test_baseline_offers_exactly_the_registered_methods(tmp_path, capsys):
    command = ["monitor", "baseline", "--data", str(ABALONE), "--out", str(tmp_path)]
    code, _, err = run(capsys, *command, "--categorical-method", "KS")
    assert code == 2 and "'LInfinity', 'ChiSquared'" in err
    code, _, _ = run(
        capsys, *command, "--categorical-method", "ChiSquared", "--comparison-method", "linf_simple"
    )
    assert code == 0
    written = json.loads((tmp_path / "constraints.json").read_text())["monitoring_config"]
    distribution = written["distribution_constraints"]
    assert distribution["categorical_drift_method"] == "ChiSquared"
    assert distribution["comparison_method"] == "linf_simple"


def test_check_prints_a_table_writes_the_files_and_exits_0_on_drift(baseline_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys, "monitor", "check", "--baseline", str(baseline_dir), "--data", str(drifted_csv(tmp_path / "d.csv")),
        "--out", str(out), "--no-report",
    )  # fmt: skip
    assert code == 0
    assert "DRIFT" in stdout and "length" in stdout and "drift in 1 of 9 features" in stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "constraint_violations.json",
        "drift_summary.json",
        "statistics.json",
    ]


def test_fail_on_drift_turns_drift_into_exit_code_failed(baseline_dir, tmp_path, capsys):
    data = drifted_csv(tmp_path / "d.csv")
    args = [
        "monitor",
        "check",
        "--baseline",
        str(baseline_dir),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "o"),
    ]
    code, _, err = run(capsys, *args, "--no-report", "--fail-on-drift")
    assert code == CliError.FAILED and "drift in 1 of 9 features" in err
    code, _, _ = run(capsys, "monitor", "check", "--baseline", str(baseline_dir), "--data", str(ABALONE),
                     "--out", str(tmp_path / "o2"), "--no-report", "--fail-on-drift")  # fmt: skip
    assert code == 0


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (
            lambda d, b: ["--baseline", str(d / "none"), "--data", str(ABALONE)],
            (
                ExitCode.NOT_FOUND,
                "--baseline {d}/none: no such file or folder",
                "make one with `pipelines monitor baseline",
            ),
        ),
        (
            lambda d, b: ["--baseline", str(d), "--data", str(ABALONE)],
            (ExitCode.INVALID, "statistics.json does not exist", "statistics.json and constraints.json"),
        ),
        (
            lambda d, b: ["--baseline", str(b), "--data", str(d / "missing.csv")],
            (ExitCode.NOT_FOUND, "--data {d}/missing.csv: no such file or folder", "capture folder"),
        ),
        (
            lambda d, b: ["--baseline", str(b), "--data", str(ABALONE), "--schema", str(d / "s.json")],
            (ExitCode.NOT_FOUND, "--schema {d}/s.json: no such file or folder", "schema.json"),
        ),
        (
            lambda d, b: ["--baseline", str(b), "--data", str(ABALONE), "--window-end", "yesterday"],
            (ExitCode.USAGE, "not an ISO 8601 time", "--window-end is an ISO 8601 time"),
        ),
    ],
)
def test_each_input_mistake_gets_its_own_hint(baseline_dir, tmp_path, capsys, make_args, expected):
    """The same `--data / --baseline / --schema` hint for every mistake (issue 17) is gone."""
    code, message, hint = expected
    got, _, err = run(
        capsys, "monitor", "check", *make_args(tmp_path, baseline_dir), "--out", str(tmp_path / "o")
    )
    line, got_hint = one_line_error(err)
    assert got == code
    assert message.format(d=tmp_path) in line and hint in got_hint


def test_data_from_another_model_is_invalid_not_a_verdict(baseline_dir, tmp_path, capsys):
    other = tmp_path / "other.csv"
    pacsv.write_csv(pa.table({"age": [1, 2, 3]}), other)
    code, stdout, err = run(capsys, "monitor", "check", "--baseline", str(baseline_dir), "--data", str(other),
                            "--out", str(tmp_path / "o"), "--no-report")  # fmt: skip
    assert code == CliError.INVALID and "BASELINE MISMATCH" in stdout
    message, hint = one_line_error(err)
    assert "another model" in message and "one-hot" in hint and "docs/monitoring.md" in hint
    assert json.loads((tmp_path / "o" / "drift_summary.json").read_text())["verdict"] == "baseline_mismatch"


def test_check_reads_s3_through_the_client_factory(baseline_dir, tmp_path, capsys):
    with mock_aws():
        s3 = boto3.client("s3", region_name=SETTINGS.region)
        bucket = SETTINGS.bucket_name("data")
        s3.create_bucket(Bucket=bucket)
        for name in ("statistics.json", "constraints.json"):
            s3.upload_file(str(baseline_dir / name), bucket, f"baseline/{name}")
        s3.upload_file(str(drifted_csv(tmp_path / "d.csv")), bucket, "current/part-1.csv")
        code, stdout, _ = run(capsys, "monitor", "check", "--baseline", f"s3://{bucket}/baseline",
                              "--data", f"s3://{bucket}/current", "--out", str(tmp_path / "o"), "--no-report")  # fmt: skip
    assert code == 0 and "drift in 1 of 9 features" in stdout


@pytest.mark.slow  # a fresh interpreter and matplotlib: a few seconds
def test_as_a_subprocess_with_the_html_report(baseline_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "monitor", "check", "--baseline", str(baseline_dir),
         "--data", str(drifted_csv(tmp_path / "d.csv")), "--out", str(tmp_path / "o")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"drift report: {(tmp_path / 'o' / 'report.html').resolve().as_uri()}" in done.stdout
    assert "drifted feature share 0.11 vs alarm threshold" in done.stdout
    report = (tmp_path / "o" / "report.html").read_text()
    assert "DRIFT" in report and "data:image/png;base64," in report and "baseline_drift_check" in report


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # --window-hours 0 silently meant 1; inf overflowed into a traceback (issue 11, defects 6 and 9).
        (["--window-hours", "0"], (2, "window hours must be more than 0")),
        (["--window-hours", "inf"], (2, "window hours must be more than 0")),
        (["--window-hours", "100000"], (2, "at most 8784")),
        (["--problem-type", "multiclass"], (2, "--problem-type 'multiclass' is not one of")),
        (["--ground-truth", "nowhere/at/all"], (6, "--ground-truth nowhere/at/all: no such file or folder")),
    ],
)
def test_check_refuses_bad_options_with_one_line(baseline_dir, tmp_path, capsys, extra, expected):
    code, message = expected
    command = ["monitor", "check", "--baseline", str(baseline_dir), "--data", str(ABALONE)]
    got, _, err = run(capsys, *command, "--out", str(tmp_path / "out"), *extra)
    assert got == code and message in one_line_error(err)[0]


def test_check_refuses_an_out_that_is_a_file(baseline_dir, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("a file")
    command = ["monitor", "check", "--baseline", str(baseline_dir), "--data", str(ABALONE), "--out", str(out)]
    got, _, err = run(capsys, *command)
    assert got == 2 and "is a file" in err
