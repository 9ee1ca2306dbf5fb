"""Least privilege: no wildcard action in any Allow statement, fixed role names, narrow trust."""

from __future__ import annotations

import pytest

from infra.iam import Permission
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
        settings.role_name("sagemaker-execution"): "sagemaker.amazonaws.com",
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


def test_execution_role_can_only_be_passed_to_sagemaker(synthesized: Synthesized) -> None:
    settings = synthesized.settings
    for concern, prefix in (("pipelines", "SagemakerExecutionRole"), ("serving", "DeployDeployFunctionRole")):
        passes = [s for s in _role_statements(synthesized, concern, prefix) if s["Action"] == "iam:PassRole"]
        assert passes == [
            {
                "Action": "iam:PassRole",
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                "Effect": "Allow",
                "Resource": settings.role_arn("sagemaker-execution"),
            }
        ], concern


def test_metric_publishing_is_limited_to_known_namespaces(synthesized: Synthesized) -> None:
    found = _role_statements(synthesized, "pipelines", "SagemakerExecutionRole")
    (put_metrics,) = [s for s in found if s["Action"] == "cloudwatch:PutMetricData"]
    namespaces = put_metrics["Condition"]["StringEquals"]["cloudwatch:namespace"]
    assert synthesized.settings.monitoring.metric_namespace in namespaces


def test_permission_refuses_wildcard_actions_and_unexplained_wildcard_resources() -> None:
    with pytest.raises(ValueError, match="wildcard actions"):
        Permission(("s3:Get*",), ("arn:aws:s3:::bucket",))
    with pytest.raises(ValueError, match="wildcard_reason"):
        Permission(("s3:GetObject",), ("arn:aws:s3:::bucket/*",))
