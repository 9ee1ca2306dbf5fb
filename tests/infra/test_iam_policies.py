"""Least privilege: no wildcard action in any Allow statement, fixed role names, narrow trust."""

from __future__ import annotations

import pytest

from infra import iam
from infra.iam import Permission
from pipelines import settings as project_settings
from pipelines.settings import JOB_ROLE, MODEL_ROLE, PIPELINE_ROLE
from tests.infra.conftest import Synthesized, as_list, policy_documents, statements

SSL_ONLY = ({"Bool": {"aws:SecureTransport": "false"}},)


def test_no_allow_statement_anywhere_has_a_wildcard_action(synthesized: Synthesized) -> None:
    checked = 0
    for concern, logical_id, resource in synthesized.all_resources():
        for document in policy_documents(resource):
            for statement in statements(document):
                actions = as_list(statement.get("Action", []))
                checked += 1
                if statement["Effect"] == "Allow":
                    assert not [a for a in actions if "*" in a], f"{concern}/{logical_id}: {actions}"
                else:  # the only denies are the TLS-only guards
                    assert statement.get("Condition") in SSL_ONLY, f"{concern}/{logical_id}: {statement}"
    assert checked > 30  # the walk really saw the policies


def test_roles_have_the_settings_names_and_trust_one_service(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    expected = {
        settings.role_name(PIPELINE_ROLE): "sagemaker.amazonaws.com",
        settings.role_name(JOB_ROLE): "sagemaker.amazonaws.com",
        settings.role_name(MODEL_ROLE): "sagemaker.amazonaws.com",
        settings.role_name("deploy-function"): "lambda.amazonaws.com",
        settings.role_name("retrain-guard"): "lambda.amazonaws.com",
        settings.role_name("events"): "events.amazonaws.com",
    }
    found = {}
    for _, _, resource in synthesized.all_resources():
        if resource["Type"] == "AWS::IAM::Role":
            props = resource["Properties"]
            (trust,) = statements(props["AssumeRolePolicyDocument"])
            found[props["RoleName"]] = trust["Principal"]["Service"]
            assert "ManagedPolicyArns" not in props
    assert found == expected


def _role_statements(synthesized: Synthesized, concern: str, role_logical_prefix: str) -> list[dict]:
    policies = [
        resource
        for logical_id, resource in synthesized.resources(concern, "AWS::IAM::Policy").items()
        if logical_id.startswith(role_logical_prefix)
    ]
    return [s for policy in policies for s in statements(policy["Properties"]["PolicyDocument"])]


def test_events_role_may_only_start_the_monitoring_pipeline(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    (statement,) = _role_statements(synthesized, "monitoring", "EventsRole")
    assert statement["Action"] == "sagemaker:StartPipelineExecution"
    assert statement["Resource"] == settings.pipeline_arn(settings.monitoring_pipeline_name)


def test_retrain_guard_may_only_list_and_start_training(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    found = _role_statements(synthesized, "monitoring", "RetrainingGuardRetrainGuardRole")
    sagemaker = [s for s in found if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))]
    assert sagemaker == [
        {
            "Action": ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
            "Effect": "Allow",
            "Resource": settings.pipeline_arn(settings.training_pipeline_name),
        }
    ]


@pytest.mark.parametrize(
    ("concern", "role", "passed"),
    [("pipelines", "PipelineRole", JOB_ROLE), ("serving", "DeployDeployFunctionRole", MODEL_ROLE)],
)
def test_each_role_passes_exactly_the_role_it_hands_to_sagemaker(
    synthesized: Synthesized, concern: str, role: str, passed: str
) -> None:
    """The pipeline passes the job role to its jobs; the deploy function the model role to CreateModel."""
    settings = synthesized.settings
    passes = [
        s for s in _role_statements(synthesized, concern, role) if "iam:PassRole" in as_list(s["Action"])
    ]
    assert passes == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": settings.role_arn(passed),
        }
    ]


def _actions(found: list[dict]) -> set[str]:
    return {action for statement in found for action in as_list(statement["Action"])}


def test_the_model_on_the_endpoint_can_read_and_capture_nothing_more(synthesized: Synthesized) -> None:
    """The inference container runs customer input: it must not start jobs, deploy, or overwrite
    models. It writes capture, and, in a batch transform job, the scores under batch/output."""
    settings = synthesized.settings
    found = _role_statements(synthesized, "pipelines", "ModelRole")
    assert not {a for a in _actions(found) if a.startswith(("sagemaker:", "lambda:", "iam:"))}
    writes = [s for s in found if "s3:PutObject" in as_list(s["Action"])]
    assert sorted(s["Resource"] for s in writes) == sorted(
        [
            f"arn:aws:s3:::{settings.bucket_name('capture')}/*",
            f"arn:aws:s3:::{settings.batch_output_uri.removeprefix('s3://')}/*",
        ]
    )


def test_jobs_start_nothing_and_the_pipeline_touches_no_data(synthesized: Synthesized) -> None:
    job = _actions(_role_statements(synthesized, "pipelines", "JobRole"))
    assert not {a for a in job if a.startswith(("sagemaker:Create", "sagemaker:Start", "lambda:"))}
    assert "iam:PassRole" not in job
    pipeline = _actions(_role_statements(synthesized, "pipelines", "PipelineRole"))
    assert not {
        a for a in pipeline if a in ("s3:PutObject", "sagemaker:CreateEndpoint", "sagemaker:CreateModel")
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_role_may_approve_a_package_and_prod_registers_only_pending(env: str) -> None:
    """The manual approval in prod cannot be bypassed by the pipeline's own role."""
    settings = project_settings.load(env)
    granted = [
        *iam.pipeline_role(settings, "key"),
        *iam.job_role(settings, "key", "repository"),
        *iam.model_role(settings, "key"),
        *iam.deploy_function(settings, "key"),
    ]
    assert not [p for p in granted if "sagemaker:UpdateModelPackage" in p.actions]
    (create,) = [p for p in granted if "sagemaker:CreateModelPackage" in p.actions]
    allowed = create.conditions["StringEquals"]["sagemaker:ModelApprovalStatus"]
    assert allowed == list(settings.registrable_approval_statuses)
    assert (project_settings.APPROVED in allowed) == (env == "dev")


def test_metric_publishing_is_limited_to_known_namespaces(synthesized: Synthesized) -> None:
    found = _role_statements(synthesized, "pipelines", "JobRole")
    (put_metrics,) = [s for s in found if s["Action"] == "cloudwatch:PutMetricData"]
    namespaces = put_metrics["Condition"]["StringEquals"]["cloudwatch:namespace"]
    assert synthesized.settings.monitoring.metric_namespace in namespaces


def test_deploy_function_scales_only_sagemaker_variants_and_cannot_change_rollback_alarms(
    synthesized: Synthesized,
) -> None:
    found = _role_statements(synthesized, "serving", "DeployDeployFunctionRole")
    (register,) = [
        s for s in found if "application-autoscaling:RegisterScalableTarget" in as_list(s["Action"])
    ]
    assert register["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    }
    rollback = set(synthesized.settings.endpoint_alarm_names.values())
    for statement in found:
        named = {r.rsplit(":", 1)[-1] for r in as_list(statement["Resource"]) if ":alarm:" in r}
        if named & rollback:
            assert statement["Action"] == "cloudwatch:DescribeAlarms"


def test_permission_refuses_wildcard_actions_and_unexplained_wildcard_resources() -> None:
    with pytest.raises(ValueError, match="wildcard actions"):
        Permission(("s3:Get*",), ("arn:aws:s3:::bucket",))
    with pytest.raises(ValueError, match="wildcard_reason"):
        Permission(("s3:GetObject",), ("arn:aws:s3:::bucket/*",))
