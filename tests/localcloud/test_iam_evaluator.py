"""IAM's evaluation logic, the condition operators and the Service Authorization Reference lookups."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.iam import reference
from localcloud.iam.conditions import conditions_match, wildcard_match
from localcloud.iam.evaluator import Principal, evaluate
from localcloud.iam.policies import PolicyError, parse_document
from localcloud.iam.store import PolicyStore

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/job"
BUCKET = "arn:aws:s3:::data"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:deploy"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/approved"
JOB = Principal(role_arn=ROLE, session="SageMaker")
CONTEXT = {"aws:securetransport": ["true"]}


def _store(identity: list[dict] | None = None, **resources: list[dict]) -> PolicyStore:
    store = PolicyStore(ACCOUNT)
    store.identity[ROLE].extend(parse_document({"Statement": identity or []}, "role policy"))
    for arn, statements in {
        BUCKET: resources.get("bucket"),
        KEY: resources.get("key"),
        FUNCTION: resources.get("function"),
    }.items():
        if statements is not None:
            store.resource[arn].extend(
                parse_document({"Statement": statements}, arn, resource_default=("*",))
            )
    if "key" in resources:
        store.keys.add(KEY)
    return store


def _allow(action: str, resource: str, **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_identity_policy_allows_and_the_grant_is_named() -> None:
    store = _store([_allow("s3:GetObject", f"{BUCKET}/*")])
    decision = evaluate(store, JOB, "s3:GetObject", f"{BUCKET}/raw.csv", CONTEXT)
    assert decision.allowed
    assert [g.label for g in decision.grants] == ["role policy Statement[0]"]


def test_nothing_allows_is_aws_access_denied_message() -> None:
    decision = evaluate(_store([]), JOB, "s3:PutObject", f"{BUCKET}/x", CONTEXT)
    assert not decision.allowed
    assert decision.message(JOB) == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/job/SageMaker is not authorized to perform: s3:PutObject "
        f"on resource: {BUCKET}/x because no identity-based policy allows the s3:PutObject action"
    )


def test_an_explicit_deny_in_a_bucket_policy_wins_over_an_allow() -> None:
    deny_plain_http = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    store = _store([_allow("s3:GetObject", f"{BUCKET}/*")], bucket=[deny_plain_http])
    assert evaluate(store, JOB, "s3:GetObject", f"{BUCKET}/a", CONTEXT).allowed
    refused = evaluate(store, JOB, "s3:GetObject", f"{BUCKET}/a", {"aws:securetransport": ["false"]})
    assert not refused.allowed and refused.reason == "of an explicit deny in a resource-based policy"


def test_a_kms_key_is_usable_only_if_its_key_policy_delegates_to_the_account() -> None:
    grant = [_allow("kms:Decrypt", KEY)]
    delegating = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert evaluate(_store(grant, key=[delegating]), JOB, "kms:Decrypt", KEY, CONTEXT).allowed
    closed = evaluate(_store(grant, key=[]), JOB, "kms:Decrypt", KEY, CONTEXT)
    assert not closed.allowed and "key policy" in closed.reason
    assert not evaluate(_store([], key=[delegating]), JOB, "kms:Decrypt", KEY, CONTEXT).allowed


def test_a_service_principal_needs_the_resource_policy_and_its_source_arn() -> None:
    permission = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
        "Condition": {"ArnLike": {"AWS:SourceArn": RULE}},
    }
    events = Principal(service="events.amazonaws.com")
    store = _store(function=[permission])
    assert evaluate(store, events, "lambda:InvokeFunction", FUNCTION, {"aws:sourcearn": [RULE]}).allowed
    other_rule = evaluate(store, events, "lambda:InvokeFunction", FUNCTION, {"aws:sourcearn": [RULE + "-x"]})
    assert not other_rule.allowed and "resource-based" in other_rule.reason


def test_not_action_and_a_wildcard_resource() -> None:
    store = _store([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])
    assert evaluate(store, JOB, "sagemaker:DescribeEndpoint", "arn:aws:sagemaker:x", CONTEXT).allowed
    assert not evaluate(store, JOB, "iam:PassRole", ROLE, CONTEXT).allowed


@pytest.mark.parametrize(
    ("conditions", "context", "expected"),
    [
        (
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            {"iam:passedtoservice": ["sagemaker.amazonaws.com"]},
            True,
        ),
        ({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, {}, False),
        ({"StringEqualsIfExists": {"iam:PassedToService": "x"}}, {}, True),
        (
            {"StringNotEquals": {"cloudwatch:namespace": "x"}},
            {},
            True,
        ),  # a negated operator matches an absent key
        ({"StringEquals": {"cloudwatch:namespace": ["a", "b"]}}, {"cloudwatch:namespace": ["b"]}, True),
        ({"StringLike": {"s3:prefix": "runs/*"}}, {"s3:prefix": ["runs/1"]}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}, {"aws:sourcearn": [RULE]}, True),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:tagkeys": ["a", "b"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:tagkeys": ["a", "b"]}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ["5"]}, True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {"aws:currenttime": ["x"]}, False),
    ],
)
def test_condition_operators(conditions: dict, context: dict, expected: bool) -> None:
    assert conditions_match(conditions, context) is expected


@given(st.text(alphabet="ab*?[]-", max_size=6), st.text(alphabet="ab[]-", max_size=6))
def test_wildcards_are_iam_s_star_and_question_mark_only(pattern: str, value: str) -> None:
    # IAM has no character classes: '[' is a literal, unlike fnmatch's.
    literal = pattern.replace("[", "\x01").replace("]", "\x02")
    expected = fnmatch.fnmatchcase(value.replace("[", "\x01").replace("]", "\x02"), literal)
    assert wildcard_match(pattern, value) is expected


def test_a_statement_with_an_unresolved_intrinsic_is_refused_by_name() -> None:
    with pytest.raises(PolicyError, match=r"role policy Statement\[0\]: expected strings"):
        parse_document(
            {"Statement": [_allow("s3:GetObject", {"Fn::GetAtt": ["Bucket", "Arn"]})]}, "role policy"
        )


# -- the Service Authorization Reference -------------------------------------------------------------
PSEUDO = {"Partition": "aws", "Region": "us-east-1", "Account": ACCOUNT}


def test_create_endpoint_authorizes_against_the_endpoint_and_its_config() -> None:
    arns = reference.resources_of(
        reference.action("sagemaker:CreateEndpoint"),
        {"EndpointName": "e", "EndpointConfigName": "e-v1"},
        PSEUDO,
    )
    assert arns == (
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/e",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/e-v1",
    )


def test_an_arn_given_as_a_parameter_is_the_resource() -> None:
    package = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/models/3"
    ref = reference.action("sagemaker:DescribeModelPackage")
    assert reference.resources_of(ref, {"ModelPackageName": package}, PSEUDO) == (package,)


def test_a_name_aws_assigns_on_creation_is_a_wildcard() -> None:
    ref = reference.action("sagemaker:CreateModelPackage")
    assert reference.resources_of(ref, {"ModelPackageGroupName": "models"}, PSEUDO) == (
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/models/*",
    )


def test_an_action_without_resource_types_authorizes_against_star() -> None:
    ref = reference.action("cloudwatch:PutMetricData")
    assert reference.resources_of(ref, {"Namespace": "x"}, PSEUDO) == ("*",)
    assert "cloudwatch:namespace" in ref.condition_keys


def test_an_unknown_action_is_named() -> None:
    with pytest.raises(reference.UnknownActionError, match="sagemaker:CreateEndpointz"):
        reference.action("sagemaker:CreateEndpointz")


def test_the_store_reads_whatever_roles_and_policies_the_templates_hold() -> None:
    from pathlib import Path

    from localcloud.cloudformation import TemplateSet
    from pipelines import settings as settings_module

    settings = settings_module.load("dev")
    managed_statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "someone-else",
                    "Policies": [
                        {
                            "PolicyName": "inline",
                            "PolicyDocument": {"Statement": [_allow("s3:GetObject", "*")]},
                        }
                    ],
                    "ManagedPolicyArns": [
                        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
                        {"Ref": "Managed"},
                    ],
                },
            },
            "Managed": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": "shared",
                    "PolicyDocument": {"Statement": [managed_statement]},
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "f", "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
            "Permission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["Function", "Arn"]},
                    "Principal": "events.amazonaws.com",
                    "SourceArn": RULE,
                },
            },
        }
    }
    store = PolicyStore.from_templates(TemplateSet({Path("app.template.json"): template}, settings))
    role = f"arn:aws:iam::{settings.account}:role/someone-else"
    function = f"arn:aws:lambda:{settings.region}:{settings.account}:function:f"
    assert [s.actions for s in store.identity[role]] == [("s3:GetObject",), ("sqs:SendMessage",)]
    assert store.aws_managed[role] == ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
    assert store.function_roles == {function: role}
    events = Principal(service="events.amazonaws.com")
    assert evaluate(store, events, "lambda:InvokeFunction", function, {"aws:sourcearn": [RULE]}).allowed
