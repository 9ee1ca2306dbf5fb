"""Every taggable resource carries the settings' tags; outputs name what the CLI and CI need."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from tests.infra.conftest import CONCERNS, Synthesized


def _tags(rendered: dict[str, Any]) -> dict[str, str]:
    tags = rendered.get("Properties", {}).get("Tags", {})
    return {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags)


def test_every_taggable_resource_has_the_project_tags(synthesized: Synthesized) -> None:
    checked = set()
    for concern in CONCERNS:
        stack = getattr(synthesized.stacks, concern)
        resources = synthesized.templates[concern]["Resources"]
        for construct in stack.node.find_all():
            taggable = cdk.TagManager.is_taggable(construct) or cdk.TagManager.is_taggable_v2(construct)
            if isinstance(construct, cdk.CfnResource) and taggable:
                logical_id = stack.resolve(stack.get_logical_id(construct))
                rendered = resources[logical_id]
                assert _tags(rendered).items() >= synthesized.settings.tags.items(), f"{concern}/{logical_id}"
                checked.add(rendered["Type"])
    assert {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::ECR::Repository",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::SageMaker::Pipeline",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::CloudWatch::Alarm",
    } <= checked


def test_outputs_name_what_the_cli_and_ci_need(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    outputs = {
        key: value["Value"]
        for template in synthesized.templates.values()
        for key, value in template.get("Outputs", {}).items()
    }
    assert outputs["ModelPackageGroupName"] == settings.model_package_group
    assert outputs["TrainingPipelineName"] == settings.training_pipeline_name
    assert outputs["MonitoringPipelineName"] == settings.monitoring_pipeline_name
    for key in (
        "DataBucketName",
        "ArtifactsBucketName",
        "CaptureBucketName",
        "ReportsBucketName",
        "ProcessingRepositoryUri",
        "DeployFunctionName",
        "RetrainGuardFunctionName",
        "NotificationTopicArn",
        "PipelineRoleArn",
        "JobRoleArn",
        "ModelRoleArn",
        "DriftAlarmName",
    ):
        assert key in outputs


def test_pipelines_embed_exactly_the_synthesized_definitions(synthesized: Synthesized) -> None:
    rendered = synthesized.definitions
    assert set(rendered) == set(synthesized.settings.pipeline_names)
    pipelines = synthesized.resources("pipelines", "AWS::SageMaker::Pipeline").values()
    embedded = {
        p["Properties"]["PipelineName"]: p["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
        for p in pipelines
    }
    assert embedded == rendered
    for pipeline in pipelines:
        assert pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0].startswith("PipelineRole")
    (group,) = synthesized.resources("pipelines", "AWS::SageMaker::ModelPackageGroup").values()
    assert group["Properties"]["ModelPackageGroupName"] == synthesized.settings.model_package_group
