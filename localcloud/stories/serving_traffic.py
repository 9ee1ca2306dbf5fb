"""The demo's traffic through the serving mode's own API, as a client of that endpoint sends it.

* realtime: ``InvokeEndpoint`` (the endpoint captures what it answers);
* serverless: ``InvokeEndpoint`` too, but a serverless endpoint captures nothing (data capture is
  one of its feature exclusions, https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html),
  so the client writes each answered request as a capture record itself, in SageMaker's format
  and layout under ``settings.capture_uri``: the drift monitor reads it like endpoint capture;
* async: each request's payload is put under ``settings.async_input_uri`` and sent with
  ``InvokeEndpointAsync``; the answer is read from the ``OutputLocation`` it returns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.sagemaker.endpoint import (
    CSV,
    AsyncRuntimeClient,
    CaptureConfig,
    CaptureWriter,
    InvocationError,
    LocalEndpoint,
    RuntimeClient,
    TrafficResult,
    capture_record,
    send_csv,
)
from pipelines.settings import ASYNC, SERVERLESS, Settings
from processing_scripts import s3_uri


@dataclass
class ClientCapture:
    """A ``sagemaker-runtime``-shaped client that writes each answered request as a capture
    record: what the application of a serverless endpoint does so its traffic is monitored."""

    runtime: RuntimeClient
    writer: CaptureWriter
    config: CaptureConfig
    variant: str
    clock: Any

    def invoke_endpoint(self, Body: bytes | str, ContentType: str = CSV, **kwargs: Any) -> dict[str, Any]:  # noqa: N803
        answer = self.runtime.invoke_endpoint(Body=Body, ContentType=ContentType, **kwargs)
        at = self.clock()
        body = Body.encode() if isinstance(Body, str) else Body
        record = capture_record(
            request_body=body,
            request_type=ContentType,
            response_body=answer["Body"],
            response_type=answer.get("ContentType") or CSV,
            inference_time=at,
            inference_id=kwargs.get("InferenceId"),
            csv_types=self.config.csv_content_types,
        )
        self.writer.write(self.config, self.variant, record, at)
        return answer


@dataclass
class AsyncSender:
    """Puts each payload in S3 and invokes the endpoint asynchronously; answers read from S3."""

    client: AsyncRuntimeClient
    s3: Any
    input_uri: str
    sent: list[str] = field(default_factory=list)  # InferenceIds

    def invoke_endpoint(self, Body: bytes | str, ContentType: str = CSV, **_: Any) -> dict[str, Any]:  # noqa: N803
        bucket, prefix = s3_uri.split(self.input_uri)
        key = f"{prefix}/{uuid.uuid4()}.csv"
        self.s3.put_object(Bucket=bucket, Key=key, Body=Body.encode() if isinstance(Body, str) else Body)
        started = self.client.invoke_endpoint_async(
            InputLocation=s3_uri.build(bucket, key), ContentType=ContentType
        )
        self.sent.append(started["InferenceId"])
        answer = _read(self.s3, started["OutputLocation"])
        if answer is None:
            failure = _read(self.s3, started["FailureLocation"]) or b"no output and no failure written"
            raise InvocationError(400, failure.decode(errors="replace").strip())
        return {"Body": answer, "ContentType": CSV}


def _read(s3: Any, uri: str) -> bytes | None:
    bucket, key = s3_uri.split(uri, key_required=True)
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


@dataclass
class ModeClient:
    """The client for the settings' serving mode; ``flush`` writes what the client captured."""

    mode: str
    client: Any  # RuntimeClient | ClientCapture | AsyncSender
    capture: CaptureWriter | None = None

    def send(self, lines: list[str], batch_size: int) -> TrafficResult:
        return send_csv(self.client, lines, batch_size=batch_size)

    def invoke(self, line: str) -> str:
        return bytes(self.client.invoke_endpoint(Body=line + "\n", ContentType=CSV)["Body"]).decode().strip()

    def flush(self) -> list[str]:
        return self.capture.flush() if self.capture else []


def mode_client(settings: Settings, endpoint: LocalEndpoint, s3: Any) -> ModeClient:
    """The client an application of this serving mode would use; ``s3`` is the application's."""
    mode = settings.serving.mode
    runtime = RuntimeClient(endpoint.url)
    if mode == ASYNC:
        return ModeClient(mode, AsyncSender(AsyncRuntimeClient(endpoint), s3, settings.async_input_uri))
    if mode == SERVERLESS:
        writer = CaptureWriter(s3, settings.endpoint_name)
        config = CaptureConfig(
            enabled=True,
            sampling_percentage=100,  # the client writes every answered request
            destination_uri=settings.capture_uri,
        )
        capturing = ClientCapture(runtime, writer, config, settings.serving.variant_name, endpoint.clock)
        return ModeClient(mode, capturing, writer)
    return ModeClient(mode, runtime)
