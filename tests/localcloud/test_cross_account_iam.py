"""Cross-account calls, evaluated as AWS evaluates them: both the caller's identity policy and the
resource's policy must allow (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).

The small cases pin the rule; the synthesized case runs a stage deploy's calls against the policies
the CDK app writes for a three-account topology, and removes one grant to see AWS's AccessDenied.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from localcloud.account import LocalAws
from localcloud.cloud import synthesize
from localcloud.cloudformation import TemplateSet
from localcloud.iam import SAGEMAKER_SESSION, AccessControl, AccessDeniedError, PolicyStore, Principal
from localcloud.iam.evaluator import evaluate
from localcloud.iam.policies import parse_document
from localcloud.iam.report import build
from pipelines import settings as settings_module
from pipelines.settings import Settings, Stage

BUILD, PROD_ACCOUNT = "123456789012", "222222222222"
ROLE = f"arn:aws:iam::{PROD_ACCOUNT}:role/prod-model"
PACKAGE = f"arn:aws:sagemaker:us-east-1:{BUILD}:model-package/models/3"
GROUP = f"arn:aws:sagemaker:us-east-1:{BUILD}:model-package-group/models"
MODEL = Principal(role_arn=ROLE, session=SAGEMAKER_SESSION)
CONTEXT = {"aws:principalarn": [ROLE]}
IDENTITY = {"Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": PACKAGE}


def _shared_with(principal: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sagemaker:DescribeModelPackage",
        "Resource": "arn:aws:sagemaker:us-east-1:123456789012:model-package/models/*",
    }


def _store(identity: list[dict[str, Any]], group_policy: list[dict[str, Any]]) -> PolicyStore:
    store = PolicyStore(BUILD)
    store.identity[ROLE].extend(parse_document({"Statement": identity}, "prod role policy"))
    store.resource[GROUP].extend(parse_document({"Statement": group_policy}, "group policy"))
    return store


@pytest.mark.parametrize(
    ("identity", "group_policy", "reason"),
    [
        (
            [IDENTITY],
            [],
            "no resource-based policy allows the sagemaker:DescribeModelPackage action to account",
        ),
        ([], [_shared_with(f"arn:aws:iam::{PROD_ACCOUNT}:root")], "no identity-based policy allows"),
        ([IDENTITY], [_shared_with(f"arn:aws:iam::{BUILD}:root")], "no resource-based policy allows"),
    ],
    ids=["identity-only", "resource-only", "resource-names-another-account"],
)
def test_one_half_alone_is_denied_across_accounts(
    identity: list[dict[str, Any]], group_policy: list[dict[str, Any]], reason: str
) -> None:
    decision = evaluate(
        _store(identity, group_policy), MODEL, "sagemaker:DescribeModelPackage", PACKAGE, CONTEXT
    )
    assert not decision.allowed
    assert reason in decision.reason


@pytest.mark.parametrize("named", [f"arn:aws:iam::{PROD_ACCOUNT}:root", PROD_ACCOUNT, ROLE])
def test_both_halves_allow_across_accounts(named: str) -> None:
    store = _store([IDENTITY], [_shared_with(named)])
    decision = evaluate(store, MODEL, "sagemaker:DescribeModelPackage", PACKAGE, CONTEXT)
    assert decision.allowed
    assert [g.where for g in decision.grants] == ["prod role policy", "group policy"]


def test_within_one_account_either_half_still_suffices() -> None:
    same = Principal(role_arn=f"arn:aws:iam::{BUILD}:role/deploy")
    store = PolicyStore(BUILD)
    store.resource[GROUP].extend(parse_document({"Statement": [_shared_with(same.role_arn or "")]}, "group"))
    assert evaluate(store, same, "sagemaker:DescribeModelPackage", PACKAGE, {}).allowed


# -- the synthesized three-account topology ------------------------------------------------------------
STAGES = (Stage("staging", "111111111111", "us-east-1"), Stage("prod", PROD_ACCOUNT, "us-east-1"))
SETTINGS = dataclasses.replace(settings_module.load("dev", account=BUILD), stages=STAGES)


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stages")
    return synthesize(SETTINGS, out, cdk_validation=False).cdk_out


def _access(cdk_out: Path) -> AccessControl:
    return AccessControl(LocalAws(SETTINGS), PolicyStore.from_templates(TemplateSet.load(SETTINGS, cdk_out)))


def _stage_deploy(access: AccessControl, settings: Settings, stage: Stage) -> None:
    """The calls a stage deploy makes across accounts, as each caller: the build account's deploy
    function assumes the stage's deploy role, which reads the approved package; the stage's model role
    (as SageMaker) reads the artifact, which S3 decrypts with the bucket's key as that caller."""
    package = settings.arn("sagemaker", f"model-package/{settings.model_package_group}/3")
    deployer = Principal(role_arn=settings.stage_role_arn(stage, "deploy"), session="deploy")
    function = Principal(role_arn=settings.role_arn("deploy-function"), session="deploy")
    access.authorize(function, "sts:AssumeRole", {"RoleArn": deployer.role_arn})
    access.authorize(deployer, "sagemaker:DescribeModelPackage", {"ModelPackageName": package})
    model = Principal(role_arn=settings.stage_role_arn(stage, "model"), session=SAGEMAKER_SESSION)
    artifact = f"{settings.bucket_name('artifacts')}/pipelines/training/x/Train/model.tar.gz"
    access.authorize(model, "s3:GetObject", resources=[f"arn:aws:s3:::{artifact}"])
    assert access.store is not None
    (key,) = {access.store.bucket_keys[settings.bucket_name("artifacts")]}
    via_s3 = {"kms:ViaService": f"s3.{settings.region}.amazonaws.com"}
    access.authorize(model, "kms:Decrypt", {"KeyId": key}, context=via_s3, on_behalf="s3")


def _without_statement(cdk_out: Path, to: Path, sid: str) -> Path:
    """A copy of ``cdk_out`` without the resource-policy statement ``sid`` (fails if none had it)."""
    shutil.copytree(cdk_out, to)
    removed = 0
    for path in to.glob("*.template.json"):
        template = json.loads(path.read_text())
        for resource in template["Resources"].values():
            for document in ("KeyPolicy", "PolicyDocument", "ModelPackageGroupPolicy"):
                policy = resource.get("Properties", {}).get(document)
                if isinstance(policy, dict) and isinstance(policy.get("Statement"), list):
                    kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
                    removed += len(policy["Statement"]) - len(kept)
                    policy["Statement"] = kept
        path.write_text(json.dumps(template))
    assert removed == 1, f"no statement {sid} to remove"
    return to


@pytest.mark.slow
def test_both_stages_deploy_with_the_synthesized_grants_and_no_denial(cdk_out: Path) -> None:
    access = _access(cdk_out)
    for stage in STAGES:
        _stage_deploy(access, SETTINGS, stage)
    assert [c for c in access.log.calls if not c.allowed] == []
    assert {c.principal.split(":")[4] for c in access.log.calls} == {BUILD, "111111111111", PROD_ACCOUNT}


@pytest.mark.slow
def test_only_the_build_accounts_deploy_function_may_assume_a_stage_deploy_role(cdk_out: Path) -> None:
    access = _access(cdk_out)
    job = Principal(role_arn=SETTINGS.role_arn("job"), session=SAGEMAKER_SESSION)
    target = SETTINGS.stage_role_arn(STAGES[1], "deploy")
    # The stage role's trust names the build account but only its deploy function's role (aws:PrincipalArn).
    refused = f"no resource-based policy allows the sts:AssumeRole action to account {BUILD}"
    with pytest.raises(AccessDeniedError, match=refused):
        access.authorize(job, "sts:AssumeRole", {"RoleArn": target})


@pytest.mark.slow
@pytest.mark.parametrize(
    "removed",
    [
        ("ProdAccountDecryptsModelArtifacts", "kms:Decrypt", ":key/", "the key policy does not allow"),
        ("ProdAccountReadsModelArtifacts", "s3:GetObject", "-artifacts-", "no resource-based policy allows"),
        (
            "ProdAccountDescribesModelPackages",
            "sagemaker:DescribeModelPackage",
            ":model-package/",
            "no resource",
        ),
    ],
)
def test_a_removed_cross_account_grant_fails_the_prod_deploy_naming_it(
    cdk_out: Path, tmp_path: Path, removed: tuple[str, str, str, str]
) -> None:
    sid, action, resource_part, reason = removed
    access = _access(_without_statement(cdk_out, tmp_path / "cdk.out", sid))
    _stage_deploy(access, SETTINGS, STAGES[0])  # staging keeps its own grant
    with pytest.raises(AccessDeniedError) as denied:
        _stage_deploy(access, SETTINGS, STAGES[1])
    message = str(denied.value)
    assert message.startswith(
        f"AccessDenied: User: arn:aws:sts::{PROD_ACCOUNT}:assumed-role/abalone-mlops-dev-prod-"
    )
    assert f"is not authorized to perform: {action} on resource: " in message
    assert resource_part in denied.value.decision.resource
    assert f"{reason}" in message and f"to account {PROD_ACCOUNT}" in message


def test_the_report_explains_every_grant_of_a_role_the_run_cannot_exercise() -> None:
    store = _store([IDENTITY], [])
    (report,) = build(store, [], {}, {ROLE: "a deployment stage's role"})
    assert [(g.action, g.reason) for g in report.unused] == [
        ("sagemaker:DescribeModelPackage", "a deployment stage's role")
    ]
    (unexplained,) = build(store, [], {})
    assert [g.action for g in unexplained.unexplained] == ["sagemaker:DescribeModelPackage"]


def _assembly(root: Path, stacks: dict[str, str], nested: tuple[str, ...] = ()) -> None:
    """A cloud assembly: stack name -> account, and the nested assemblies its manifest lists."""
    root.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {
        f"assembly-{name}": {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": f"assembly-{name}"},
        }
        for name in nested
    }
    for stack, account in stacks.items():
        artifacts[stack] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{account}/us-east-1",
            "properties": {"templateFile": f"{stack}.template.json"},
        }
        (root / f"{stack}.template.json").write_text(json.dumps({"Resources": {}}))
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))


def test_stage_templates_are_read_from_the_nested_assemblies_the_manifest_lists(tmp_path: Path) -> None:
    _assembly(tmp_path, {"Storage": BUILD}, nested=("Prod",))
    _assembly(tmp_path / "assembly-Prod", {"ProdRoles": PROD_ACCOUNT})
    _assembly(tmp_path / "assembly-Staging", {"StagingRoles": "111111111111"})  # stale: not listed
    templates = TemplateSet.load(SETTINGS, tmp_path)
    assert sorted(p.name for p in templates.templates) == ["ProdRoles.template.json", "Storage.template.json"]
    assert templates.environments[tmp_path / "assembly-Prod" / "ProdRoles.template.json"] == (
        PROD_ACCOUNT,
        "us-east-1",
    )
