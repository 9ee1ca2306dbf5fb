"""Every cdk-nag wildcard acknowledgement names exactly one statement: its actions and its resource.

cdk-nag reports ``AwsSolutions-IAM5[Resource::<arn>]`` per policy, so an acknowledgement on a role
covered any statement the role would ever get with that resource; two ``Resource::*`` reasons on
one role were one finding. :func:`infra.iam.grant` gives each wildcard statement its own policy
and acknowledges it there; this test reads the acknowledgements from the cloud assembly's metadata
and finds, under each, exactly one statement with that resource.
"""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import CONCERNS, Synthesized, as_list, policy_documents, statements

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
LOGICAL_ID = "aws:cdk:logicalId"
WILDCARD_FINDING = "Annotation::AwsSolutions-IAM5[Resource::"


def _acknowledgements(synthesized: Synthesized, concern: str) -> list[tuple[str, str, str]]:
    """(construct path, acknowledged resource, reason) for every wildcard-resource acknowledgement."""
    found = []
    for path, entries in _metadata(synthesized, concern).items():
        for entry in entries:
            if entry["type"] == ACKNOWLEDGED:
                for finding, reason in entry["data"].items():
                    if finding.startswith(WILDCARD_FINDING):
                        found.append((path, finding.removeprefix(WILDCARD_FINDING).removesuffix("]"), reason))
    return found


def _metadata(synthesized: Synthesized, concern: str) -> dict[str, list[dict[str, Any]]]:
    stack = getattr(synthesized.stacks, concern)
    return json.loads((synthesized.outdir / f"{stack.artifact_id}.metadata.json").read_text())


def _resources_under(synthesized: Synthesized, concern: str, path: str) -> list[dict[str, Any]]:
    template = synthesized.templates[concern]["Resources"]
    return [
        template[entry["data"]]
        for resource_path, entries in _metadata(synthesized, concern).items()
        if resource_path.startswith(f"{path}/")
        for entry in entries
        if entry["type"] == LOGICAL_ID and entry["data"] in template
    ]


def test_each_wildcard_acknowledgement_covers_exactly_one_statement(synthesized: Synthesized) -> None:
    checked = 0
    for concern in CONCERNS:
        for path, resource, reason in _acknowledgements(synthesized, concern):
            owned = _resources_under(synthesized, concern, path)
            assert not [r for r in owned if r["Type"] == "AWS::IAM::Role"], f"{path}: on a whole role"
            matching = [
                statement
                for owner in owned
                for document in policy_documents(owner)
                for statement in statements(document)
                if resource in as_list(statement["Resource"])
            ]
            assert len(matching) == 1, f"{path} ({reason}): {resource} in {len(matching)} statements"
            checked += 1
    assert checked > 15  # the walk really saw the acknowledgements


def test_two_wildcard_statements_on_one_role_are_two_acknowledgements(synthesized: Synthesized) -> None:
    """The job role's two '*' statements (ECR token, PutMetricData) each carry their own reason."""
    star = [
        (path, reason)
        for path, resource, reason in _acknowledgements(synthesized, "pipelines")
        if resource == "*" and "/JobRole/" in path
    ]
    assert len(star) == 2 and len({path for path, _ in star}) == 2
