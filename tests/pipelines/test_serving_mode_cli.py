"""A serving mode the project does not have, or settings a mode cannot serve, stop the CLI with
one line and the usage exit code, before anything is synthesized or called."""

from __future__ import annotations

import pytest

from pipelines.cli.exit_codes import ExitCode
from pipelines.settings import MODEL_MONITOR_SCHEDULE_ENV, SERVING_MODE_ENV
from tests.pipelines.cli_runner import one_line_error, run


def test_an_unknown_serving_mode_names_the_variable_and_the_modes(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVING_MODE_ENV, "stream")
    code, _, err = run(capsys, "list")
    message, _ = one_line_error(err)
    assert code == ExitCode.USAGE
    assert message == "MLOPS_SERVING_MODE='stream' must be one of realtime, serverless, async, batch"


def test_batch_with_the_model_monitor_schedule_is_refused(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVING_MODE_ENV, "batch")
    monkeypatch.setenv(MODEL_MONITOR_SCHEDULE_ENV, "true")
    code, _, err = run(capsys, "list")
    message, _ = one_line_error(err)
    assert code == ExitCode.USAGE and "batch has no endpoint for the Model Monitor schedule" in message


def test_serverless_with_the_model_monitor_schedule_is_refused(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVING_MODE_ENV, "serverless")
    monkeypatch.setenv(MODEL_MONITOR_SCHEDULE_ENV, "true")
    code, _, err = run(capsys, "list")
    message, _ = one_line_error(err)
    assert code == ExitCode.USAGE and "serverless does not support Model Monitor" in message


def test_simulate_in_batch_mode_points_to_the_batch_demo(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVING_MODE_ENV, "batch")
    code, _, err = run(capsys, "simulate", "-s", "drift")
    message, _ = one_line_error(err)
    assert code != 0 and "serving.mode batch has none" in message


def test_an_ab_or_shadow_test_on_a_serverless_endpoint_is_refused() -> None:
    """A challenger or shadow is a second variant, which serverless endpoints cannot have."""
    from pipelines.settings import ServingConfig, SettingsError

    for new_model_as in ("challenger", "shadow"):
        with pytest.raises(SettingsError, match="a serverless endpoint cannot have"):
            ServingConfig(mode="serverless", new_model_as=new_model_as)
    assert ServingConfig(mode="realtime", new_model_as="shadow").new_model_as == "shadow"
