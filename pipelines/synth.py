"""Synthesis: every pipeline definition as canonical JSON, offline and byte-identical per input.

``render_pipelines`` is what the CLI's ``synth``/``upsert``/``diff``, the CDK stacks and the local
executor read, so they all see the same bytes. Canonical means sorted keys, two-space indent and a
trailing newline (:func:`canonical_json`), so a diff of two syntheses shows real
changes only.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.builders import build_pipeline
from pipelines.definition.identity import stamped
from pipelines.settings import PIPELINES, Settings

DEFAULT_OUT_DIR = Path("build/pipelines")


def canonical_json(definition: dict) -> str:
    """Sorted keys, indent 2, trailing newline: the one text form of a definition."""
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"


def render_pipelines(settings: Settings) -> dict[str, str]:
    """Pipeline name -> canonical JSON text of its definition, for these settings, in
    ``settings.PIPELINES`` order (each built by :mod:`pipelines.builders`).

    Imports the SageMaker SDK (seconds) only when called. Makes no network call.
    """
    from pipelines.sdk_session import offline_session, quiet_sdk

    rendered: dict[str, str] = {}
    with quiet_sdk():
        session = offline_session(settings)
        for short_name in PIPELINES:
            pipeline = build_pipeline(short_name, settings, session)
            definition = stamped(json.loads(pipeline.definition()), pipeline.name)
            rendered[pipeline.name] = canonical_json(definition)
    return rendered


def write_pipelines(settings: Settings, out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Write ``<out_dir>/<pipeline name>.json`` for every pipeline; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_pipelines(settings).items():
        path = out_dir / f"{name}.json"
        path.write_text(text)
        paths.append(path)
    return paths
