"""cdk-nag wiring: the AwsSolutions pack runs on every synth, and every exception is written down.

An acknowledgement is attached to the narrowest construct that needs it and always carries a reason,
so ``cdk synth`` failing on a new finding is the signal to either fix the resource or argue here.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: cdk.App) -> None:
    """Run AwsSolutions checks as a CDK validation plugin (unacknowledged findings fail synth)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Accept ``rule`` on ``construct``; with ``findings``, only those (e.g. ``Resource::arn:...*``)."""
    ids = [f"{rule}[{finding}]" for finding in findings] or [rule]
    for finding_id in ids:
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))
