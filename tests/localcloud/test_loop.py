"""The closed loop end to end (``python -m pipelines demo``). The Docker cross-checks (the image, SDK
local mode) are in tests/containers."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import pytest

from localcloud.stories import loop
from localcloud.stories.dashboard import DASHBOARD_FILE
from pipelines import parameters as params
from pipelines import settings as settings_module
from pipelines.cli import main
from tests.browser import drawn_images, remote_sources
from tests.pipelines.cli_runner import assert_iam_report_clean
from tests.pipelines.cli_runner import run as cli_run

SETTINGS = settings_module.load("dev")


@pytest.mark.slow
def test_demo_closes_the_loop(tmp_path, capsys, monkeypatch, deployed_artifacts, open_page):
    """Train, deploy, drift, new data, alarm, rule, guard, retrain, redeploy: the endpoint serves a new model.

    Through the CLI, as `make demo` runs it, except that the loop runs on the run's once-synthesized
    artifacts (the same ``synthesize``, CDK validation on) instead of synthesizing them again.
    """
    run_demo = loop.run_demo

    def on_deployed_artifacts(settings, options, listener=None):
        return run_demo(settings, dataclasses.replace(options, synthesized=deployed_artifacts), listener)

    monkeypatch.setattr(loop, "run_demo", on_deployed_artifacts)
    with pytest.raises(SystemExit) as exit_info:
        main(["--env", "dev", "demo", "--port", "0", "--out", str(tmp_path), "--rows", "300"])
    assert exit_info.value.code == 0

    out = capsys.readouterr().out.strip().splitlines()
    assert (
        out[-1]
        == f"retraining started by {SETTINGS.drift_alarm_name} -> model version 2 registered and deployed"
    )
    summary = json.loads((tmp_path / "timeline.json").read_text())
    assert summary["closed"] is True

    # The deployed dashboard's widgets, drawn from what the loop published, one click away.
    assert out[-2] == f"dashboard: {(tmp_path / DASHBOARD_FILE).resolve().as_uri()}"
    dashboard = (tmp_path / DASHBOARD_FILE).read_text()
    assert f"{SETTINGS.training_pipeline_name} ExecutionSucceeded: total 2" in dashboard
    assert f"{SETTINGS.monitoring_pipeline_name} ExecutionSucceeded: total 2" in dashboard
    assert f"drift: {SETTINGS.retrain_rule_names['drift']}: total 1" in dashboard
    errors, driver = open_page(tmp_path / DASHBOARD_FILE)
    assert errors == [] and remote_sources(dashboard) == []
    # invocations, latency, drift share, drift by feature, pipeline executions, retraining triggers;
    # model quality stays empty until the monitoring job publishes it
    assert drawn_images(driver) == 6
    runs = [(r["pipeline"], json.loads(Path(r["record"]).read_text())) for r in summary["runs"]]
    assert [name for name, _ in runs] == [
        SETTINGS.training_pipeline_name,
        SETTINGS.monitoring_pipeline_name,
        SETTINGS.monitoring_pipeline_name,
        SETTINGS.training_pipeline_name,
    ]
    first, retrain = runs[0][1], runs[3][1]
    assert first["parameters"][params.TRIGGERED_BY] == params.MANUAL_TRIGGER
    assert first["parameters"][params.DATA_SNAPSHOT] == params.INITIAL_SNAPSHOT
    # The retraining's parameters are the retrain rule's (from the templates), passed by the guard,
    # plus the alarm event's time as the data snapshot.
    assert retrain["parameters"][params.TRIGGERED_BY] not in ("", params.MANUAL_TRIGGER)
    assert retrain["parameters"][params.DATA_SNAPSHOT] not in ("", params.INITIAL_SNAPSHOT)
    # Really retrained: every job step ran again on the new data and produced a different model.
    steps = {
        name: {s["name"]: s for s in run["steps"]} for name, run in (("first", first), ("retrain", retrain))
    }
    for job in ("Preprocess", "Train", "Baseline", "Evaluate"):
        assert steps["retrain"][job]["status"] == "Succeeded" and steps["retrain"][job]["cache_hit"] is None
    model_uri = [steps[run]["Train"]["properties"]["ModelArtifacts"]["S3ModelArtifacts"] for run in steps]
    assert model_uri[0] != model_uri[1]
    registered = steps["retrain"]["Register"]["properties"]  # DescribeModelPackage's answer
    assert (
        registered["CustomerMetadataProperties"][params.DATA_SNAPSHOT]
        == retrain["parameters"][params.DATA_SNAPSHOT]
    )
    whats = [entry["what"] for entry in summary["timeline"]]
    assert (
        whats[0]
        == f"running on {len(settings_module.PIPELINES)} pipelines and the CDK app synthesized before"
    )
    assert any("no_drift" in w for w in whats) and any("verdict: drift" in w for w in whats)
    assert any(SETTINGS.drift_alarm_name in w and "OK->ALARM" in w for w in whats)
    assert any("retrain-guard: started" in w for w in whats)
    assert any("new labelled data landed at " + SETTINGS.raw_data_uri in w for w in whats)
    assert any("(no cache hits): model version 2" in w for w in whats)
    (scored,) = [w for w in whats if "freshly drawn labelled rows of the drifted population" in w]
    old_rmse, new_rmse = (float(part.split()[-1]) for part in scored.split("RMSE ")[1].split(" -> "))
    assert new_rmse < old_rmse  # the retrained model predicts the drifted population better

    # IAM was enforced on every call against the templates' policies: nothing was denied, and every
    # grant the loop did not use has its reason written down (infra/iam_reasons.py).
    assert summary["denied_calls"] == []
    (iam,) = [w for w in whats if w.startswith("IAM: ")]
    assert iam.endswith(", 0 denied")
    assert_iam_report_clean(capsys, tmp_path / "runs", deployed_artifacts.cdk_out)

    baked = {
        parameter["Name"]: parameter.get("DefaultValue")
        for parameter in deployed_artifacts.definitions[SETTINGS.training_pipeline_name]["Parameters"]
    }[params.GIT_COMMIT]
    assert_lineage_of_the_retrained_model(capsys, tmp_path, retrain, baked)


def assert_lineage_of_the_retrained_model(capsys, out_dir: Path, retrain: dict, baked_commit: str) -> None:
    """As a user asks after the demo: the alarm that triggered it, the commit the pipelines were
    deployed from, the data version and the image digest."""
    code, out, _ = cli_run(capsys, "lineage", "2", "--demo-out", str(out_dir), "--json")
    assert code == 0
    traced = json.loads(out)
    assert traced["model"]["version"] == 2 and traced["deployments"][0]["endpoint"] == SETTINGS.endpoint_name
    assert f"alarm {SETTINGS.drift_alarm_name}" in traced["trigger"]["detail"]
    # The commit the artifacts were synthesized from (baked into GitCommit's default), a real one.
    commit = traced["code"]["git_commit"]
    assert commit == baked_commit and re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)
    subprocess.run(["git", "cat-file", "-e", commit.removesuffix("-dirty") + "^{commit}"], check=True)
    assert traced["code"]["processing_image_tag"] == settings_module.processing_image_tag()
    assert f"{SETTINGS.processing_image_uri}" in traced["code"]["images"]
    (data,) = traced["data"]["objects"]
    assert data["uri"] == SETTINGS.raw_data_uri and data["version_id"] not in ("", "null")
    assert (
        len(data["sha256"]) == 64
        and traced["data"]["snapshot"] == retrain["parameters"][params.DATA_SNAPSHOT]
    )
    first_data = json.loads((out_dir / "lineage" / "v1.json").read_text())["data"]["objects"][0]
    assert first_data["version_id"] != data["version_id"]  # new labelled data landed: a new version


@pytest.mark.slow
def test_demo_runs_an_ab_test_and_promotes_the_challenger(tmp_path, capsys, monkeypatch, deployed_artifacts):
    """``demo --new-model-as challenger``: the retrained model joins the champion at the challenger's
    weight, both variants answer drifted traffic and publish their own metrics, and the promote makes
    the retrained version the endpoint's only model. IAM still denies nothing (no new grant)."""
    run_demo = loop.run_demo

    def on_deployed_artifacts(settings, options, listener=None):
        assert settings.serving.new_model_as == "challenger"
        return run_demo(settings, dataclasses.replace(options, synthesized=deployed_artifacts), listener)

    monkeypatch.setattr(loop, "run_demo", on_deployed_artifacts)
    code, out, err = cli_run(
        capsys, "--env", "dev", "demo", "--port", "0", "--out", str(tmp_path), "--rows", "300",
        "--new-model-as", "challenger",
    )  # fmt: skip
    assert code == 0, err
    assert out.strip().splitlines()[-1].endswith("-> model version 2 registered and deployed")
    summary = json.loads((tmp_path / "timeline.json").read_text())
    whats = [entry["what"] for entry in summary["timeline"]]
    assert (
        "endpoint variants: AllTraffic = version 1 (weight 0.9), Challenger = version 2 (weight 0.1)" in whats
    )
    invocations = {
        w.split(" ")[0]: float(w.split(": ")[1].split(" invocations")[0])
        for w in whats
        if " invocations, " in w
    }
    assert invocations["AllTraffic"] > invocations["Challenger"] > 0
    (promoted,) = [w for w in whats if w.startswith("promoted ")]
    assert "-v2-" in promoted and promoted.endswith("to AllTraffic (updated)")
    assert any(w.startswith("endpoint swapped to model version 2") for w in whats)
    assert summary["denied_calls"] == []
