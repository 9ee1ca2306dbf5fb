"""Synthesize the CDK app once per session and share it; CDK's own validation off here for speed.

CDK's built-in CloudFormation validation adds 10+ s per synth; it is switched off before aws_cdk is
imported and kept on in exactly one gate test (test_synth_gate.py), which runs ``python app.py``
the way ``make synth`` does. cdk-nag still runs in this synth: an unacknowledged finding fails it.
"""

from __future__ import annotations

import os

os.environ["CDK_VALIDATION"] = "false"

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.app_builder import ProjectStacks
from pipelines.settings import Settings

CONCERNS = ("storage", "pipelines", "serving", "monitoring")


@dataclass(frozen=True)
class Synthesized:
    settings: Settings
    stacks: ProjectStacks
    outdir: Path
    templates: dict[str, dict[str, Any]]  # concern -> template
    definitions: dict[str, str]  # what pipelines.synth.render_pipelines returned for this synth

    def resources(self, concern: str, resource_type: str) -> dict[str, dict[str, Any]]:
        resources = self.templates[concern]["Resources"]
        return {k: v for k, v in resources.items() if v["Type"] == resource_type}

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for concern, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                yield concern, logical_id, resource


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from infra.app_builder import create_app
    from pipelines import settings
    from pipelines.synth import render_pipelines

    outdir = tmp_path_factory.mktemp("cdk.out")
    definitions = render_pipelines(settings.load("dev"))
    app, stacks = create_app("dev", outdir=str(outdir), definitions=definitions)
    assembly = app.synth()
    templates = {
        concern: assembly.get_stack_by_name(getattr(stacks, concern).stack_name).template
        for concern in CONCERNS
    }
    return Synthesized(stacks.settings, stacks, outdir, templates, definitions)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy document a resource carries (identity, resource, key and trust policies)."""
    props = resource.get("Properties", {})
    documents = [
        props[key] for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument") if key in props
    ]
    documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
    return documents
