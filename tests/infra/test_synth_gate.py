"""The gate: `python app.py` exactly as `make synth` runs it, with CDK's built-in validation ON.

Everything else in tests/infra synthesizes once with that validation off (it costs 10+ s per
synth); this test runs the real entry point in a subprocess with it on (cdk-nag too), and checks
that its templates equal the session's (synthesis is deterministic and offline).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from pipelines.settings import REPO_ROOT
from tests.infra.conftest import CONCERNS, Synthesized


def _without_definition_bodies(template: dict) -> dict:
    """A copy without pipeline bodies: they embed the image's content digest, which moves whenever
    processing_scripts/ is edited; test_tags_and_outputs checks them against render_pipelines()."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SageMaker::Pipeline":
            resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"] = "<checked elsewhere>"
    return template


@pytest.mark.slow
def test_app_py_synthesizes_with_validation_and_matches_the_session_synth(
    synthesized: Synthesized, tmp_path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for concern in CONCERNS:
        name = getattr(synthesized.stacks, concern).template_file
        ours = json.loads((tmp_path / "cdk.out" / name).read_text())
        assert _without_definition_bodies(ours) == _without_definition_bodies(
            synthesized.templates[concern]
        ), concern
