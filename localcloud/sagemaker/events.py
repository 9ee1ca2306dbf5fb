"""The events SageMaker sends to EventBridge, for what the local cloud did.

In the account SageMaker emits an event when a pipeline execution changes status, when a model
package is created or its approval changes, and when an endpoint changes state; the project's rules
react to the first two (a package approved
in our group -> the deploy function; a failed execution -> a notification). The local executor
and registry emit nothing, so the loop builds these events from what ran and routes them through
the synthesized rules, as EventBridge would. Shapes: "Automating Amazon SageMaker with Amazon
EventBridge" (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from localcloud.event_envelope import envelope
from localcloud.sagemaker.executor.records import ExecutionRecord

SOURCE = "aws.sagemaker"
PIPELINE_EXECUTION_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
MODEL_PACKAGE_STATE = "SageMaker Model Package State Change"
ENDPOINT_STATE = "SageMaker Endpoint State Change"


def _event(detail_type: str, resources: list[str], detail: dict[str, Any], at: datetime) -> dict[str, Any]:
    _, _, _, region, account, *_ = resources[0].split(":")  # arn:aws:sagemaker:<region>:<account>:...
    return envelope(
        source=SOURCE,
        detail_type=detail_type,
        account=account,
        region=region,
        resources=resources,
        detail=detail,
        at=at,
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def pipeline_execution_status_change(record: ExecutionRecord, pipeline_arn: str) -> dict[str, Any]:
    """The execution's last transition (Executing -> its final status), as SageMaker reports it."""
    detail = {
        "currentPipelineExecutionStatus": str(record.status),
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": _iso(record.started_at),
        "executionEndTime": _iso(record.ended_at),
        "pipelineExecutionDisplayName": record.execution_id,
        "pipelineExecutionArn": record.execution_arn,
        "pipelineArn": pipeline_arn,
    }
    return _event(
        PIPELINE_EXECUTION_STATUS,
        [pipeline_arn, record.execution_arn],
        detail,
        record.ended_at or record.started_at,
    )


def model_package_state_change(package: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A model package's state, from its ``DescribeModelPackage`` answer (SageMaker puts the
    package's description in ``detail``; a new package emits one, each approval change another)."""
    fields = (
        "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelPackageDescription",
        "InferenceSpecification", "ModelPackageStatus", "ModelApprovalStatus", "ModelMetrics",
        "DriftCheckBaselines", "CustomerMetadataProperties", "CreatedBy",
    )  # fmt: skip
    detail: dict[str, Any] = {k: package[k] for k in fields if k in package}
    created = package.get("CreationTime")
    if isinstance(created, datetime):
        detail["CreationTime"] = int(created.timestamp() * 1000)  # epoch milliseconds in AWS's sample
    return _event(MODEL_PACKAGE_STATE, [package["ModelPackageArn"]], _jsonable(detail), at)


def endpoint_state_change(endpoint: dict[str, Any], tags: dict[str, str], at: datetime) -> dict[str, Any]:
    """An endpoint's state from its ``DescribeEndpoint`` answer and tags, in the event's own
    spelling: ``EndpointStatus`` upper snake case (``IN_SERVICE`` where the API says ``InService``),
    times in epoch milliseconds, each variant's desired weight and instance count."""
    variants = [
        {
            "DesiredWeight": float(v.get("DesiredWeight", v.get("CurrentWeight", 1.0))),
            "DesiredInstanceCount": float(v.get("DesiredInstanceCount", v.get("CurrentInstanceCount", 1))),
        }
        for v in endpoint.get("ProductionVariants", [])
    ]
    detail = {
        "EndpointName": endpoint["EndpointName"],
        "EndpointArn": endpoint["EndpointArn"],
        "EndpointConfigName": endpoint.get("EndpointConfigName"),
        "ProductionVariants": variants,
        "EndpointStatus": re.sub(r"(?<!^)(?=[A-Z])", "_", str(endpoint["EndpointStatus"])).upper(),
        "CreationTime": _epoch_ms(endpoint.get("CreationTime")),
        "LastModifiedTime": _epoch_ms(endpoint.get("LastModifiedTime")),
        "Tags": dict(tags),
    }
    return _event(ENDPOINT_STATE, [endpoint["EndpointArn"]], detail, at)


def _epoch_ms(moment: Any) -> float | None:
    return moment.timestamp() * 1000 if isinstance(moment, datetime) else None


def _jsonable(value: Any) -> Any:
    """boto3 answers carry datetimes; an event is JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _iso(value) if isinstance(value, datetime) else value
