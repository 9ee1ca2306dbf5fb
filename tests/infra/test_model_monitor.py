"""The optional Model Monitor schedule: absent by default; with the flag on, wired to settings, nag- and lint-clean."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.iam import MODEL_MONITOR_METRIC_NAMESPACE
from pipelines import settings as project_settings
from pipelines.settings import JOB_ROLE, MODEL_MONITOR_SCHEDULE_ENV, SettingsError
from processing_scripts import s3_uri
from tests.infra.conftest import CONCERNS, Synthesized, as_list, statements

JOB_DEFINITION = "AWS::SageMaker::DataQualityJobDefinition"
SCHEDULE = "AWS::SageMaker::MonitoringSchedule"


@pytest.fixture(scope="module")
def flag_on(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """One extra synth (cdk-nag runs in it: an unacknowledged finding fails it) with the flag on."""
    from infra.app_builder import create_app

    base = synthesized.settings
    settings = dataclasses.replace(
        base, monitoring=dataclasses.replace(base.monitoring, model_monitor_schedule_enabled=True)
    )
    outdir = tmp_path_factory.mktemp("cdk.out.model-monitor")
    app, stacks = create_app(outdir=str(outdir), definitions=synthesized.definitions, settings=settings)
    assembly = app.synth()
    templates = {
        concern: assembly.get_stack_by_name(getattr(stacks, concern).stack_name).template
        for concern in CONCERNS
    }
    return Synthesized(settings, stacks, Path(outdir), templates, synthesized.definitions)


def only(synth: Synthesized, resource_type: str) -> dict[str, Any]:
    (resource,) = synth.resources("monitoring", resource_type).values()
    return resource["Properties"]


def key_import(value: Any) -> str:
    """The key ARN is a cross-stack import from the storage stack; the name of that export."""
    assert set(value) == {"Fn::ImportValue"}, value
    return value["Fn::ImportValue"]


def test_off_by_default_neither_resource_exists(synthesized: Synthesized) -> None:
    assert synthesized.settings.monitoring.model_monitor_schedule_enabled is False
    for concern in CONCERNS:
        assert synthesized.resources(concern, JOB_DEFINITION) == {}
        assert synthesized.resources(concern, SCHEDULE) == {}


def test_job_definition_uses_the_current_baseline_endpoint_image_and_role(flag_on: Synthesized) -> None:
    settings = flag_on.settings
    props = only(flag_on, JOB_DEFINITION)
    assert props["JobDefinitionName"] == f"{settings.monitoring_schedule_name}-job"
    assert props["EndpointName"] == settings.endpoint_name
    assert props["RoleArn"] == settings.role_arn(JOB_ROLE)
    app = props["DataQualityAppSpecification"]
    assert settings.region == "us-east-1"  # the published analyzer account for it, spelled independently
    assert app["ImageUri"] == "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    baseline = props["DataQualityBaselineConfig"]
    assert baseline["StatisticsResource"]["S3Uri"] == f"{settings.current_baseline_uri}/statistics.json"
    assert baseline["ConstraintsResource"]["S3Uri"] == f"{settings.current_baseline_uri}/constraints.json"
    endpoint_input = props["DataQualityJobInput"]["EndpointInput"]
    assert endpoint_input["EndpointName"] == settings.endpoint_name
    assert endpoint_input["LocalPath"] == "/opt/ml/processing/input/endpoint"
    output = props["DataQualityJobOutputConfig"]
    (monitoring_output,) = output["MonitoringOutputs"]
    assert monitoring_output["S3Output"]["S3Uri"] == f"{settings.reports_uri}/model-monitor"
    cluster = props["JobResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == settings.monitoring.instance_type
    key = key_import(output["KmsKeyId"])
    assert key_import(cluster["VolumeKmsKeyId"]) == key
    assert "DataKey" in key
    assert props["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True


def test_schedule_runs_the_job_definition_hourly_on_the_endpoint(flag_on: Synthesized) -> None:
    settings = flag_on.settings
    (schedule,) = flag_on.resources("monitoring", SCHEDULE).values()
    props = schedule["Properties"]
    assert props["MonitoringScheduleName"] == settings.monitoring_schedule_name
    assert props["EndpointName"] == settings.endpoint_name
    config = props["MonitoringScheduleConfig"]
    assert config["MonitoringJobDefinitionName"] == only(flag_on, JOB_DEFINITION)["JobDefinitionName"]
    assert config["MonitoringType"] == "DataQuality"
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    (job_definition_id,) = flag_on.resources("monitoring", JOB_DEFINITION)
    assert job_definition_id in schedule["DependsOn"]
    tags = {t["Key"]: t["Value"] for t in props["Tags"]}
    assert tags == settings.tags


def test_execution_role_may_publish_model_monitor_metrics_only_with_the_flag(
    synthesized: Synthesized, flag_on: Synthesized
) -> None:
    def namespaces(synth: Synthesized) -> set[str]:
        found: set[str] = set()
        for policy in synth.resources("pipelines", "AWS::IAM::Policy").values():
            for statement in statements(policy["Properties"]["PolicyDocument"]):
                found.update(
                    statement.get("Condition", {}).get("StringEquals", {}).get("cloudwatch:namespace", [])
                )
        return found

    assert MODEL_MONITOR_METRIC_NAMESPACE in namespaces(flag_on)
    assert MODEL_MONITOR_METRIC_NAMESPACE not in namespaces(synthesized)


@pytest.mark.parametrize("concern", ["monitoring", "pipelines"])
def test_flag_on_templates_are_cfn_lint_clean(flag_on: Synthesized, concern: str) -> None:
    template = flag_on.outdir / getattr(flag_on.stacks, concern).template_file
    matches = lint_file(template, config=ManualArgs(regions=[flag_on.settings.region]))
    assert [str(m) for m in matches] == []


def test_environment_variable_turns_the_schedule_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_MONITOR_SCHEDULE_ENV, "true")
    assert project_settings.load("dev").monitoring.model_monitor_schedule_enabled is True
    monkeypatch.setenv(MODEL_MONITOR_SCHEDULE_ENV, "yes please")
    with pytest.raises(SettingsError, match=MODEL_MONITOR_SCHEDULE_ENV):
        project_settings.load("dev")


def test_a_region_without_a_known_analyzer_image_is_a_clear_error() -> None:
    settings = project_settings.load("dev", region="xx-nowhere-1")
    with pytest.raises(SettingsError, match=r"xx-nowhere-1.*MODEL_MONITOR_ANALYZER_ACCOUNTS"):
        _ = settings.model_monitor_image_uri


def test_deploy_role_may_write_exactly_the_current_baseline_objects(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    current = "/".join(s3_uri.split(settings.current_baseline_uri))
    granted: dict[str, list[Any]] = {}
    for policy in synthesized.resources("serving", "AWS::IAM::Policy").values():
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            for action in ("s3:GetObject", "s3:PutObject"):
                if action == statement["Action"] or action in statement["Action"]:
                    granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    assert sorted(granted["s3:PutObject"]) == [
        f"arn:aws:s3:::{current}/constraints.json",
        f"arn:aws:s3:::{current}/statistics.json",
    ]
    assert granted["s3:GetObject"] == [
        f"arn:aws:s3:::{settings.pipeline_artifacts_uri.removeprefix('s3://')}/*"
    ]
