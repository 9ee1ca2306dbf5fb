"""The multi-account topology synthesized: a stage stack per deployment account, and the build
account's resource policies naming exactly those accounts, each narrowed to one stage role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app_builder import ProjectStacks
from pipelines import settings as project_settings
from pipelines.settings import Settings, Stage
from tests.infra.conftest import statements

pytestmark = pytest.mark.slow  # one more synth of the whole app (~15 s)

STAGING = Stage("staging", "111111111111", "us-east-1")
PROD = Stage("prod", "222222222222", "us-east-1")


@dataclasses.dataclass(frozen=True)
class MultiAccount:
    settings: Settings
    stacks: ProjectStacks
    outdir: Path

    def template_path(self, stack: Any) -> Path:
        """Where a stack's template is: a stage's stacks are in its nested assembly."""
        return Path(cdk.Stage.of(stack).outdir) / stack.template_file

    def template(self, stack: Any) -> dict[str, Any]:
        return json.loads(self.template_path(stack).read_text())

    def resources(self, stack: Any, resource_type: str) -> list[dict[str, Any]]:
        found = self.template(stack)["Resources"].values()
        return [r["Properties"] for r in found if r["Type"] == resource_type]


@pytest.fixture(scope="module")
def multi_account(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    from infra.app_builder import create_app

    settings = dataclasses.replace(project_settings.load("dev"), stages=(STAGING, PROD))
    outdir = tmp_path_factory.mktemp("cdk.out.stages")
    app, stacks = create_app("dev", outdir=str(outdir), settings=settings)
    app.synth()
    return MultiAccount(settings, stacks, outdir)


def _principal_accounts(statement: dict[str, Any]) -> str:
    joined = statement["Principal"]["AWS"]["Fn::Join"][1][-1]
    return str(joined).removeprefix(":iam::").removesuffix(":root")


def test_one_stage_stack_per_stage_in_its_own_account(multi_account: MultiAccount) -> None:
    stages = multi_account.stacks.stages
    assert [(s.node.path, s.stack_name, s.account, s.region) for s in stages] == [
        ("Staging/Roles", "abalone-mlops-dev-staging", STAGING.account, STAGING.region),
        ("Prod/Roles", "abalone-mlops-dev-prod", PROD.account, PROD.region),
    ]
    roles = sorted(r["RoleName"] for r in multi_account.resources(stages[1], "AWS::IAM::Role"))
    assert roles == [
        "abalone-mlops-dev-prod-deploy-us-east-1",
        "abalone-mlops-dev-prod-events-us-east-1",
        "abalone-mlops-dev-prod-model-us-east-1",
    ]
    expected = [{"Key": key, "Value": value} for key, value in sorted(multi_account.settings.tags.items())]
    for role in multi_account.resources(stages[1], "AWS::IAM::Role"):
        assert (
            sorted(role["Tags"], key=lambda tag: tag["Key"]) == expected
        )  # the app's tags cross into stages


def test_the_stage_deploy_role_trusts_only_the_build_accounts_deploy_function(
    multi_account: MultiAccount,
) -> None:
    settings = multi_account.settings
    roles = multi_account.resources(multi_account.stacks.stages[1], "AWS::IAM::Role")
    deploy = next(r for r in roles if r["RoleName"].endswith("-deploy-us-east-1"))
    (trust,) = statements(deploy["AssumeRolePolicyDocument"])
    assert _principal_accounts(trust) == settings.account
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": settings.role_arn("deploy-function")}}


@pytest.mark.parametrize(
    ("stack", "resource_type", "document", "sid"),
    [
        (
            "pipelines",
            "AWS::SageMaker::ModelPackageGroup",
            "ModelPackageGroupPolicy",
            "DescribesModelPackages",
        ),
        ("storage", "AWS::S3::BucketPolicy", "PolicyDocument", "ReadsModelArtifacts"),
        ("storage", "AWS::KMS::Key", "KeyPolicy", "DecryptsModelArtifacts"),
    ],
)
def test_each_shared_resource_names_each_stage_account_narrowed_to_one_role(
    multi_account: MultiAccount, stack: str, resource_type: str, document: str, sid: str
) -> None:
    settings = multi_account.settings
    found = [
        statement
        for properties in multi_account.resources(getattr(multi_account.stacks, stack), resource_type)
        for statement in statements(properties.get(document, {}))
        if statement.get("Sid", "").endswith(sid)
    ]
    role = "deploy" if sid == "DescribesModelPackages" else "model"
    assert [(s["Sid"], _principal_accounts(s), s["Condition"]["ArnEquals"]) for s in found] == [
        (
            f"{stage.name.title()}Account{sid}",
            stage.account,
            {"aws:PrincipalArn": settings.stage_role_arn(stage, role)},
        )
        for stage in (STAGING, PROD)
    ]


def test_the_build_deploy_function_may_assume_each_stage_deploy_role(multi_account: MultiAccount) -> None:
    settings = multi_account.settings
    assumed = [
        statement["Resource"]
        for policy in multi_account.resources(multi_account.stacks.serving, "AWS::IAM::Policy")
        for statement in statements(policy["PolicyDocument"])
        if statement["Action"] == "sts:AssumeRole"
    ]
    assert assumed == [[settings.stage_role_arn(stage, "deploy") for stage in (STAGING, PROD)]]


def test_an_approved_version_is_also_sent_to_the_first_stage(multi_account: MultiAccount) -> None:
    rule = next(
        r
        for r in multi_account.resources(multi_account.stacks.serving, "AWS::Events::Rule")
        if r["Name"] == f"{multi_account.settings.prefix}-package-approved"
    )
    transformers = [t["InputTransformer"] for t in rule["Targets"] if "InputTransformer" in t]
    assert [t["InputPathsMap"] for t in transformers] == [
        {"detail-ModelPackageArn": "$.detail.ModelPackageArn"}
    ]
    assert json.loads(transformers[0]["InputTemplate"].replace("<detail-ModelPackageArn>", '"ARN"')) == {
        "model_package_arn": "ARN",
        "stage": "staging",
    }
    assert len(rule["Targets"]) == 2  # the build endpoint's deployment, unchanged, and staging's


@pytest.mark.parametrize("concern", ["storage", "pipelines", "serving", "monitoring", "staging", "prod"])
def test_the_multi_account_templates_are_cfn_lint_clean(multi_account: MultiAccount, concern: str) -> None:
    stacks = multi_account.stacks
    stack = getattr(stacks, concern, None) or next(s for s in stacks.stages if s.stack_name.endswith(concern))
    matches = lint_file(multi_account.template_path(stack), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_each_stage_alarms_on_its_endpoint_and_forwards_to_the_build_bus_as_a_put_events_only_role(
    multi_account: MultiAccount,
) -> None:
    settings = multi_account.settings
    build = {
        a["AlarmName"]: a
        for a in multi_account.resources(multi_account.stacks.monitoring, "AWS::CloudWatch::Alarm")
    }
    for stage, stack in zip((STAGING, PROD), multi_account.stacks.stages, strict=True):
        alarms = {a["AlarmName"]: a for a in multi_account.resources(stack, "AWS::CloudWatch::Alarm")}
        assert sorted(alarms) == sorted(settings.stage_endpoint_alarm_names(stage).values())
        for purpose, name in settings.stage_endpoint_alarm_names(stage).items():
            # The build endpoint's definition, on the stage's endpoint, with no action of its own.
            mine, theirs = alarms[name], build[settings.endpoint_alarm_names[purpose]]
            unlike = {"AlarmName", "AlarmDescription", "AlarmActions", "Tags"}
            as_stage = json.dumps({k: v for k, v in theirs.items() if k not in unlike}).replace(
                settings.endpoint_name, settings.stage_endpoint_name(stage)
            )
            assert json.dumps({k: v for k, v in mine.items() if k not in unlike}) == as_stage
            assert "AlarmActions" not in mine
        (rule,) = multi_account.resources(stack, "AWS::Events::Rule")
        assert rule["EventPattern"]["account"] == [stage.account]
        (target,) = rule["Targets"]
        assert (
            target["Arn"]
            == settings.event_bus_arn
            == "arn:aws:events:us-east-1:123456789012:event-bus/default"
        )
        role = next(
            r
            for r in multi_account.resources(stack, "AWS::IAM::Role")
            if r["RoleName"].endswith("-events-us-east-1")
        )
        assert statements(role["AssumeRolePolicyDocument"])[0]["Principal"] == {
            "Service": "events.amazonaws.com"
        }
        granted = [
            (s["Action"], s["Resource"])
            for policy in multi_account.resources(stack, "AWS::IAM::Policy")
            if "EndpointEventsForwardRole" in json.dumps(policy["Roles"])
            for s in statements(policy["PolicyDocument"])
        ]
        assert granted == [("events:PutEvents", settings.event_bus_arn)]


def test_the_build_bus_accepts_each_stage_account_and_notifies_its_endpoint_events(
    multi_account: MultiAccount,
) -> None:
    settings = multi_account.settings
    monitoring = multi_account.stacks.monitoring
    policies = multi_account.resources(monitoring, "AWS::Events::EventBusPolicy")
    assert [(p["StatementId"], p["Statement"]["Principal"]["AWS"]) for p in policies] == [
        ("StagingAccountSendsEndpointEvents", "arn:aws:iam::111111111111:root"),
        ("ProdAccountSendsEndpointEvents", "arn:aws:iam::222222222222:root"),
    ]
    (rule,) = [
        r
        for r in multi_account.resources(monitoring, "AWS::Events::Rule")
        if r["Name"] == settings.stage_events_rule_name
    ]
    assert rule["EventPattern"]["account"] == [STAGING.account, PROD.account]
    assert [t["Arn"] for t in rule["Targets"]] == [settings.sns_topic_arn]
    (topic_policy,) = multi_account.resources(monitoring, "AWS::SNS::TopicPolicy")
    assert "StageEventsPublish" in [s["Sid"] for s in statements(topic_policy["PolicyDocument"])]


def test_a_stage_in_the_build_account_is_not_named_by_the_bus_policy() -> None:
    """Its endpoint's events are on the build bus already: no forwarding rule, no policy statement."""
    from aws_cdk.assertions import Template

    from infra.monitoring import MonitoringStack
    from infra.stage import StageStack

    base = project_settings.load("dev")
    settings = dataclasses.replace(base, stages=(Stage("staging", base.account, base.region), PROD))
    app = cdk.App()
    env = cdk.Environment(account=settings.account, region=settings.region)
    queue_stack = cdk.Stack(app, "Queues", env=env)
    from aws_cdk import aws_sqs as sqs

    monitoring = MonitoringStack(
        app,
        "M",
        settings=settings,
        deploy_failures=sqs.Queue(queue_stack, "Q"),
        key_arn="arn:aws:kms:x",
        env=env,
    )
    staging_stack = StageStack(app, "S", settings=settings, stage=settings.stages[0], env=env)
    policies = Template.from_stack(monitoring).find_resources("AWS::Events::EventBusPolicy")
    assert [p["Properties"]["StatementId"] for p in policies.values()] == ["ProdAccountSendsEndpointEvents"]
    staging = Template.from_stack(staging_stack)
    staging.resource_count_is("AWS::Events::Rule", 0)
    staging.resource_count_is("AWS::CloudWatch::Alarm", 2)


# -- the monitored stage (prod): scheduled from the build account, its own drift alarm, retraining --


def _monitoring_rules(multi_account: MultiAccount) -> dict[str, dict[str, Any]]:
    rules = multi_account.resources(multi_account.stacks.monitoring, "AWS::Events::Rule")
    return {rule["Name"]: rule for rule in rules}


def _monitoring_arguments(multi_account: MultiAccount) -> dict[str, Any]:
    """The monitoring job's container arguments in the synthesized pipeline (flag -> value)."""
    settings = multi_account.settings
    pipelines = multi_account.resources(multi_account.stacks.pipelines, "AWS::SageMaker::Pipeline")
    (pipeline,) = [p for p in pipelines if p["PipelineName"] == settings.monitoring_pipeline_name]
    definition = json.loads(pipeline["PipelineDefinition"]["PipelineDefinitionBody"])
    (step,) = definition["Steps"]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    return dict(zip(arguments[::2], arguments[1::2], strict=True))


def test_the_prod_endpoint_is_monitored_by_its_own_schedule_in_the_build_account(
    multi_account: MultiAccount,
) -> None:
    settings = multi_account.settings
    rule = _monitoring_rules(multi_account)[settings.stage_monitoring_schedule_name(PROD)]
    (target,) = rule["Targets"]
    given = {p["Name"]: p["Value"] for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]}
    assert given == {"EndpointName": settings.stage_endpoint_name(PROD), "Stage": "prod"}
    assert rule["ScheduleExpression"] == settings.monitoring.schedule_expression
    # Only the last stage: staging's traffic is the staging test's, its drift would be noise.
    assert not any("staging" in name for name in _monitoring_rules(multi_account))


def test_the_prod_drift_alarm_watches_what_the_prod_monitoring_run_publishes(
    multi_account: MultiAccount,
) -> None:
    settings, monitoring = multi_account.settings, multi_account.settings.monitoring
    alarms = multi_account.resources(multi_account.stacks.monitoring, "AWS::CloudWatch::Alarm")
    (alarm,) = [a for a in alarms if a["AlarmName"] == settings.stage_drift_alarm_name(PROD)]
    (target,) = _monitoring_rules(multi_account)[settings.stage_monitoring_schedule_name(PROD)]["Targets"]
    given = {p["Name"]: p["Value"] for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]}
    arguments = _monitoring_arguments(multi_account)
    # The job publishes with --endpoint-name (the EndpointName the rule gives) and, for a stage,
    # --stage-schedule-name: the alarm must watch exactly those dimensions.
    published = {
        arguments["--endpoint-dimension"]: given["EndpointName"],
        arguments["--schedule-dimension"]: arguments["--stage-schedule-name"],
    }
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == published
    assert alarm["MetricName"] == arguments["--share-metric"] == monitoring.drifted_share_metric
    assert alarm["Namespace"] == arguments["--metric-namespace"]
    assert alarm["Threshold"] == settings.alarms.drift_share_threshold
    assert arguments["--monitored-stage"] == "prod"
    assert arguments["--stage-deployed-key"] == settings.stage_approval_key(PROD, "deployed-at")


def test_the_prod_drift_alarm_starts_retraining_through_the_guard(multi_account: MultiAccount) -> None:
    settings = multi_account.settings
    rule = _monitoring_rules(multi_account)[settings.retrain_rule_names["drift"]]
    alarms = [
        resource["Fn::Join"][1][-1] if isinstance(resource, dict) else resource
        for resource in rule["EventPattern"]["resources"]
    ]
    assert [a.rsplit(":", 1)[-1] for a in map(str, alarms)] == [
        settings.drift_alarm_name,
        settings.stage_drift_alarm_name(PROD),
    ]
    (target,) = rule["Targets"]
    assert "drift-alarm" in json.dumps(target["InputTransformer"])  # TriggeredBy stays drift-alarm


def test_the_prod_quality_alarm_watches_what_the_prod_monitoring_run_publishes(
    multi_account: MultiAccount,
) -> None:
    """The build endpoint's quality alarm (one builder), on the metrics the prod run publishes:
    the quality dimension is the EndpointName the prod schedule gives the job."""
    settings = multi_account.settings
    alarms = {
        a["AlarmName"]: a
        for a in multi_account.resources(multi_account.stacks.monitoring, "AWS::CloudWatch::Alarm")
    }
    prod, build = alarms[settings.stage_quality_alarm_name(PROD)], alarms[settings.quality_alarm_name]
    (target,) = _monitoring_rules(multi_account)[settings.stage_monitoring_schedule_name(PROD)]["Targets"]
    given = {p["Name"]: p["Value"] for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]}
    arguments = _monitoring_arguments(multi_account)
    published = {arguments["--quality-endpoint-dimension"]: given["EndpointName"]}
    stats = [m["MetricStat"]["Metric"] for m in prod["Metrics"] if "MetricStat" in m]
    assert [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in stats] == [published] * 3
    assert {m["Namespace"] for m in stats} == {arguments["--quality-namespace"]}
    assert sorted(m["MetricName"] for m in stats) == sorted(
        [
            "rmse",
            f"{arguments['--evaluation-metric-prefix']}rmse",
            arguments["--merged-labels-metric"],
        ]
    )
    unlike = {"AlarmName", "AlarmDescription"}
    as_prod = json.dumps({k: v for k, v in build.items() if k not in unlike}).replace(
        settings.endpoint_name, settings.stage_endpoint_name(PROD)
    )
    assert json.dumps({k: v for k, v in prod.items() if k not in unlike}) == as_prod  # same math, same action


def test_either_quality_alarm_starts_retraining_through_the_guard(multi_account: MultiAccount) -> None:
    settings = multi_account.settings
    rule = _monitoring_rules(multi_account)[settings.retrain_rule_names["quality"]]
    assert [str(a).rsplit(":", 1)[-1] for a in rule["EventPattern"]["resources"]] == [
        settings.quality_alarm_name,
        settings.stage_quality_alarm_name(PROD),
    ]
    (target,) = rule["Targets"]
    assert "quality-alarm" in json.dumps(target["InputTransformer"])  # TriggeredBy stays quality-alarm


def test_the_monitoring_job_may_list_the_registry_only_with_stages(
    multi_account: MultiAccount, synthesized: Any
) -> None:
    def lists(policies: list[dict[str, Any]]) -> list[Any]:
        return [
            statement["Resource"]
            for policy in policies
            for statement in statements(policy["PolicyDocument"])
            if statement["Action"] == "sagemaker:ListModelPackages"
        ]

    staged = lists(multi_account.resources(multi_account.stacks.pipelines, "AWS::IAM::Policy"))
    single = lists([r["Properties"] for r in synthesized.resources("pipelines", "AWS::IAM::Policy").values()])
    assert (staged, single) == (["*"], [])


def test_without_stages_nothing_monitors_a_stage(synthesized: Any) -> None:
    names = json.dumps(synthesized.templates["monitoring"])
    assert "-prod-" not in names and "MonitoringSchedule" in names
