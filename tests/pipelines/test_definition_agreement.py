"""The former disagreements between `validate`, `start` and `run-local` are gone: one model decides.

Nothing here starts the emulator: `run-local` refuses before it would.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud import prepare
from pipelines import settings as settings_module
from tests.pipelines.cli_runner import run

TINY = Path(__file__).parent / "fixtures" / "tiny-pipeline.json"
SETTINGS = settings_module.load("dev")


def _error_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("error:"))


def test_an_unknown_depends_on_is_an_error_for_validate_and_for_run_local(capsys, tmp_path):
    broken = json.loads(TINY.read_text())
    broken["Steps"][0]["DependsOn"] = ["Ghost"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    finding = "Gate: Steps[0].DependsOn[0]: DependsOn names step 'Ghost', which does not exist"

    code, out, _ = run(capsys, "validate", str(path))
    assert code == 3 and f"✗ {path}: {finding}" in out

    code, _, err = run(capsys, "run-local", str(path))
    assert code == 3 and finding in _error_line(err) and "Traceback" not in err


def test_an_unused_parameter_is_a_warning_validate_passes_and_run_local_accepts(capsys):
    code, out, _ = run(capsys, "validate", str(TINY))
    assert code == 0
    assert (
        "warning: (pipeline): Parameters[0]: parameter 'InputDataUrl' is declared but no step uses it" in out
    )
    assert f"✓ {TINY} (3 warnings)" in out
    _, values = prepare(json.loads(TINY.read_text()), {"MaxTuningJobs": "4"})
    assert values["MaxTuningJobs"] == 4


@pytest.mark.parametrize(
    "pairs",
    [
        ["Nope=1"],
        ["QualityThreshold=high"],
        ["QualityThreshold=nan"],
        ["MaxTuningJobs=2.0"],
        ["QualityThreshold"],
        ["=2"],
        ["MaxTuningJobs=2", "MaxTuningJobs=3"],
        ["Nope=1", "MaxTuningJobs=x"],
    ],
)
def test_start_and_run_local_apply_the_same_parameter_rules(capsys, pairs):
    params = [arg for pair in pairs for arg in ("-p", pair)]
    code, _, local_err = run(capsys, "run-local", str(TINY), *params)
    assert code == 2
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=SETTINGS.region)
        run(capsys, "upsert", "training", "--definition-file", str(TINY))
        code, _, start_err = run(capsys, "start", "training", *params)
        assert code == 2
        assert (
            sagemaker.list_pipeline_executions(PipelineName=SETTINGS.training_pipeline_name)[
                "PipelineExecutionSummaries"
            ]
            == []
        )
    assert _error_line(start_err) == _error_line(local_err)
