"""AWS's policy evaluation logic, within one account and across accounts.

The rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any applicable policy wins; otherwise a call is allowed when an identity policy
of the caller's role allows it or a resource policy allows the caller itself (same account: either
is enough). A resource policy naming the *account* (``arn:aws:iam::ACCOUNT:root``) grants nothing by
itself; it lets the account's IAM policies decide. KMS is stricter: a key is usable only when its key
policy allows the caller directly, or allows the account and an identity policy allows the caller
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html). A service principal
(``events.amazonaws.com``) has no identity policies: only resource policies can allow it.

Across accounts (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)
a role's call on a resource of another account needs BOTH halves: its identity policy must allow it
and the resource's policy must allow its account or itself; neither alone is enough, so a resource
without a resource policy cannot be shared across accounts at all.

One call authorizes against each of its resources (``sagemaker:CreateEndpoint`` against the endpoint
and its endpoint config); it is allowed only when every one is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from localcloud.iam.conditions import conditions_match
from localcloud.iam.policies import Grant, Statement
from localcloud.iam.store import PolicyStore


@dataclass(frozen=True)
class Principal:
    """Who calls: an assumed role (``role_arn``, ``session``) or an AWS service (``service``)."""

    role_arn: str | None = None
    session: str = "local"
    service: str | None = None

    @property
    def arn(self) -> str:
        """As AWS names the caller in an AccessDenied message."""
        if self.service is not None:
            return self.service
        assert self.role_arn is not None
        account = self.role_arn.split(":")[4]
        role = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{account}:assumed-role/{role}/{self.session}"

    @property
    def label(self) -> str:
        return self.role_arn or self.service or "?"

    @property
    def account(self) -> str | None:
        """The account of a role; None for a service (which acts in whichever account called it)."""
        return self.role_arn.split(":")[4] if self.role_arn else None

    def arns(self) -> tuple[str, ...]:
        """What a resource policy's ``Principal`` may name to mean this caller."""
        return (self.role_arn, self.arn) if self.role_arn else ()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    action: str
    resource: str
    reason: str  # "" when allowed; else AWS's "because ..." clause
    grants: tuple[Grant, ...] = ()  # the statements that allowed it

    def message(self, principal: Principal) -> str:
        """AWS's AccessDenied message."""
        return (
            f"User: {principal.arn} is not authorized to perform: {self.action} on resource: "
            f"{self.resource} because {self.reason}"
        )


# Actions AWS performs for any authenticated caller, whatever its policies say: "No permissions are
# required to perform this operation. If an administrator attaches a policy to your identity that
# explicitly denies access to the sts:GetCallerIdentity action, you can still perform this operation"
# (AWS STS API Reference, GetCallerIdentity).
NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})


def evaluate(
    store: PolicyStore, principal: Principal, action: str, resource: str, context: Mapping[str, Sequence[str]]
) -> Decision:
    """One action on one resource by one principal, with the request's context keys."""
    if action in NEEDS_NO_PERMISSION:
        return Decision(True, action, resource, "")
    identity = store.identity_covering(principal.role_arn, action) if principal.role_arn else []
    identity_hits = [
        s for s in identity if s.covers_resource(resource) and conditions_match(s.conditions, context)
    ]
    resource_hits = [s for s in store.resource_policy(resource) if s.applies(action, resource, context)]
    names_caller = [s for s in resource_hits if s.names_principal(principal.arns(), principal.service)]
    for where, hits in (
        ("an identity-based policy", identity_hits),
        ("a resource-based policy", names_caller),
    ):
        denies = [s for s in hits if s.effect == "Deny"]
        if denies:
            return Decision(
                False, action, resource, f"of an explicit deny in {where}", tuple(s.grant for s in denies)
            )
    identity_allows = [s for s in identity_hits if s.effect == "Allow"]
    resource_allows = [s for s in names_caller if s.effect == "Allow"]
    owner = store.owner(resource) or principal.account or store.account
    if principal.account is not None and principal.account != owner:
        refusal = (
            "the key policy does not allow" if resource in store.keys else "no resource-based policy allows"
        )
        return _cross_account(
            principal.account,
            action,
            resource,
            refusal=refusal,
            identity_allows=identity_allows,
            resource_hits=resource_hits,
            resource_allows=resource_allows,
        )
    if resource in store.keys:
        delegated = any(s.effect == "Allow" and s.names_account_of(owner) for s in resource_hits)
        if resource_allows or (delegated and identity_allows):
            return Decision(
                True, action, resource, "", tuple(s.grant for s in (*resource_allows, *identity_allows))
            )
        return Decision(False, action, resource, _kms_reason(delegated, action), ())
    if identity_allows or resource_allows:
        return Decision(
            True, action, resource, "", tuple(s.grant for s in (*identity_allows, *resource_allows))
        )
    if principal.service is not None:
        return Decision(False, action, resource, f"no resource-based policy allows the {action} action", ())
    return Decision(False, action, resource, f"no identity-based policy allows the {action} action", ())


def _cross_account(
    account: str,
    action: str,
    resource: str,
    *,
    refusal: str,
    identity_allows: Sequence[Statement],
    resource_hits: Sequence[Statement],
    resource_allows: Sequence[Statement],
) -> Decision:
    """Both the caller's identity policy and the resource's policy (naming the caller or its account)
    must allow a call into another account."""
    account_allows = [s for s in resource_hits if s.effect == "Allow" and s.names_account_of(account)]
    shared = [*resource_allows, *account_allows]
    if not shared:
        return Decision(
            False,
            action,
            resource,
            f"{refusal} the {action} action to account {account} (cross-account access needs the "
            "resource's policy to name the caller's account or role)",
        )
    if not identity_allows:
        return Decision(False, action, resource, f"no identity-based policy allows the {action} action")
    return Decision(True, action, resource, "", tuple(s.grant for s in (*identity_allows, *shared)))


def _kms_reason(delegated: bool, action: str) -> str:
    if delegated:
        return f"no identity-based policy allows the {action} action"
    return f"the key policy does not allow the {action} action"
