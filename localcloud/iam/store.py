"""Every policy of a cloud assembly, read once from the ``cdk.out`` templates.

Nothing here knows the project's role or bucket names: whatever the templates hold is what is
enforced, so a grant added to (or removed from) ``infra/`` shows up in the next local run.

- identity policies: ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` attached to roles, and a
  role's own ``Policies``; a role's AWS managed policies (``arn:aws:iam::aws:policy/...``) are not in
  the templates, so they are listed as unverifiable rather than guessed;
- resource policies: bucket, key, topic and queue policies, a model package group's policy, an
  event bus's policy (one ``AWS::Events::EventBusPolicy`` per statement), a role's trust policy, and
  ``AWS::Lambda::Permission`` (a function's resource policy, one statement per permission);
- who owns what: each template's stack has an account (a stage stack is in its stage's account), so
  a call from one account to a resource of another is evaluated as AWS evaluates it across accounts;
- what says who acts as which role: a function's ``Role``, a pipeline's ``RoleArn``, a rule
  target's ``RoleArn``; and the KMS key of a bucket or topic (S3 and SNS use it as the caller).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.cloudformation import Resource, TemplateError, TemplateSet
from localcloud.iam.policies import PolicyError, Statement, parse_document

ROLE_ARN_PREFIX = "arn:aws:iam::"


@dataclass
class PolicyStore:
    """Statements by the principal (role ARN) or resource (ARN) they belong to."""

    account: str
    identity: dict[str, list[Statement]] = field(default_factory=lambda: defaultdict(list))
    resource: dict[str, list[Statement]] = field(default_factory=lambda: defaultdict(list))
    aws_managed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    function_roles: dict[str, str] = field(default_factory=dict)  # function ARN -> role ARN
    pipeline_roles: dict[str, str] = field(default_factory=dict)  # pipeline name -> role ARN
    target_roles: dict[tuple[str, str], str] = field(default_factory=dict)  # (rule ARN, target ARN) -> role
    bucket_keys: dict[str, str] = field(default_factory=dict)  # bucket name -> KMS key ARN
    topic_keys: dict[str, str] = field(default_factory=dict)  # topic ARN -> KMS key ARN
    keys: set[str] = field(default_factory=set)  # KMS key ARNs defined in the templates
    key_aliases: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # key ARN -> aliases
    bucket_owners: dict[str, str] = field(default_factory=dict)  # bucket name -> account (S3 ARNs name none)
    _covering: dict[tuple[str, str], list[Statement]] = field(default_factory=dict, repr=False)

    @property
    def roles(self) -> list[str]:
        return sorted(set(self.identity) | set(self.aws_managed))

    def identity_covering(self, role: str, action: str) -> list[Statement]:
        """The role's statements naming ``action``: a run asks about a few dozen actions thousands
        of times, so each answer is kept (evaluation then only looks at resources and conditions)."""
        key = (role, action)
        found = self._covering.get(key)
        if found is None:
            found = [s for s in self.identity.get(role, ()) if s.covers_action(action)]
            self._covering[key] = found
        return found

    def resource_policy(self, arn: str) -> list[Statement]:
        """The resource policy governing ``arn`` (an object is governed by its bucket's policy, a
        model package version by its group's)."""
        if arn.startswith("arn:aws:s3:::"):
            bucket = arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            return self.resource.get(f"arn:aws:s3:::{bucket}", [])
        head, _, path = arn.partition(":model-package/")
        if path:
            return self.resource.get(f"{head}:model-package-group/{path.split('/', 1)[0]}", [])
        return self.resource.get(arn, [])

    def owner(self, arn: str) -> str | None:
        """The account a resource is in: the ARN's account field, or for a bucket (whose ARN names
        none) the account of the stack that defines it (this store's account if none does); None for
        ``*`` (an action without resource types acts in the caller's own account)."""
        if arn == "*":
            return None
        if arn.startswith("arn:aws:s3:::"):
            return self.bucket_owners.get(arn.removeprefix("arn:aws:s3:::").split("/", 1)[0], self.account)
        fields = arn.split(":")
        return fields[4] if len(fields) > 5 and fields[4] else self.account

    @classmethod
    def from_templates(cls, templates: TemplateSet) -> PolicyStore:
        """Read every policy; a policy that cannot be resolved is a :class:`TemplateError` naming it."""
        store = cls(templates.settings.account)
        try:
            _read(store, templates)
        except PolicyError as err:
            raise TemplateError(str(err)) from err
        return store


def _arn(templates: TemplateSet, resource: Resource) -> str:
    return str(templates.resolve({"Fn::GetAtt": [resource.logical_id, "Arn"]}, resource, "Arn"))


def _role_arns(templates: TemplateSet, resource: Resource, account: str) -> list[str]:
    """``Roles`` of a policy: names (``Ref`` of a role) or ARNs."""
    names = templates.property(resource, "Roles", []) or []
    return [n if n.startswith(ROLE_ARN_PREFIX) else f"{ROLE_ARN_PREFIX}{account}:role/{n}" for n in names]


def _where(resource: Resource) -> str:
    return f"{resource.template.name}: {resource.logical_id}"


def _read(store: PolicyStore, templates: TemplateSet) -> None:
    managed: dict[str, tuple[Statement, ...]] = {}
    for resource in templates.resources("AWS::IAM::ManagedPolicy"):
        statements = parse_document(templates.property(resource, "PolicyDocument"), _where(resource))
        name = templates.property(resource, "ManagedPolicyName") or resource.logical_id
        managed[f"{ROLE_ARN_PREFIX}{templates.account_of(resource)}:policy/{name}"] = statements
        for role in _role_arns(templates, resource, templates.account_of(resource)):
            store.identity[role].extend(statements)
    for resource in templates.resources("AWS::IAM::Role"):
        role = _arn(templates, resource)
        store.identity.setdefault(role, [])
        # The trust policy is the role's resource policy: the other half of a cross-account
        # sts:AssumeRole (a stage's deploy role trusting the build account's deploy function).
        trust = templates.property(resource, "AssumeRolePolicyDocument")
        if trust is not None:
            where = f"{_where(resource)} AssumeRolePolicyDocument"
            store.resource[role].extend(parse_document(trust, where, resource_default=(role,)))
        for inline in templates.property(resource, "Policies", []) or []:
            where = f"{_where(resource)} Policies[{inline.get('PolicyName', '?')}]"
            store.identity[role].extend(parse_document(inline.get("PolicyDocument"), where))
        for arn in templates.property(resource, "ManagedPolicyArns", []) or []:
            if arn in managed:
                store.identity[role].extend(managed[arn])
            else:
                store.aws_managed[role].append(arn)
    for resource in templates.resources("AWS::IAM::Policy"):
        statements = parse_document(templates.property(resource, "PolicyDocument"), _where(resource))
        for role in _role_arns(templates, resource, templates.account_of(resource)):
            store.identity[role].extend(statements)
    _read_resource_policies(store, templates)
    _read_role_users(store, templates)


def _read_resource_policies(store: PolicyStore, templates: TemplateSet) -> None:
    for resource in templates.resources("AWS::S3::BucketPolicy"):
        bucket = f"arn:aws:s3:::{templates.property(resource, 'Bucket')}"
        store.resource[bucket].extend(
            parse_document(templates.property(resource, "PolicyDocument"), _where(resource))
        )
    for resource in templates.resources("AWS::KMS::Key"):
        key = _arn(templates, resource)
        store.keys.add(key)
        document = templates.property(resource, "KeyPolicy")
        if document is not None:  # in a key policy "Resource": "*" means this key
            store.resource[key].extend(parse_document(document, _where(resource), resource_default=("*",)))
    for resource in templates.resources("AWS::KMS::Alias"):
        store.key_aliases[str(templates.property(resource, "TargetKeyId"))].append(
            str(templates.property(resource, "AliasName"))
        )
    for resource in templates.resources("AWS::SageMaker::ModelPackageGroup"):
        document = templates.property(resource, "ModelPackageGroupPolicy")
        if document is not None:  # PutModelPackageGroupPolicy, set by CloudFormation
            name = templates.property(resource, "ModelPackageGroupName")
            region, account = templates.settings.region, templates.account_of(resource)
            group = f"arn:aws:sagemaker:{region}:{account}:model-package-group/{name}"
            store.resource[group].extend(parse_document(document, _where(resource)))
    for resource in templates.resources("AWS::SNS::TopicPolicy"):
        statements = parse_document(templates.property(resource, "PolicyDocument"), _where(resource))
        for topic in templates.property(resource, "Topics", []):
            store.resource[topic].extend(statements)
    for resource in templates.resources("AWS::SQS::QueuePolicy"):
        statements = parse_document(templates.property(resource, "PolicyDocument"), _where(resource))
        for queue in templates.property(resource, "Queues", []):
            name = str(queue).rstrip("/").rsplit("/", 1)[-1]  # a URL or a name; the ARN ends with the name
            store.resource[f"arn:aws:sqs:{templates.settings.region}:{store.account}:{name}"].extend(
                statements
            )
    for resource in templates.resources("AWS::Events::EventBusPolicy"):
        statement = templates.property(resource, "Statement")
        if not isinstance(statement, dict):  # the legacy Action/Principal/Condition form
            raise TemplateError(
                f"{resource.where('Statement')}: only a bus policy given as a Statement is read"
            )
        name = templates.property(resource, "EventBusName") or "default"
        region, account = templates.region_of(resource), templates.account_of(resource)
        bus = f"arn:aws:events:{region}:{account}:event-bus/{name}"
        store.resource[bus].extend(parse_document({"Statement": [statement]}, _where(resource)))
    for resource in templates.resources("AWS::Lambda::Permission"):
        function = str(templates.property(resource, "FunctionName"))
        store.resource[function].extend(
            parse_document(_permission_document(templates, resource), _where(resource))
        )


def _permission_document(templates: TemplateSet, resource: Resource) -> Mapping[str, Any]:
    """An ``AWS::Lambda::Permission`` as the statement Lambda adds to the function's policy
    (https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html)."""
    principal = str(templates.property(resource, "Principal"))
    conditions: dict[str, dict[str, str]] = {}
    source_arn = templates.property(resource, "SourceArn")
    if source_arn:
        conditions["ArnLike"] = {"AWS:SourceArn": source_arn}
    source_account = templates.property(resource, "SourceAccount")
    if source_account:
        conditions["StringEquals"] = {"AWS:SourceAccount": source_account}
    kind = "Service" if principal.endswith(".amazonaws.com") else "AWS"
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {kind: principal},
                "Action": templates.property(resource, "Action"),
                "Resource": templates.property(resource, "FunctionName"),
                **({"Condition": conditions} if conditions else {}),
            }
        ]
    }


def _read_role_users(store: PolicyStore, templates: TemplateSet) -> None:
    for resource in templates.resources("AWS::Lambda::Function"):
        role = templates.property(resource, "Role")
        if role:
            store.function_roles[_arn(templates, resource)] = str(role)
    for resource in templates.resources("AWS::SageMaker::Pipeline"):
        role = templates.property(resource, "RoleArn")
        if role:
            store.pipeline_roles[str(templates.property(resource, "PipelineName"))] = str(role)
    for resource in templates.resources("AWS::Events::Rule"):
        rule = _arn(templates, resource)
        for target in resource.properties.get("Targets", []):
            if "RoleArn" in target:
                arn = templates.resolve(target["Arn"], resource, "Targets.Arn")
                store.target_roles[(rule, str(arn))] = str(
                    templates.resolve(target["RoleArn"], resource, "Targets.RoleArn")
                )
    for resource in templates.resources("AWS::SNS::Topic"):
        key = templates.property(resource, "KmsMasterKeyId")
        if key:
            store.topic_keys[_arn(templates, resource)] = str(key)
    for resource in templates.resources("AWS::S3::Bucket"):
        store.bucket_owners[str(templates.property(resource, "BucketName"))] = templates.account_of(resource)
        for rule in templates.property(resource, "BucketEncryption", {}).get(
            "ServerSideEncryptionConfiguration", []
        ):
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("KMSMasterKeyID"):
                store.bucket_keys[str(templates.property(resource, "BucketName"))] = str(
                    default["KMSMasterKeyID"]
                )
