"""Promotion across accounts in the local cloud: build account -> staging -> prod.

Each step is what runs in AWS, as the principal that runs it there:

* :func:`deploy_to_stage`: the build account's deploy function, invoked with ``{"model_package_arn",
  "stage"}``, assumes the stage's deploy role and creates the stage's endpoint in the stage account
  (a later stage only for a version whose approval for it is recorded in the registry); the first
  stage is deployed so by the package-approved rule on the version's approval, and the function
  records each deployment on the package (``<stage>-deployed-at``);
* :func:`check_stage`: the staging test (:mod:`pipelines.stage_check`) against the stage's endpoint,
  served locally as the stage's model role (its artifact read across accounts, its capture written
  to the build account's capture bucket);
* rollback is :func:`deploy_to_stage` with the previous version;
* :func:`promote_through_stages`: the whole way, as ``demo`` runs it with ``MLOPS_STAGES``.

Every call is checked against the synthesized policies, so a missing cross-account grant fails the
step with AWS's AccessDenied naming it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from localcloud.account import LocalAws
from localcloud.awslambda import FunctionError, LambdaRegistry
from localcloud.eventbridge import EventRouter
from localcloud.iam import AccessControl
from localcloud.iam.calls import with_denials
from localcloud.sagemaker.endpoint import LocalEndpoint, RuntimeClient
from localcloud.stories import StoryError
from localcloud.stories.stage_events import forward_endpoint_state
from localcloud.stories.traffic import TrafficKind, generate, to_csv_lines
from pipelines.settings import Settings, Stage
from pipelines.stage_check import LOAD_REQUESTS, StageCheck
from pipelines.stage_check import check_stage as run_checks
from processing_scripts import s3_uri


class PromotionError(StoryError):
    """A promotion step failed; the message is one line (AWS's AccessDenied when IAM refused)."""


def deploy_to_stage(
    settings: Settings, access: AccessControl, lambdas: LambdaRegistry, package_arn: str, stage: Stage
) -> dict[str, Any]:
    """Invoke the deploy function for ``stage`` as its role; its answer (``status`` created,
    updated, unchanged or skipped with a ``reason``)."""
    function = lambdas.function(settings.function_arn("deploy"))
    event = {"model_package_arn": package_arn, "stage": stage.name}
    try:
        result: dict[str, Any] = function.invoke(event, access.function_clients(function.arn, function.name))
    except FunctionError as err:
        raise PromotionError(f"deploy to {stage.name}: {err}") from err
    return result


def stage_endpoint(settings: Settings, aws: LocalAws, access: AccessControl, stage: Stage) -> LocalEndpoint:
    """The stage's endpoint, served locally from the stage account's control plane (port: any free)."""
    return LocalEndpoint(
        settings,
        aws.administrator(stage.account, stage.region),
        port=0,
        access=access,
        endpoint_name=settings.stage_endpoint_name(stage),
    )


def serve(endpoint: LocalEndpoint, access: AccessControl, stage: Stage) -> None:
    """Load what the stage's control plane says is deployed, as SageMaker hosting does when the
    endpoint is created: the model role reads the artifact across accounts. A failure (AWS: the
    endpoint goes ``Failed``) is a :class:`PromotionError` naming the IAM denial behind it."""
    mark = access.log.mark()
    try:
        deployed = endpoint.reconcile()
    except Exception as err:  # whatever stopped the model from loading, said in one line
        reason = f"the {stage.name} endpoint {endpoint.endpoint_name} cannot load its model: {' '.join(str(err).split())}"
        raise PromotionError(with_denials(reason, access.log.denied_since(mark))) from err
    if deployed is None:
        raise PromotionError(f"nothing is deployed to the {stage.name} endpoint {endpoint.endpoint_name}")


def check_stage(settings: Settings, aws: LocalAws, endpoint: LocalEndpoint, *, seed: int = 7) -> StageCheck:
    """The staging test against a running stage endpoint (served: see :func:`serve`)."""
    client = RuntimeClient(endpoint.url)
    bucket, prefix = s3_uri.split(settings.capture_uri)
    capture_prefix = f"{prefix}/{endpoint.endpoint_name}/"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{endpoint.url}/ping", timeout=5) as answer:  # 127.0.0.1 only
                return bool(answer.status == 200)
        except urllib.error.URLError:
            return False

    def invoke(body: str) -> str:
        return bytes(client.invoke_endpoint(Body=body)["Body"]).decode()

    def captured() -> int:
        endpoint.flush()
        paginator = aws.clients.s3.get_paginator("list_objects_v2")
        keys = [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=capture_prefix)
            for item in page.get("Contents", [])
        ]
        return sum(
            len(aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()) for key in keys
        )

    rows = to_csv_lines(generate(TrafficKind.NORMAL, LOAD_REQUESTS, seed=seed))
    return run_checks(endpoint.endpoint_name, healthy=healthy, invoke=invoke, captured=captured, rows=rows)


Note = Callable[[str, str], None]  # (what happened, why): a story's timeline


def promote_through_stages(
    settings: Settings,
    aws: LocalAws,
    access: AccessControl,
    lambdas: LambdaRegistry,
    package_arn: str,
    *,
    note: Note,
    approver: str = "local-demo",
    router: EventRouter | None = None,
) -> None:
    """Test an approved version in each stage in order: the first stage deployed on its approval
    (by the package-approved rule, which the caller routed the package's event through), each
    later one only after the staging test passed and a second approval is recorded (as
    ``pipelines approve VERSION --stage prod`` records it; here the demo is the approver). With a
    ``router``, each stage endpoint's state change goes to the build account as EventBridge sends it."""
    version = package_arn.rsplit("/", 1)[-1]
    for index, stage in enumerate(settings.stages):
        if index:
            _record_approval(settings, aws, package_arn, stage, approver)
            note(
                f"{stage.name} approval recorded for {version} by {approver}",
                f"a later stage waits for it (`pipelines approve VERSION --stage {stage.name}`)",
            )
            result = deploy_to_stage(settings, access, lambdas, package_arn, stage)
            if result.get("status") == "skipped":
                raise PromotionError(f"deploy to {stage.name} skipped: {result.get('reason')}")
            note(
                f"{stage.name} ({stage.account}): endpoint {result['endpoint_name']} {result['status']} "
                f"with {result['model_name']}",
                f"the build account's deploy function as {settings.stage_role_name(stage, 'deploy')} (sts:AssumeRole)",
            )
        else:
            deployed_at = _deployed_at(settings, aws, package_arn, stage)
            note(
                f"{stage.name} ({stage.account}): {settings.stage_endpoint_name(stage)} deployed with "
                f"version {version} at {deployed_at}",
                f"on its approval, by the rule {settings.prefix}-package-approved: the deploy function as "
                f"{settings.stage_role_name(stage, 'deploy')} (sts:AssumeRole)",
            )
        with stage_endpoint(settings, aws, access, stage) as endpoint:
            serve(endpoint, access, stage)
            check = check_stage(settings, aws, endpoint)
        if not check.passed:
            raise PromotionError(f"the {stage.name} test failed: {'; '.join(check.failures)}")
        note(f"{stage.name} test passed", "; ".join(check.lines()))
        if router is not None:
            forward_endpoint_state(settings, aws, router, stage, note=note)


def _deployed_at(settings: Settings, aws: LocalAws, package_arn: str, stage: Stage) -> str:
    """When the deploy function recorded deploying ``package_arn`` to ``stage``; an error when it
    did not (the package-approved rule's stage target did not run or failed)."""
    properties = aws.clients.sagemaker.describe_model_package(ModelPackageName=package_arn).get(
        "CustomerMetadataProperties", {}
    )
    key = settings.stage_approval_key(stage, "deployed-at")
    if key not in properties:
        raise PromotionError(
            f"{package_arn} was not deployed to {stage.name} on its approval (no {key} in the registry): "
            f"see the rule {settings.prefix}-package-approved's deliveries on the timeline"
        )
    return str(properties[key])


def _record_approval(
    settings: Settings, aws: LocalAws, package_arn: str, stage: Stage, approver: str
) -> None:
    record = {
        settings.stage_approval_key(stage, "approved-by"): approver,
        settings.stage_approval_key(stage, "approved-at"): datetime.now(UTC).isoformat(timespec="seconds"),
        settings.stage_approval_key(stage, "approval-note"): f"{settings.stages[0].name} test passed",
    }
    aws.clients.sagemaker.update_model_package(ModelPackageArn=package_arn, CustomerMetadataProperties=record)
