"""The SageMaker pipelines themselves, their execution role and the model registry group.

The pipeline definitions are the exact text :func:`pipelines.synth.render_pipelines` returns (and
``write_pipelines`` writes to ``build/pipelines/*.json``): one function, so what ``cdk deploy``
creates and what the CLI upserts or the local executor runs cannot differ. The roles have fixed
names because that JSON is synthesized offline and carries their ARNs (the job role on each job,
the model role on the registered model); the deploy function passes the model role.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra import cross_account, iam
from pipelines.settings import JOB_ROLE, MODEL_ROLE, PIPELINE_ROLE, Settings


class PipelineStack(cdk.Stack):
    """The SageMaker roles (pipeline, job, model), the model package group and one
    ``AWS::SageMaker::Pipeline`` per definition."""

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
        self.pipeline_role = iam.project_role(
            self, settings, PIPELINE_ROLE, iam.SAGEMAKER, iam.pipeline_role(settings, key_arn)
        )
        self.job_role = iam.project_role(
            self, settings, JOB_ROLE, iam.SAGEMAKER, iam.job_role(settings, key_arn, repository_arn)
        )
        self.model_role = iam.project_role(
            self, settings, MODEL_ROLE, iam.SAGEMAKER, iam.model_role(settings, key_arn)
        )
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=settings.model_package_group,
            model_package_group_description=f"{settings.project} models ({settings.env})",
            # CloudFormation sets the group's resource policy itself (PutModelPackageGroupPolicy):
            # the deployment stages' accounts describe its versions. None in a single account.
            model_package_group_policy=cross_account.registry_policy(settings),
        )
        cdk.CfnOutput(self, "ModelPackageGroupName", value=settings.model_package_group)
        for role in (self.pipeline_role, self.job_role, self.model_role):
            cdk.CfnOutput(self, f"{role.node.id}Arn", value=role.role_arn)
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
                role_arn=self.pipeline_role.role_arn,
            )
            # The role's policy must exist before SageMaker validates the pipeline against it.
            iam.depend_on_policy(pipeline, self.pipeline_role)
            self.pipelines[name] = pipeline
            cdk.CfnOutput(self, f"{logical}PipelineName", value=name)
