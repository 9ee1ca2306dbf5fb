"""Synthesized definitions shared by the pipeline tests: each environment is rendered once per run.

Rendering imports the SageMaker SDK (seconds) and builds both pipelines (~2 s); the structure,
validation and golden tests all read the same text, as the CLI and the CDK stacks do.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pipelines import settings as settings_module
from pipelines.synth import render_pipelines


@functools.cache
def rendered(env: str) -> dict[str, str]:
    """Pipeline name -> canonical JSON for the environment's default settings."""
    return render_pipelines(settings_module.load(env))


def definition(env: str, kind: str) -> dict[str, Any]:
    """A fresh (mutable) copy of the ``training`` or ``monitoring`` definition."""
    return json.loads(rendered(env)[settings_module.load(env).pipeline_name(kind)])


def steps_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step, including those nested in condition branches."""
    found: dict[str, dict[str, Any]] = {}

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found[step["Name"]] = step
            if step["Type"] == "Condition":
                walk(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))

    walk(doc["Steps"])
    return found
