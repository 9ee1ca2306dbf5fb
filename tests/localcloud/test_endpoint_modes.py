"""The local endpoint in the serverless and async serving modes, deployed by the real deploy
function: serverless limits and client-written capture, InvokeEndpointAsync through S3 and SNS."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from localcloud.moto_extensions import sagemaker_hosting, sagemaker_rules
from localcloud.sagemaker.endpoint import SERVERLESS_MAX_PAYLOAD_BYTES, InvocationError, RuntimeClient
from localcloud.stories.serving_traffic import mode_client
from localcloud.stories.traffic import TrafficKind, generate, to_csv_lines
from pipelines.settings import ASYNC, SERVERLESS, Settings
from processing_scripts import s3_uri
from processing_scripts.aws_clients import AwsClients, AwsTarget
from tests.localcloud.test_endpoint import SETTINGS, _capture_lines, _endpoint, _predict

LINES = to_csv_lines(generate(TrafficKind.NORMAL, 40, seed=3))


def _in_mode(mode: str) -> Settings:
    return dataclasses.replace(SETTINGS, serving=dataclasses.replace(SETTINGS.serving, mode=mode))


@pytest.fixture
def clients() -> Iterator[AwsClients]:
    """moto with the local cloud's SageMaker extensions (UpdateEndpoint, SageMaker's rules)."""
    sagemaker_hosting.install()
    sagemaker_rules.install()
    with mock_aws():
        yield AwsClients(AwsTarget(region=SETTINGS.region))


def test_serverless_answers_within_its_limits_and_the_client_captures(clients) -> None:
    settings = _in_mode(SERVERLESS)
    endpoint, registry = _endpoint(clients, settings)
    with endpoint:
        booster = registry.deploy(1)
        assert endpoint.reconcile().serverless
        client = mode_client(settings, endpoint, clients.s3)
        sent = client.send(LINES, batch_size=10)
        assert sent.errors == [] and sent.predictions == pytest.approx(_predict(booster, LINES), rel=1e-5)
        assert endpoint.flush() == []  # a serverless endpoint captures nothing itself
        written = client.flush()
        assert written and all(
            f"/{settings.endpoint_name}/{settings.serving.variant_name}/" in u for u in written
        )
        records = [record for _, record in _capture_lines(clients, settings)]
        assert sum(len(r["captureData"]["endpointInput"]["data"].splitlines()) for r in records) == len(LINES)
        assert {r["captureData"]["endpointInput"]["encoding"] for r in records} == {"CSV"}
        too_big = "1," * (SERVERLESS_MAX_PAYLOAD_BYTES // 2 + 1)
        with pytest.raises(InvocationError, match="serverless endpoint takes at most 4194304") as refused:
            RuntimeClient(endpoint.url).invoke_endpoint(Body=too_big)
        assert refused.value.status == 400


def test_async_reads_s3_writes_the_answer_and_notifies_success(clients) -> None:
    settings = _in_mode(ASYNC)
    endpoint, registry = _endpoint(clients, settings)
    topic = clients.client("sns").create_topic(Name=settings.async_topic_name("success"))["TopicArn"]
    queue = clients.client("sqs").create_queue(QueueName="answers")["QueueUrl"]
    queue_arn = clients.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    clients.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    with endpoint:
        booster = registry.deploy(1)
        assert endpoint.reconcile().async_output is not None
        with pytest.raises(InvocationError, match="asynchronous: send the payload to S3"):
            RuntimeClient(endpoint.url).invoke_endpoint(Body=LINES[0] + "\n")
        client = mode_client(settings, endpoint, clients.s3)
        sent = client.send(LINES, batch_size=20)
        assert sent.errors == [] and sent.predictions == pytest.approx(_predict(booster, LINES), rel=1e-5)
        endpoint.flush()
    outputs = clients.s3.list_objects_v2(
        Bucket=settings.bucket_name("capture"), Prefix=s3_uri.split(settings.async_output_uri)[1]
    )["Contents"]
    assert len(outputs) == 2
    messages = clients.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notice = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert notice["invocationStatus"] == "Completed" and notice["eventName"] == "InferenceResult"
    assert notice["responseParameters"]["sageMakerOutputLocation"].startswith(settings.async_output_uri)
    captured = clients.s3.list_objects_v2(
        Bucket=settings.bucket_name("capture"), Prefix=s3_uri.split(settings.capture_uri)[1]
    )
    assert captured["KeyCount"] > 0  # an async endpoint captures like a real-time one


def test_async_failure_goes_to_the_failure_path(clients) -> None:
    settings = _in_mode(ASYNC)
    endpoint, registry = _endpoint(clients, settings)
    with endpoint:
        with pytest.raises(InvocationError, match="no model deployed"):
            endpoint.invoke_async(f"{settings.async_input_uri}/any.csv", "text/csv", None)
        registry.deploy(1)
        endpoint.reconcile()
        answer = endpoint.invoke_async(f"{settings.async_input_uri}/missing.csv", "text/csv", "req-9")
    assert answer["FailureLocation"] == f"{settings.async_failure_uri}/req-9-error.out"
    bucket, key = s3_uri.split(answer["FailureLocation"], key_required=True)
    assert b"could not read the request" in clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
