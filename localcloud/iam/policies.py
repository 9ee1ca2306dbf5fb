"""Policy statements, parsed once into a shape that evaluates in microseconds.

A :class:`Statement` remembers where it came from (template, resource, statement index, Sid) so a
report can name the grant a call used, or the grant nobody used.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.iam.conditions import Context, conditions_match, wildcard_pattern

ANY = "*"


class PolicyError(ValueError):
    """A policy document the evaluator cannot read; the message names where it is."""


@dataclass(frozen=True)
class Grant:
    """Where a statement is: the policy resource and the statement's index and Sid."""

    where: str  # e.g. "Serving.template.json: DeployDeployFunctionRoleDefaultPolicy53E54054"
    index: int
    sid: str = ""

    @property
    def label(self) -> str:
        return f"{self.where} Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{where}: expected strings, got {value!r} (an intrinsic not resolved?)")
    return tuple(items)


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...]
    actions_negated: bool
    resources: tuple[str, ...]
    resources_negated: bool
    # Resource policies only: principal type (AWS, Service, ...) -> ARNs/names; None in identity policies.
    principals: Mapping[str, tuple[str, ...]] | None
    conditions: Mapping[str, Mapping[str, Any]]
    grant: Grant

    @classmethod
    def parse(cls, raw: Mapping[str, Any], grant: Grant, resource_default: tuple[str, ...] = ()) -> Statement:
        where = grant.label
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny, got {effect!r}")
        actions_negated = "NotAction" in raw
        actions = _strings(raw.get("NotAction" if actions_negated else "Action", []), where)
        resources_negated = "NotResource" in raw
        if "Resource" in raw or resources_negated:
            resources = _strings(raw.get("NotResource" if resources_negated else "Resource"), where)
        else:
            resources = resource_default  # a Lambda permission or a key policy names its resource implicitly
        principals: dict[str, tuple[str, ...]] | None = None
        if "Principal" in raw:
            principal = raw["Principal"]
            principals = (
                {"AWS": (ANY,)}
                if principal == ANY
                else {kind: _strings(value, where) for kind, value in principal.items()}
            )
        return cls(
            effect=effect,
            actions=actions,
            actions_negated=actions_negated,
            resources=resources,
            resources_negated=resources_negated,
            principals=principals,
            conditions=raw.get("Condition") or {},
            grant=grant,
        )

    @functools.cached_property
    def _action_pattern(self) -> re.Pattern[str]:
        return wildcard_pattern(self.actions, ignore_case=True)

    @functools.cached_property
    def _resource_pattern(self) -> re.Pattern[str]:
        return wildcard_pattern(self.resources, ignore_case=False)

    def covers_action(self, action: str) -> bool:
        return (self._action_pattern.match(action) is not None) != self.actions_negated

    def covers_resource(self, resource: str) -> bool:
        return (self._resource_pattern.match(resource) is not None) != self.resources_negated

    def names_principal(self, principal_arns: tuple[str, ...], service: str | None) -> bool:
        """For a resource policy: does ``Principal`` name the caller itself (not its account)?"""
        if self.principals is None:
            return False
        named = self.principals.get("AWS", ())
        if ANY in named:
            return True
        if service is not None:
            return service in self.principals.get("Service", ())
        return any(arn in named for arn in principal_arns)

    def names_account_of(self, account: str) -> bool:
        """A resource policy statement naming the account (root) delegates to the account's IAM."""
        named = self.principals.get("AWS", ()) if self.principals else ()
        return any(p in (account, f"arn:aws:iam::{account}:root") for p in named)

    def applies(self, action: str, resource: str, context: Context) -> bool:
        return (
            self.covers_action(action)
            and self.covers_resource(resource)
            and conditions_match(self.conditions, context)
        )


def parse_document(
    document: Any, where: str, *, resource_default: tuple[str, ...] = ()
) -> tuple[Statement, ...]:
    """Every statement of one policy document (``Statement`` may be one object or a list)."""
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise PolicyError(f"{where}: not a policy document (no Statement)")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    return tuple(
        Statement.parse(item, Grant(where, index, str(item.get("Sid", ""))), resource_default)
        for index, item in enumerate(items)
    )
