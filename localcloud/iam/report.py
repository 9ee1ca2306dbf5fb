"""Calls seen against grants made: per role, what was denied and what was granted but never used.

A grant is one action of one identity-policy statement. It is *used* when an allowed call was
allowed by that statement for that action. An unused grant is over-broad unless ``reasons`` says
why the role needs it anyway (prod-only paths, AWS-side work the local cloud does not do); the
reasons live next to the grants, in ``infra/iam.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from localcloud.iam.calls import Call
from localcloud.iam.conditions import wildcard_match
from localcloud.iam.store import PolicyStore


@dataclass(frozen=True)
class UnusedGrant:
    statement: str  # the statement's label: template, policy, index
    action: str
    resources: tuple[str, ...]
    reason: str  # "" when no reason is written down: over-broad


@dataclass
class RoleReport:
    role: str
    calls: int = 0  # allowed calls seen (counting repeats)
    denied: list[tuple[Call, int]] = field(default_factory=list)
    unused: list[UnusedGrant] = field(default_factory=list)
    aws_managed: list[str] = field(default_factory=list)  # not in the templates: not evaluated locally

    @property
    def unexplained(self) -> list[UnusedGrant]:
        return [grant for grant in self.unused if not grant.reason]


def build(
    store: PolicyStore,
    calls: Iterable[tuple[Call, int]],
    reasons: Mapping[str, str],
    role_reasons: Mapping[str, str] | None = None,
) -> list[RoleReport]:
    """One report per role of the store (and per other principal seen), sorted by name.

    ``role_reasons`` (role ARN -> why) explains every unused grant of a role the run could not
    exercise fully (a deployment stage's role, whose SageMaker-side calls the local cloud does not make)."""
    reports = {
        role: RoleReport(role, aws_managed=list(store.aws_managed.get(role, []))) for role in store.roles
    }
    used: set[tuple[str, str]] = set()  # (statement label, action)
    for call, count in calls:
        report = reports.setdefault(call.principal, RoleReport(call.principal))
        if call.allowed:
            report.calls += count
            used.update((grant, call.action.lower()) for grant in call.grants)
        else:
            report.denied.append((call, count))
    for role, statements in store.identity.items():
        for statement in statements:
            if statement.effect != "Allow" or statement.actions_negated:
                continue
            for action in statement.actions:
                if any(
                    label == statement.grant.label and wildcard_match(action, a, ignore_case=True)
                    for label, a in used
                ):
                    continue
                reason = (role_reasons or {}).get(role) or _reason(reasons, action, statement.resources)
                reports[role].unused.append(
                    UnusedGrant(statement.grant.label, action, statement.resources, reason)
                )
    return [reports[name] for name in sorted(reports)]


def _reason(reasons: Mapping[str, str], action: str, resources: tuple[str, ...]) -> str:
    """The reason keyed ``"<action> <resource pattern>"`` for one of the grant's resources, else ``action``'s."""
    for key, reason in reasons.items():
        granted, _, pattern = key.partition(" ")
        if (
            granted.lower() == action.lower()
            and pattern
            and any(wildcard_match(pattern, r) for r in resources)
        ):
            return reason
    return next((reason for key, reason in reasons.items() if key.lower() == action.lower()), "")


def grouped_unused(report: RoleReport) -> dict[str, list[UnusedGrant]]:
    """Unused grants by statement, for printing."""
    groups: dict[str, list[UnusedGrant]] = defaultdict(list)
    for grant in report.unused:
        groups[grant.statement].append(grant)
    return dict(groups)
