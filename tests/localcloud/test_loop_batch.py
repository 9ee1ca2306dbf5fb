"""``MLOPS_SERVING_MODE=batch pipelines demo``: the loop closed with no endpoint. Scheduled scoring
runs capture what they score, the monitoring pipeline checks that capture, drift raises the alarm,
retraining approves version 2 and the next scheduled scoring run uses it."""

from __future__ import annotations

import json

import pytest

from pipelines import settings as settings_module
from pipelines.cli import main
from pipelines.settings import BATCH, SERVING_MODE_ENV
from tests.pipelines.cli_runner import assert_iam_report_clean


@pytest.mark.slow  # synthesizes the app in batch mode and runs every pipeline: minutes
def test_batch_demo_scores_with_the_retrained_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(SERVING_MODE_ENV, BATCH)
    settings = settings_module.load("dev")
    with pytest.raises(SystemExit) as exit_info:
        main(["--env", "dev", "demo", "--port", "0", "--out", str(tmp_path), "--rows", "300"])
    assert exit_info.value.code == 0, capsys.readouterr().err

    summary = json.loads((tmp_path / "timeline.json").read_text())
    whats = [entry["what"] for entry in summary["timeline"]]
    assert summary["closed"] is True
    scheduled = [w for w in whats if w.startswith(f"schedule {settings.batch_schedule_name} ")]
    assert len(scheduled) == 3  # normal, drifted, and the next run after retraining
    verdicts = [w.split(" (")[0] for w in whats if w.startswith("monitoring verdict:")]
    assert verdicts == ["monitoring verdict: no_drift", "monitoring verdict: drift"]
    assert f"batch model {settings.batch_model_name} is model version 1" in whats
    assert whats.count("the next scoring run used model version 2") == 1
    assert any(w.startswith("IAM:") and w.endswith(", 0 denied") for w in whats)
    assert not any(w.startswith(("endpoint ", "sent ")) for w in whats)  # no endpoint, no traffic
    # Least privilege in batch mode: every grant the loop left unused has its reason written down.
    assert_iam_report_clean(capsys, tmp_path / "runs", tmp_path / "cdk.out")
