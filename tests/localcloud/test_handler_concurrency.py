"""The event handlers under concurrency in the emulator: EventBridge delivers at least once and Lambda
runs deliveries in parallel, so duplicates and bursts arrive at the same moment (issue 11, defect 8).

Before the fix the deploy handler's check-then-create made a duplicate approval create twice (in AWS
the second create fails with "Cannot create already existing"), and 100 distinct alarm events from 8
threads started 4-5 retraining runs. The emulator refuses duplicate names and honours
ClientRequestToken as SageMaker does (:mod:`localcloud.moto_extensions.sagemaker_rules`).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.lambda_environment import environment_for
from infra.lambdas import deploy, retrain_guard
from localcloud import LocalAws
from pipelines import parameters
from tests.localcloud.conftest import SETTINGS, XGBOOST_IMAGE

THREADS = 8


def all_at_once(
    events: list[dict[str, Any]], handler: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[Any]:
    """Run ``handler`` on every event from THREADS threads released together by a barrier."""
    barrier = threading.Barrier(THREADS)

    def worker(batch: list[dict[str, Any]]) -> list[Any]:
        barrier.wait()
        return [handler(event) for event in batch]

    batches = [events[i::THREADS] for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        return [result for batch in pool.map(worker, batches) for result in batch]


def test_one_approval_delivered_eight_times_at_once_creates_once(local_aws: LocalAws) -> None:
    sagemaker = local_aws.clients.sagemaker
    package = sagemaker.create_model_package(
        ModelPackageGroupName=SETTINGS.model_package_group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{SETTINGS.pipeline_artifacts_uri}/m.tar.gz"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    event = {
        "id": str(uuid.uuid4()),
        "source": "aws.sagemaker",
        "detail-type": deploy.PACKAGE_EVENT,
        "detail": {"ModelPackageArn": package, "ModelApprovalStatus": "Approved"},
    }
    env = environment_for(SETTINGS, "deploy")
    results = all_at_once([event] * THREADS, lambda e: deploy.handle(e, local_aws.clients.client, env))
    assert Counter(r["status"] for r in results) == {"created": 1, "unchanged": THREADS - 1}
    assert len(sagemaker.list_models()["Models"]) == 1
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1
    assert (
        sagemaker.describe_endpoint(EndpointName=SETTINGS.endpoint_name)["EndpointConfigName"]
        == (results[0]["endpoint_config_name"])
    )


def test_a_burst_of_distinct_and_duplicate_alarm_events_starts_one_retraining(local_aws: LocalAws) -> None:
    pipeline = SETTINGS.training_pipeline_name
    local_aws.clients.sagemaker.create_pipeline(
        PipelineName=pipeline,
        PipelineDefinition='{"Version": "2020-12-01", "Steps": []}',
        RoleArn=SETTINGS.role_arn("pipeline"),
    )
    env = environment_for(SETTINGS, "retrain-guard")
    distinct = [
        {
            "PipelineName": pipeline,
            "PipelineParameterList": [{"Name": parameters.TRIGGERED_BY, "Value": "drift-alarm"}],
            "event": {
                "id": str(uuid.uuid4()),
                "source": "aws.cloudwatch",
                "time": f"2026-12-01T13:{m:02d}:00Z",
            },
        }
        for m in range(50)
    ]
    events = distinct + distinct  # every event delivered twice
    results = all_at_once(events, lambda e: retrain_guard.handle(e, local_aws.clients.client, env))
    executions = local_aws.clients.sagemaker.list_pipeline_executions(PipelineName=pipeline)
    assert len(executions["PipelineExecutionSummaries"]) == 1
    started = {r["pipeline_execution_arn"] for r in results if r["action"] == "started"}
    assert started == {executions["PipelineExecutionSummaries"][0]["PipelineExecutionArn"]}
    assert sum(r["action"] == "skipped" for r in results) >= len(events) - THREADS
