"""The three-account topology the stage tests share: build, staging and prod accounts, the settings
with both stages, and a running local cloud the CLI talks to as a user's shell would."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from localcloud.clock import utc_now
from localcloud.cloud import LocalCloud, Synthesized
from pipelines import settings as settings_module
from pipelines.settings import STAGES_ENV, Stage, format_stages
from processing_scripts.aws_clients import ENDPOINT_ENV

BUILD, STAGING, PROD = "123456789012", "111111111111", "222222222222"
STAGES = (Stage("staging", STAGING, "us-east-1"), Stage("prod", PROD, "us-east-1"))
SETTINGS = dataclasses.replace(settings_module.load("dev", account=BUILD), stages=STAGES)


@contextmanager
def running_with_stages(
    synthesized: Synthesized,
    runs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Callable[[], datetime] = utc_now,
) -> Iterator[LocalCloud]:
    """The local cloud on ``synthesized``, with the shell of a user of it: the stages configured, the
    emulator's endpoint, the administrator's keys."""
    with LocalCloud(
        SETTINGS, synthesized.definitions, cdk_out=synthesized.cdk_out, runs_dir=runs_dir, clock=clock
    ) as running:
        monkeypatch.setenv(STAGES_ENV, format_stages(STAGES))
        monkeypatch.setenv(ENDPOINT_ENV, running.aws.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield running
