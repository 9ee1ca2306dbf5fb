"""The gate: `python app.py` exactly as `make synth` runs it, with CDK's built-in validation ON.

Everything else in tests/infra synthesizes in-process with that validation off (it costs 10+ s per
synth). The run's shared ``deployed_artifacts`` ran the real entry point in a subprocess with it on
(cdk-nag too); this checks that its templates equal the in-process ones (synthesis is deterministic
and offline), so what the stories and event tests run on is what the infra tests inspect.
"""

from __future__ import annotations

import copy
import json

from localcloud.cloud import Synthesized as Deployed
from tests.infra.conftest import CONCERNS, Synthesized


def _without_definition_bodies(template: dict) -> dict:
    """A copy without pipeline bodies: they embed the image's content digest, which moves whenever
    processing_scripts/ is edited; test_tags_and_outputs checks them against render_pipelines()."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SageMaker::Pipeline":
            resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"] = "<checked elsewhere>"
    return template


def test_app_py_synthesizes_with_validation_and_matches_the_session_synth(
    synthesized: Synthesized, deployed_artifacts: Deployed
) -> None:
    for concern in CONCERNS:
        name = getattr(synthesized.stacks, concern).template_file
        ours = json.loads((deployed_artifacts.cdk_out / name).read_text())
        assert _without_definition_bodies(ours) == _without_definition_bodies(
            synthesized.templates[concern]
        ), concern
