"""Promotion across three emulated accounts with IAM enforced from the synthesized policies: the
build account's deploy function deploys an approved version to staging (assuming the stage's deploy
role), the staging test passes against the stage's endpoint, prod waits for the recorded second
approval, a rollback is the previous version, and a removed cross-account grant fails the prod
deploy with AWS's AccessDenied naming it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xgboost as xgb

from infra.ci_access import CONTEXT_FLAG
from localcloud.account import LocalAws
from localcloud.awslambda import FunctionError, LambdaRegistry
from localcloud.cloud import LocalCloud, Synthesized, synthesize
from localcloud.cloudformation import TemplateSet
from localcloud.eventbridge import Delivery, EventRouter, load_rules
from localcloud.iam import AccessControl, PolicyStore
from localcloud.iam.evaluator import Principal
from localcloud.sagemaker.events import model_package_state_change
from localcloud.stories import loop
from localcloud.stories.promotion import (
    PromotionError,
    check_stage,
    deploy_to_stage,
    promote_through_stages,
    serve,
    stage_endpoint,
)
from localcloud.stories.traffic import load_features
from pipelines.cli.exit_codes import ExitCode
from pipelines.settings import STAGES_ENV, Stage
from tests.localcloud.stages import BUILD, PROD, SETTINGS, STAGES, STAGING, running_with_stages
from tests.pipelines.cli_runner import assert_iam_report_clean, one_line_error, run

pytestmark = pytest.mark.slow  # the CDK app synthesizes the three accounts' stacks once per module

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


REPOSITORY = "example-org/abalone-mlops"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(SETTINGS, tmp_path_factory.mktemp("stages"), cdk_validation=False)


@pytest.fixture(scope="module")
def with_ci_roles(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the GitHub roles too (`cdk synth -c ci-access=true`): CI's promote role is
    checked against what the commands it runs call."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDK_CONTEXT_JSON", json.dumps({CONTEXT_FLAG: "true"}))
        patch.setenv("MLOPS_GITHUB_REPOSITORY", REPOSITORY)
        return synthesize(SETTINGS, tmp_path_factory.mktemp("ci-roles"), cdk_validation=False)


@pytest.fixture(scope="module")
def cdk_out(synthesized: Synthesized) -> Path:
    return synthesized.cdk_out


class Promotion:
    """An emulator with IAM on, the project's functions, and a registry to put versions in."""

    def __init__(self, aws: LocalAws, cdk_out: Path) -> None:
        self.aws = aws
        self.access = AccessControl(aws, PolicyStore.from_templates(TemplateSet.load(SETTINGS, cdk_out)))
        self.lambdas = LambdaRegistry.for_project(SETTINGS)

    def register(self, version: int) -> str:
        """An Approved version whose artifact is a real XGBoost model under the pipelines' outputs."""
        features = load_features()
        booster = xgb.train(
            {"max_depth": 2}, xgb.DMatrix(features.to_numpy(), label=features.iloc[:, 0]), version
        )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            raw = bytes(booster.save_raw("json"))
            info = tarfile.TarInfo("xgboost-model")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
        bucket, key = SETTINGS.bucket_name("artifacts"), f"pipelines/training/v{version}/Train/model.tar.gz"
        self.aws.clients.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        return str(
            self.aws.clients.sagemaker.create_model_package(
                ModelPackageGroupName=SETTINGS.model_package_group,
                ModelApprovalStatus="Approved",
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )["ModelPackageArn"]
        )

    def approve_for_prod(self, package: str) -> None:
        key = SETTINGS.stage_approval_key(STAGES[1], "approved-by")
        self.aws.clients.sagemaker.update_model_package(
            ModelPackageArn=package,
            CustomerMetadataProperties={key: "arn:aws:iam::123456789012:user/reviewer"},
        )

    def approval_event(self, package: str, cdk_out: Path) -> list[Delivery]:
        """The package's state-change event through the synthesized rules, as EventBridge routes
        it on the version's approval."""
        router = EventRouter(
            rules=load_rules(TemplateSet.load(SETTINGS, cdk_out)),
            settings=SETTINGS,
            client=self.aws.clients.client,
            start_pipeline=lambda start: None,
            lambdas=self.lambdas,
            access=self.access,
        )
        described = self.aws.clients.sagemaker.describe_model_package(ModelPackageName=package)
        with self.access:
            return router.route(model_package_state_change(described, datetime.now(UTC)))

    def deploy(self, package: str, stage: Stage) -> dict[str, object]:
        with self.access:
            return deploy_to_stage(SETTINGS, self.access, self.lambdas, package, stage)

    def served_version(self, stage: Stage) -> str:
        sagemaker = self.aws.administrator(stage.account).sagemaker
        endpoint = sagemaker.describe_endpoint(EndpointName=SETTINGS.stage_endpoint_name(stage))
        return str(endpoint["EndpointConfigName"]).split("-v")[-1].split("-")[0]


@pytest.fixture
def promotion(cdk_out: Path) -> Iterator[Promotion]:
    with LocalAws(SETTINGS, upload_sample_data=False) as aws:
        yield Promotion(aws, cdk_out)


def test_an_approved_version_reaches_staging_passes_its_check_and_waits_for_prod_approval(
    promotion: Promotion,
) -> None:
    package = promotion.register(1)
    staged = promotion.deploy(package, STAGES[0])
    assert staged["status"] == "created"
    # The endpoint is in the staging account; the build account has none.
    assert promotion.served_version(STAGES[0]) == "1"
    assert promotion.aws.clients.sagemaker.list_endpoints()["Endpoints"] == []

    with promotion.access, stage_endpoint(SETTINGS, promotion.aws, promotion.access, STAGES[0]) as endpoint:
        serve(endpoint, promotion.access, STAGES[0])
        result = check_stage(SETTINGS, promotion.aws, endpoint)
    assert result.passed, result.lines()

    waiting = promotion.deploy(package, STAGES[1])
    assert waiting["status"] == "skipped"
    assert "no prod approval recorded" in str(waiting["reason"])
    promotion.approve_for_prod(package)
    prod = promotion.deploy(package, STAGES[1])
    assert prod["status"] == "created", prod["reason"]
    assert promotion.served_version(STAGES[1]) == "1"
    assert [c for c in promotion.access.log.calls if not c.allowed] == []
    accounts = {c.principal.split(":")[4] for c in promotion.access.log.calls}
    assert accounts == {BUILD, STAGING, PROD}


def test_an_approval_deploys_to_staging_by_the_rule_and_the_deployment_is_recorded(
    promotion: Promotion, cdk_out: Path
) -> None:
    package = promotion.register(1)
    deliveries = promotion.approval_event(package, cdk_out)
    staged = [d.result for d in deliveries if isinstance(d.result, dict) and d.result.get("stage")]
    assert [(d["stage"], d["status"]) for d in staged] == [("staging", "created")]
    assert promotion.served_version(STAGES[0]) == "1"
    properties = promotion.aws.clients.sagemaker.describe_model_package(ModelPackageName=package)
    assert "staging-deployed-at" in properties["CustomerMetadataProperties"]
    assert promotion.access.log.denied == []


def test_the_demos_promotion_records_the_prod_approval_and_tests_each_stage(
    promotion: Promotion, cdk_out: Path
) -> None:
    package = promotion.register(1)
    promotion.approval_event(package, cdk_out)
    notes: list[str] = []
    with promotion.access:
        promote_through_stages(
            SETTINGS,
            promotion.aws,
            promotion.access,
            promotion.lambdas,
            package,
            note=lambda what, why: notes.append(what),
        )
    assert [n.split(" ", 2)[:2] for n in notes] == [
        ["staging", "(111111111111):"],
        ["staging", "test"],
        ["prod", "approval"],
        ["prod", "(222222222222):"],
        ["prod", "test"],
    ]
    properties = promotion.aws.clients.sagemaker.describe_model_package(ModelPackageName=package)
    assert properties["ModelApprovalStatus"] == "Approved"  # recording the approval keeps the status
    assert properties["CustomerMetadataProperties"]["prod-approved-by"] == "local-demo"
    assert promotion.access.log.denied == []


def test_rollback_is_the_previous_version_deployed_again(promotion: Promotion) -> None:
    first, second = promotion.register(1), promotion.register(2)
    for package in (first, second):
        promotion.approve_for_prod(package)
        promotion.deploy(package, STAGES[1])
    assert promotion.served_version(STAGES[1]) == "2"
    assert promotion.deploy(first, STAGES[1])["status"] == "updated"
    assert promotion.served_version(STAGES[1]) == "1"


def _without_statement(cdk_out: Path, to: Path, sid: str) -> Path:
    shutil.copytree(cdk_out, to)
    for path in to.glob("*.template.json"):
        template = json.loads(path.read_text())
        for resource in template["Resources"].values():
            policy = resource.get("Properties", {}).get("KeyPolicy")
            if isinstance(policy, dict):
                policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]
        path.write_text(json.dumps(template))
    return to


def test_without_the_prod_key_policy_statement_the_prod_endpoint_cannot_read_its_model(
    cdk_out: Path, tmp_path: Path
) -> None:
    edited = _without_statement(cdk_out, tmp_path / "cdk.out", "ProdAccountDecryptsModelArtifacts")
    with LocalAws(SETTINGS, upload_sample_data=False) as aws:
        promotion = Promotion(aws, edited)
        package = promotion.register(1)
        promotion.approve_for_prod(package)
        assert promotion.deploy(package, STAGES[1])["status"] == "created"
        with (
            promotion.access,
            stage_endpoint(SETTINGS, aws, promotion.access, STAGES[1]) as endpoint,
            pytest.raises(PromotionError) as denied,
        ):
            serve(endpoint, promotion.access, STAGES[1])
    message = str(denied.value)
    assert "\n" not in message
    assert (
        f"IAM denied: {SETTINGS.stage_role_arn(STAGES[1], 'model')} may not kms:Decrypt on arn:aws:kms:"
        in message
    )
    assert f"because the key policy does not allow the kms:Decrypt action to account {PROD}" in message


def test_a_stage_that_is_not_configured_is_refused_in_one_line(promotion: Promotion) -> None:
    package = promotion.register(1)
    function = promotion.lambdas.function(SETTINGS.function_arn("deploy"))
    client = promotion.access.function_clients(function.arn, function.name)
    with (
        promotion.access,
        pytest.raises(
            FunctionError,
            match=re.escape("event.stage 'qa' is not a configured stage (stages: staging, prod)"),
        ),
    ):
        function.invoke({"model_package_arn": package, "stage": "qa"}, client)


# -- the commands, as a user runs them against the local cloud -------------------------------------------
@pytest.fixture
def cloud(synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    with running_with_stages(synthesized, tmp_path / "runs", monkeypatch) as running:
        yield running


@pytest.fixture
def ci_cloud(
    with_ci_roles: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalCloud]:
    with running_with_stages(with_ci_roles, tmp_path / "runs", monkeypatch) as running:
        yield running


def test_promote_and_rollback_as_a_user_runs_them(
    cloud: LocalCloud, synthesized: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    promotion = Promotion(cloud.aws, synthesized.cdk_out)  # its registry: the cloud enforces IAM itself
    first, second = promotion.register(1), promotion.register(2)

    code, out, err = run(capsys, "promote", "1", "--stage", "staging")
    assert code == 0, err
    assert out.startswith("staging: abalone-mlops-dev-staging-endpoint created with ") and first in out

    code, _, err = run(capsys, "promote", "1", "--stage", "prod")
    message, _ = one_line_error(err)
    assert code == ExitCode.FAILED
    assert (
        message
        == "prod not deployed: no prod approval recorded (prod-approved-by); `pipelines approve VERSION --stage prod`"
    )

    for version in ("1", "2"):
        assert run(capsys, "approve", version, "--stage", "prod", "-m", "staging passed")[0] == 0
        code, _, err = run(capsys, "promote", version, "--stage", "prod")
        assert code == 0, err
    assert promotion.served_version(STAGES[1]) == "2"

    code, out, err = run(capsys, "rollback", "--stage", "prod")
    assert code == 0, err
    assert f"rolled back from {second} to {first} (updated)" in out
    assert promotion.served_version(STAGES[1]) == "1"
    code, _, err = run(capsys, "rollback", "--stage", "prod")  # version 2 was rolled back: none before 1
    assert code == ExitCode.NOT_FOUND
    assert one_line_error(err)[0].startswith("prod has no earlier version to roll back to (1 deployed")
    assert cloud.access.log.denied == []


def test_ci_approves_promotes_and_rolls_back_prod_with_its_promote_role_alone(
    ci_cloud: LocalCloud,
    with_ci_roles: Synthesized,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What .github/workflows/promote.yml runs, as the role it runs as (infra/ci_access.py)."""
    promotion = Promotion(ci_cloud.aws, with_ci_roles.cdk_out)
    first, _ = promotion.register(1), promotion.register(2)
    role = f"arn:aws:iam::{BUILD}:role/{SETTINGS.project}-github-promote-{SETTINGS.region}"
    key, secret = ci_cloud.access.credentials(Principal(role_arn=role, session="promote-octocat"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    for version in ("1", "2"):
        code, _, err = run(capsys, "approve", version, "--stage", "prod", "-m", "approved in GitHub")
        assert code == 0, err
        code, _, err = run(capsys, "promote", version, "--stage", "prod")
        assert code == 0, err
    code, _, err = run(capsys, "rollback", "--stage", "prod")
    assert code == 0, err
    assert promotion.served_version(STAGES[1]) == "1"
    promoter = [c for c in ci_cloud.access.log.calls if c.principal.startswith(role)]
    assert {c.action for c in promoter} == {
        "sagemaker:ListModelPackages",
        "sagemaker:DescribeModelPackage",
        "sagemaker:UpdateModelPackage",
        "lambda:InvokeFunction",
        "sts:GetCallerIdentity",
    }
    assert ci_cloud.access.log.denied == []
    recorded = ci_cloud.aws.clients.sagemaker.describe_model_package(ModelPackageName=first)
    assert recorded["CustomerMetadataProperties"]["prod-approval-note"] == "approved in GitHub"


def test_promote_to_a_stage_not_configured_is_one_line(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "promote", "1", "--stage", "qa")
    assert code == ExitCode.USAGE
    assert one_line_error(err)[0] == "no stage 'qa' configured (stages: staging, prod); set MLOPS_STAGES"


def test_the_staged_demo_retrains_on_prod_drift_until_prod_serves_the_retrained_version(
    synthesized: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`demo` with MLOPS_STAGES, as a user runs it (on this module's synthesis): the traffic goes to
    the prod endpoint in the prod account, the build account's prod schedule checks its capture, the
    prod drift alarm starts retraining in the build account, and version 2 goes through staging and
    prod again; nothing denied, every unused grant explained."""
    run_demo = loop.run_demo

    def on_synthesized(settings, options, listener=None):  # type: ignore[no-untyped-def]
        return run_demo(settings, dataclasses.replace(options, synthesized=synthesized), listener)

    monkeypatch.setattr(loop, "run_demo", on_synthesized)
    monkeypatch.setenv(STAGES_ENV, ",".join(f"{s.name}:{s.account}" for s in STAGES))
    code, out, err = run(
        capsys, "--env", "dev", "demo", "--port", "0", "--out", str(tmp_path), "--rows", "300"
    )
    assert code == 0, err
    prod = STAGES[1]
    alarm = SETTINGS.stage_drift_alarm_name(prod)
    endpoint = SETTINGS.stage_endpoint_name(prod)
    assert out.strip().splitlines()[-1] == (
        f"retraining started by {alarm} -> model version 2 registered and deployed to prod ({PROD})"
    )
    whats = [entry["what"] for entry in json.loads((tmp_path / "timeline.json").read_text())["timeline"]]
    hops = [
        f"sent 300 drifted rows to {endpoint} in the prod account ({PROD})",
        f"schedule {SETTINGS.stage_monitoring_schedule_name(prod)} ",
        "monitoring verdict: drift ",
        f"in the build account ({BUILD}): {alarm}: OK->ALARM",
        f"event {alarm} ALARM -> rule {SETTINGS.retrain_rule_names['drift']} -> lambda retrain-guard in the "
        f"build account ({BUILD}): started",
        f"run {SETTINGS.training_pipeline_name} (TriggeredBy=drift-alarm",
        f"-> rule {SETTINGS.prefix}-package-approved -> lambda deploy (stage staging) in the build account",
        f"staging ({STAGING}): {SETTINGS.stage_endpoint_name(STAGES[0])} deployed with version 2 at ",
        f"prod ({PROD}): endpoint {endpoint} updated with {endpoint}-v2-",
        f"prod ({PROD}): endpoint {endpoint} serves model version 2",
    ]
    at = -1
    for hop in hops:  # each hop, in this order
        at = next((i for i in range(at + 1, len(whats)) if hop in whats[i]), len(whats))
        assert at < len(whats), f"not on the timeline after the previous hop: {hop}"
    assert_iam_report_clean(capsys, tmp_path / "runs", synthesized.cdk_out)
