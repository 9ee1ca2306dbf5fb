"""The SageMaker pipelines themselves, their execution role and the model registry group.

The pipeline definitions are the exact text :func:`pipelines.synth.render_pipelines` returns (and
``write_pipelines`` writes to ``build/pipelines/*.json``): one function, so what ``cdk deploy``
creates and what the CLI upserts or the local executor runs cannot differ. The execution role has a
fixed name because that JSON is synthesized offline and carries the role's ARN.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra import iam
from pipelines.settings import Settings


class PipelineStack(cdk.Stack):
    """Execution role, model package group and one ``AWS::SageMaker::Pipeline`` per definition."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        definitions: Mapping[str, str],
        key_arn: str,
        repository_arn: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.execution_role = iam.project_role(
            self,
            settings,
            "sagemaker-execution",
            iam.SAGEMAKER,
            iam.sagemaker_execution(settings, key_arn, repository_arn),
        )
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=settings.model_package_group,
            model_package_group_description=f"{settings.project} models ({settings.env})",
        )
        cdk.CfnOutput(self, "ModelPackageGroupName", value=settings.model_package_group)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.execution_role.role_arn)
        self.pipelines: dict[str, sagemaker.CfnPipeline] = {}
        for name, body in sorted(definitions.items()):
            # Logical IDs from the short name, so adding a pipeline never replaces another.
            logical = name.removeprefix(f"{settings.prefix}-").title().replace("-", "")
            pipeline = sagemaker.CfnPipeline(
                self,
                f"{logical}Pipeline",
                pipeline_name=name,
                pipeline_description=f"{settings.project} ({settings.env}): synthesized by pipelines/synth.py",
                pipeline_definition={"PipelineDefinitionBody": body},
                role_arn=self.execution_role.role_arn,
            )
            # The role's policy must exist before SageMaker validates the pipeline against it.
            iam.depend_on_policy(pipeline, self.execution_role)
            self.pipelines[name] = pipeline
            cdk.CfnOutput(self, f"{logical}PipelineName", value=name)
