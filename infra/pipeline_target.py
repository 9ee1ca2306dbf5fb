"""An EventBridge rule target that starts a SageMaker pipeline directly.

CDK has no such target (aws/aws-cdk#14887), and ``aws_scheduler_targets`` needs an ``IPipeline``,
which ``CfnPipeline`` is not. CloudFormation supports it: a target with the pipeline's ARN, a role
allowed to call ``sagemaker:StartPipelineExecution`` and ``SageMakerPipelineParameters``. The role,
ARN, dead-letter queue and retry policy go through the normal target config; the parameters, which
``RuleTargetConfig`` cannot carry, are written as a property override on this target's index.

Use it only where starting the pipeline unconditionally is right (the monitoring schedule). Retraining
triggers go through the retrain guard instead (see infra/lambdas/retrain_guard.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from infra.failure_queue import allow_rule_to_dead_letter, retry_policy
from infra.iam import grant, start_pipelines

# Rule.addTarget binds target N with the id "Target<N>"; the override needs that index.
_TARGET_ID = re.compile(r"^Target(\d+)$")


@jsii.implements(events.IRuleTarget)
class SageMakerPipelineTarget:
    """Start ``pipeline_arn`` with ``parameters`` (name -> value), assuming ``role``."""

    def __init__(
        self,
        pipeline_arn: str,
        role: iam.Role,
        dead_letter_queue: sqs.IQueue,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.pipeline_arn = pipeline_arn
        self.role = role
        self.dead_letter_queue = dead_letter_queue
        self.parameters = dict(parameters or {})

    @property
    def parameter_list(self) -> list[dict[str, str]]:
        """CloudFormation's PipelineParameterList, sorted by name so templates are stable."""
        return [{"Name": name, "Value": value} for name, value in sorted(self.parameters.items())]

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        match = _TARGET_ID.match(id or "")
        cfn_rule = rule.node.default_child
        if match is None or not isinstance(cfn_rule, events.CfnRule):
            raise ValueError(
                f"SageMakerPipelineTarget needs an events.Rule (got {type(rule).__name__}, target id {id!r})"
            )
        grant(self.role, [start_pipelines([self.pipeline_arn])])
        cfn_rule.add_property_override(
            f"Targets.{match.group(1)}.SageMakerPipelineParameters",
            {"PipelineParameterList": self.parameter_list},
        )
        allow_rule_to_dead_letter(self.dead_letter_queue, rule)
        return events.RuleTargetConfig(
            arn=self.pipeline_arn,
            role=self.role,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dead_letter_queue.queue_arn),
            retry_policy=retry_policy(),
        )
