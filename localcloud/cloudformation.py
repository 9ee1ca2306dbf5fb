"""Read the synthesized CloudFormation templates the way the local loop needs them.

The alarms and the EventBridge rules the local loop evaluates are the ones in ``cdk.out``: nothing
about names, thresholds or patterns is restated here. CloudFormation values can be intrinsic
functions, so this module resolves the few that CDK emits for those resources (``Ref``,
``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::ImportValue``) against the
pseudo parameters of the selected settings (account, region, partition) and the resources' own
properties (a function's ``FunctionName`` gives its ARN). Anything it cannot resolve raises
:class:`TemplateError` naming the template, the resource and the property, rather than guessing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.settings import REPO_ROOT, Settings

DEFAULT_CDK_OUT = REPO_ROOT / "cdk.out"


class TemplateError(ValueError):
    """A template is missing, unreadable, or uses a construct the local loop cannot resolve."""


@dataclass(frozen=True)
class Resource:
    """One resource of one template, with where it came from (for error messages)."""

    template: Path
    logical_id: str
    type: str
    properties: dict[str, Any]

    def where(self, field: str = "") -> str:
        suffix = f".{field}" if field else ""
        return f"{self.template.name}: {self.logical_id} ({self.type}){suffix}"


# How ``Fn::GetAtt <resource>.Arn`` (and ``Ref`` where CloudFormation returns an ARN) is built from a
# resource's name property; the name property must itself be set (the project names every resource
# from settings, so this holds; a generated name cannot be known offline).
_ARN_BUILDERS: dict[str, tuple[str, str]] = {
    "AWS::Lambda::Function": ("FunctionName", "arn:{partition}:lambda:{region}:{account}:function:{name}"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn:{partition}:sns:{region}:{account}:{name}"),
    "AWS::SageMaker::Pipeline": (
        "PipelineName",
        "arn:{partition}:sagemaker:{region}:{account}:pipeline/{lower_name}",
    ),
    "AWS::IAM::Role": ("RoleName", "arn:{partition}:iam::{account}:role/{name}"),
    "AWS::Events::Rule": ("Name", "arn:{partition}:events:{region}:{account}:rule/{name}"),
    "AWS::SQS::Queue": ("QueueName", "arn:{partition}:sqs:{region}:{account}:{name}"),
    "AWS::S3::Bucket": ("BucketName", "arn:{partition}:s3:::{name}"),
    "AWS::ECR::Repository": ("RepositoryName", "arn:{partition}:ecr:{region}:{account}:repository/{name}"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "arn:{partition}:iam::{account}:policy/{name}"),
}
# A KMS key has no name: AWS assigns its id. Offline it gets a stable stand-in, derived from where
# it is defined, so every policy naming the key (key policy, role grants, bucket encryption) names
# the same ARN.
_KEY_ID_NAMESPACE = uuid.UUID("7b0f3c1e-5d52-4b8e-9a4c-2f6a1d0c9e11")
# CloudFormation's Ref returns the ARN for these types and the name (or physical id) for the others.
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::SageMaker::Pipeline", "AWS::IAM::ManagedPolicy"}
_NAME_PROPERTY = {rtype: prop for rtype, (prop, _) in _ARN_BUILDERS.items()} | {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::SageMaker::Endpoint": "EndpointName",
}


class TemplateSet:
    """All templates of one synth output, with a resolver for the intrinsics CDK emits."""

    def __init__(
        self,
        templates: dict[Path, dict[str, Any]],
        settings: Settings,
        environments: dict[Path, tuple[str, str]] | None = None,
    ) -> None:
        self.templates = templates
        self.settings = settings
        # template -> (account, region) of its stack, from the assembly's manifest: a stage stack
        # lives in its stage's account; a template not named there is in the settings' (build) account.
        self.environments = environments or {}
        self._exports = self._collect_exports()

    @classmethod
    def load(cls, settings: Settings, cdk_out: Path = DEFAULT_CDK_OUT) -> TemplateSet:
        """Read every ``*.template.json`` under ``cdk_out`` (the output of ``cdk synth``/``app.py``)."""
        # A deployment stage's stacks are in a nested assembly (``assembly-<Stage>/``, docs/multi-account.md):
        # only those the manifest lists (a folder left by an earlier synth with other stages is stale).
        paths = sorted(Path(cdk_out).glob("*.template.json")) + [
            path
            for nested in _nested_assemblies(Path(cdk_out))
            for path in sorted(nested.glob("*.template.json"))
        ]
        if not paths:
            raise TemplateError(
                f"no *.template.json in {cdk_out}: synthesize first (`make synth` or `python app.py`)"
            )
        templates: dict[Path, dict[str, Any]] = {}
        for path in paths:
            try:
                templates[path] = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise TemplateError(f"{path}: not a readable JSON template ({err})") from err
        return cls(templates, settings, _environments(Path(cdk_out)))

    def account_of(self, resource: Resource) -> str:
        """The account the resource's stack deploys to."""
        return self.environments.get(resource.template, (self.settings.account, ""))[0]

    def region_of(self, resource: Resource) -> str:
        """The region the resource's stack deploys to."""
        return self.environments.get(resource.template, ("", self.settings.region))[1]

    # -- resources -----------------------------------------------------------------------------
    def resources(self, resource_type: str) -> Iterator[Resource]:
        """Every resource of one type across the templates, in file then logical-id order."""
        for path, template in self.templates.items():
            for logical_id, body in sorted(template.get("Resources", {}).items()):
                if body.get("Type") == resource_type:
                    yield Resource(path, logical_id, resource_type, body.get("Properties", {}))

    def _find(self, template: Path, logical_id: str) -> Resource:
        body = self.templates[template].get("Resources", {}).get(logical_id)
        if body is None:
            raise TemplateError(f"{template.name}: no resource {logical_id!r} (referenced by Ref/GetAtt)")
        return Resource(template, logical_id, body["Type"], body.get("Properties", {}))

    # -- intrinsic functions -------------------------------------------------------------------
    def property(self, resource: Resource, key: str, default: Any = None) -> Any:
        """One property of ``resource``, resolved; only what is read is resolved (and can fail)."""
        if key not in resource.properties:
            return default
        return self.resolve(resource.properties[key], resource, key)

    def resolve(self, value: Any, resource: Resource, field: str) -> Any:
        """``value`` with every intrinsic function replaced by its value, recursively."""
        if isinstance(value, list):
            return [self.resolve(item, resource, field) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key, arg, resource, field)
        return {k: self.resolve(v, resource, f"{field}.{k}") for k, v in value.items()}

    def _intrinsic(self, key: str, arg: Any, resource: Resource, field: str) -> Any:
        if key == "Ref":
            return self._ref(arg, resource, field)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self._get_att(logical_id, attribute, resource, field)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(p) for p in self.resolve(parts, resource, field))
        if key == "Fn::Select":
            index, items = self.resolve(arg, resource, field)
            return items[int(index)]
        if key == "Fn::Sub":
            return self._sub(arg, resource, field)
        if key == "Fn::ImportValue":
            name = self.resolve(arg, resource, field)
            if name not in self._exports:
                raise TemplateError(f"{resource.where(field)}: no template exports {name!r}")
            raw, holder = self._exports[name]
            return self.resolve(raw, holder, "Value")
        raise TemplateError(f"{resource.where(field)}: {key} is not supported by the local loop")

    def _pseudo(self, resource: Resource) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account_of(resource),
            "AWS::Region": self.region_of(resource),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }

    def _ref(self, name: str, resource: Resource, field: str) -> Any:
        pseudo = self._pseudo(resource)
        if name in pseudo:
            return pseudo[name]
        template = self.templates[resource.template]
        parameter = template.get("Parameters", {}).get(name)
        if parameter is not None:
            if "Default" not in parameter:
                raise TemplateError(f"{resource.where(field)}: parameter {name} has no Default")
            return parameter["Default"]
        target = self._find(resource.template, name)
        if target.type in _REF_IS_ARN:
            return self._arn(target, field)
        return self._name(target, field)

    def _get_att(self, logical_id: str, attribute: str, resource: Resource, field: str) -> Any:
        target = self._find(resource.template, logical_id)
        if attribute == "Arn":
            return self._arn(target, field)
        if attribute == "Name" or attribute == _NAME_PROPERTY.get(target.type):
            return self._name(target, field)
        raise TemplateError(f"{resource.where(field)}: Fn::GetAtt {logical_id}.{attribute} is not supported")

    def _name(self, target: Resource, field: str) -> str:
        prop = _NAME_PROPERTY.get(target.type)
        if prop is None or prop not in target.properties:
            raise TemplateError(
                f"{target.where(field)}: its name is generated by CloudFormation; set "
                f"{prop or 'a name property'} from settings so it is known offline"
            )
        return str(self.resolve(target.properties[prop], target, prop))

    def _arn(self, target: Resource, field: str) -> str:
        if target.type == "AWS::KMS::Key":
            key_id = uuid.uuid5(_KEY_ID_NAMESPACE, f"{target.template.name}/{target.logical_id}")
            return f"arn:aws:kms:{self.region_of(target)}:{self.account_of(target)}:key/{key_id}"
        if target.type == "AWS::IAM::OIDCProvider":
            # Fn::GetAtt Arn: arn:aws:iam::<account>:oidc-provider/<Url without https://> (CloudFormation
            # User Guide, AWS::IAM::OIDCProvider, return values); the CI roles' trust names it.
            url = str(self.resolve(target.properties["Url"], target, "Url")).removeprefix("https://")
            return f"arn:aws:iam::{self.account_of(target)}:oidc-provider/{url}"
        if target.type not in _ARN_BUILDERS:
            raise TemplateError(f"{target.where(field)}: cannot build the ARN of a {target.type}")
        name = self._name(target, field)
        _, pattern = _ARN_BUILDERS[target.type]
        return pattern.format(
            partition="aws",
            region=self.region_of(target),
            account=self.account_of(target),
            name=name,
            lower_name=name.lower(),
        )

    def _sub(self, arg: Any, resource: Resource, field: str) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        variables = {k: self.resolve(v, resource, field) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute, resource, field))
            return str(self._ref(name, resource, field))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)

    def _collect_exports(self) -> dict[str, tuple[Any, Resource]]:
        """Export name -> (raw output value, where it is); resolved only when imported."""
        exports: dict[str, tuple[Any, Resource]] = {}
        for path, template in self.templates.items():
            for logical_id, output in template.get("Outputs", {}).items():
                export = output.get("Export", {}).get("Name")
                if export is not None:
                    holder = Resource(path, f"Outputs.{logical_id}", "Output", {})
                    exports[self.resolve(export, holder, "Export.Name")] = (output.get("Value"), holder)
        return exports


def _artifacts(cdk_out: Path) -> dict[str, Any]:
    """The artifacts of the cloud assembly's ``manifest.json`` (none without a manifest)."""
    manifest = cdk_out / "manifest.json"
    if not manifest.is_file():
        return {}
    try:
        artifacts: dict[str, Any] = json.loads(manifest.read_text()).get("artifacts", {})
    except (OSError, json.JSONDecodeError) as err:
        raise TemplateError(f"{manifest}: not a readable cloud assembly manifest ({err})") from err
    return artifacts


def _nested_assemblies(cdk_out: Path) -> list[Path]:
    """The nested assemblies (a CDK Stage each) the manifest lists."""
    return [
        cdk_out / artifact["properties"]["directoryName"]
        for artifact in _artifacts(cdk_out).values()
        if artifact.get("type") == "cdk:cloud-assembly"
    ]


def _environments(cdk_out: Path) -> dict[Path, tuple[str, str]]:
    """Template path -> (account, region) of each stack with a concrete environment in the cloud
    assembly's ``manifest.json`` (``aws://<account>/<region>``) and its nested stages' manifests;
    none without a manifest."""
    environments: dict[Path, tuple[str, str]] = {}
    for nested in _nested_assemblies(cdk_out):  # a stage's stacks, with its own manifest
        environments.update(_environments(nested))
    for artifact in _artifacts(cdk_out).values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        account, _, region = str(artifact.get("environment", "")).removeprefix("aws://").partition("/")
        if account.isdigit() and region:
            environments[cdk_out / artifact["properties"]["templateFile"]] = (account, region)
    return environments
