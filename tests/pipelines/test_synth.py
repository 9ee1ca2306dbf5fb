"""Synthesis: canonical, byte-identical, offline, and pinned by golden files.

Golden files (tests/golden/<pipeline>.json) are the reviewed definitions. After an intended
change run ``make golden`` (UPDATE_GOLDEN=1) and review ``git diff tests/golden``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipelines import builders
from pipelines import settings as settings_module
from pipelines.definition.identity import synthesized_for
from pipelines.synth import canonical_json, render_pipelines, write_pipelines
from tests.pipelines.synthesized import rendered

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
IMAGE_TAG = re.compile(r"sha-[0-9a-f]{16}")


@pytest.mark.parametrize("env", settings_module.ENVIRONMENTS)
def test_renders_every_pipeline_as_canonical_json(env):
    settings = settings_module.load(env)
    texts = rendered(env)
    assert list(texts) == list(settings.pipeline_names)
    for text in texts.values():
        assert text == canonical_json(json.loads(text))
        assert text.endswith("}\n") and text.startswith('{\n  "')


@pytest.mark.parametrize("short_name", settings_module.PIPELINES)
def test_every_short_name_has_a_builder(short_name):
    assert callable(builders.builder_of(short_name))


def test_a_short_name_without_a_builder_module_says_what_to_write(monkeypatch):
    monkeypatch.setattr(builders, "PIPELINES", (*settings_module.PIPELINES, "scoring"))
    with pytest.raises(
        builders.BuilderError,
        match=r"define build_scoring_pipeline\(settings, session\) in pipelines/scoring.py",
    ):
        builders.builder_of("scoring")
    with pytest.raises(builders.BuilderError, match="unknown pipeline 'scoring2'"):
        builders.builder_of("scoring2")


def test_a_builder_must_name_its_pipeline_as_settings_do(monkeypatch):
    from pipelines import monitoring

    monkeypatch.setattr(
        monitoring, "build_monitoring_pipeline", lambda settings, session: SimpleNamespace(name="x")
    )
    with pytest.raises(builders.BuilderError, match=r"settings\.pipeline_name\('monitoring'\)"):
        builders.build_pipeline("monitoring", settings_module.load("dev"), None)


def test_two_syntheses_are_byte_identical(monkeypatch):
    # Pin the image tag: colleagues editing processing_scripts/ mid-run would change it between
    # the two renders; the tag itself is settings' concern and is pinned by the golden files.
    monkeypatch.setattr(settings_module, "processing_image_tag", lambda root=None: "sha-0000000000000000")
    settings = settings_module.load("prod")
    assert render_pipelines(settings) == render_pipelines(settings)


def test_write_pipelines_writes_one_file_per_pipeline(tmp_path):
    settings = settings_module.load("dev")
    paths = write_pipelines(settings, tmp_path / "out")
    assert [p.name for p in paths] == [f"{name}.json" for name in settings.pipeline_names]
    for path in paths:
        assert IMAGE_TAG.sub("", path.read_text()) == IMAGE_TAG.sub("", rendered("dev")[path.stem])


def test_synthesis_makes_no_network_call(monkeypatch):
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args))
        raise OSError("network access during synthesis")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for env in settings_module.ENVIRONMENTS:  # dev trains, prod tunes: both code paths
        render_pipelines(settings_module.load(env))
    for thread in threading.enumerate():  # the SDK sends telemetry from background threads
        if thread is not threading.current_thread() and thread.name.startswith("sagemaker"):
            thread.join(timeout=10)
    assert attempts == []


@pytest.mark.parametrize("env", settings_module.ENVIRONMENTS)
def test_golden_definitions(env):
    """Compare with tests/golden exactly; UPDATE_GOLDEN=1 (``make golden``) rewrites them."""
    stale = []
    for name, text in rendered(env).items():
        golden = GOLDEN_DIR / f"{name}.json"
        if os.environ.get("UPDATE_GOLDEN") == "1":
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        elif not golden.exists() or golden.read_text() != text:
            stale.append(_explain(golden, text))
    assert not stale, "\n\n".join(stale)


def _explain(golden: Path, text: str) -> str:
    if not golden.exists():
        return f"{golden} is missing. Run `make golden`, review and commit it."
    old = golden.read_text()
    diff = list(
        difflib.unified_diff(old.splitlines(), text.splitlines(), str(golden), "synthesized", lineterm="")
    )
    changed = [line for line in diff[2:] if line[:1] in "+-"]
    only_tag = all(IMAGE_TAG.search(line) for line in changed) and IMAGE_TAG.sub("", old) == IMAGE_TAG.sub(
        "", text
    )
    cause = (
        "Only the processing image tag changed: processing_scripts/ or the Dockerfile was edited, "
        "so the pipeline now runs a new image."
        if only_tag
        else "The pipeline definition changed."
    )
    shown = "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else "")
    return (
        f"{golden.name} differs from the synthesized definition. {cause}\n"
        "If the change is intended, run `make golden` and review `git diff tests/golden` before committing.\n"
        f"{shown}"
    )


def test_each_definition_names_the_pipeline_it_was_synthesized_for():
    """upsert refuses a definition under another pipeline's name by this mark (Metadata)."""
    for env in ("dev", "prod"):
        for name, text in rendered(env).items():
            assert synthesized_for(json.loads(text)) == name
