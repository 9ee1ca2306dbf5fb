"""A local SageMaker endpoint: the inference contract over HTTP, data capture, and hot model swaps.

It serves what the emulated SageMaker control plane says is deployed. After the deploy function
creates or updates the endpoint in the emulator, :meth:`LocalEndpoint.reconcile` follows the same
chain SageMaker hosting does: endpoint -> endpoint config (variant, DataCaptureConfig) -> model ->
model package -> ``ModelDataUrl``; it downloads that ``model.tar.gz``, loads it with
``processing_scripts.inference.load_model`` (or, for a script-mode model, whose container
environment names ``SAGEMAKER_PROGRAM``, with the user's ``model_fn`` from the
``SAGEMAKER_SUBMIT_DIRECTORY`` archive, answering through its hooks as the framework's serving
container does: :mod:`processing_scripts.script_model`) and swaps it in. A swap replaces one reference: a
request in flight keeps the model it started with, new requests get the new one, none is dropped.

The HTTP side is SageMaker's container contract on 127.0.0.1: ``GET /ping`` and
``POST /invocations`` (``text/csv``, answered by ``inference.predict_csv``). Every answered request
is captured, at the endpoint config's sampling percentage, in SageMaker's JSON Lines format under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`` in the emulator's S3,
buffered and flushed like the real capture agent. The endpoint also publishes the ``AWS/SageMaker``
invocation metrics (Invocations, 4XX/5XX/model errors, ModelLatency in microseconds) that the
endpoint alarms watch.

It serves the deployed endpoint config's mode (docs/serving.md). A **serverless** variant
(``ServerlessConfig``) answers like real time within serverless limits (4 MB request and response)
and captures nothing, as SageMaker does. An **async** endpoint (``AsyncInferenceConfig``) refuses
real-time requests; :class:`AsyncRuntimeClient` is its ``InvokeEndpointAsync``: the payload is read
from S3, answered, written to the config's ``S3OutputPath`` (or the error to ``S3FailurePath``),
captured, and notified on the success or error topic; it publishes the async metrics
(``InvocationsProcesssed``, ``InvocationFailures``) instead of ``Invocations``. Requests are
answered as they arrive, so the emulated queue is never longer than the request in hand.

Production variants (an A/B test: the champion and a challenger, docs/variants.md) share the traffic
by their current weights (DescribeEndpoint's ``CurrentWeight``, which UpdateEndpointWeightsAndCapacities
moves), drawn from a seeded generator so a run repeats; a request's ``TargetVariant`` picks its
variant instead. A shadow variant gets a copy of every request; its answer is captured and counted
under its own variant name and never returned. Metrics (dimension ``VariantName``) and capture
(``<endpoint>/<variant>/...``) are per variant, as SageMaker's are.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import importlib
import json
import logging
import random
import tarfile
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from infra.variants import current_weight
from localcloud.clock import Clock, utc_now
from localcloud.iam import SAGEMAKER_SESSION, AccessControl
from localcloud.lifecycle import Service
from pipelines.settings import Settings
from processing_scripts import s3_uri, script_model

log = logging.getLogger(__name__)

CSV = "text/csv"
METRIC_NAMESPACE = "AWS/SageMaker"  # where SageMaker publishes endpoint invocation metrics
# PutMetricData: "Values ... can contain up to 150 unique values"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).
MAX_VALUES_PER_DATUM = 150
CAPTURE_EVENT_VERSION = "0"
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
VARIANT_HEADER = "X-Amzn-Invoked-Production-Variant"
TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"  # InvokeEndpoint's TargetVariant
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's Body limit (see _content_length)
# "The maximum request and response payload size for serverless invocations is 4 MB"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html).
SERVERLESS_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
# An async endpoint publishes these instead of Invocations (sic: "Processsed", AWS's spelling;
# https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html).
ASYNC_PROCESSED_METRIC = "InvocationsProcesssed"
ASYNC_FAILURES_METRIC = "InvocationFailures"
# How often the server's loop checks for a stop request, so how long stop() can wait for it
# (socketserver's default, 0.5 s, was paid by every endpoint a story or test stopped).
_STOP_POLL_SECONDS = 0.05
# How long stop() waits for requests already being answered (a model answers in milliseconds).
_DRAIN_SECONDS = 30.0
STOPPING_MESSAGE = b"the endpoint is stopping; send the request again once it is back\n"
# The framework serving containers' variables naming the user's module and the archive holding it.
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"


@dataclass(frozen=True)
class ScriptServer:
    """A script-mode model: requests go through the user's hooks (``script_model.serve``)."""

    handler: script_model.Handler


class EndpointError(RuntimeError):
    """The endpoint cannot serve: nothing deployed, or the deployed model cannot be loaded."""


# -- the deployed state, as the control plane describes it -------------------------------------
@dataclass(frozen=True)
class CaptureConfig:
    enabled: bool
    sampling_percentage: int
    destination_uri: str
    csv_content_types: tuple[str, ...] = (CSV,)

    @classmethod
    def from_api(cls, raw: dict[str, Any] | None) -> CaptureConfig:
        if not raw:
            return cls(enabled=False, sampling_percentage=0, destination_uri="")
        header = raw.get("CaptureContentTypeHeader") or {}
        return cls(
            enabled=bool(raw.get("EnableCapture", True)),
            sampling_percentage=int(raw.get("InitialSamplingPercentage", 100)),
            destination_uri=raw["DestinationS3Uri"].rstrip("/"),
            csv_content_types=tuple(header.get("CsvContentTypes") or [CSV]),
        )


@dataclass(frozen=True)
class AsyncOutput:
    """An async endpoint config's OutputConfig: where answers and failures go, who is notified."""

    output_uri: str
    failure_uri: str
    success_topic: str | None
    error_topic: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any] | None) -> AsyncOutput | None:
        output = (raw or {}).get("OutputConfig")
        if not output:
            return None
        notify = output.get("NotificationConfig") or {}
        return cls(
            output_uri=output["S3OutputPath"].rstrip("/"),
            failure_uri=(output.get("S3FailurePath") or output["S3OutputPath"]).rstrip("/"),
            success_topic=notify.get("SuccessTopic"),
            error_topic=notify.get("ErrorTopic"),
        )


@dataclass(frozen=True)
class Deployment:
    """What the endpoint serves, read from the emulated control plane."""

    endpoint_config: str
    variant: str
    model_name: str
    model_package_arn: str | None
    model_version: int | None
    model_data_url: str
    capture: CaptureConfig
    execution_role: str | None = None  # the model's ExecutionRoleArn: what the endpoint runs as
    environment: tuple[tuple[str, str], ...] = ()  # the container's Environment (package's, then model's)
    weight: float = 1.0  # the variant's current share of the traffic (relative to the others)
    shadow: bool = False  # a shadow variant: gets a copy of each request, answers none

    @property
    def program(self) -> str | None:
        """``SAGEMAKER_PROGRAM``: set for a script-mode model, whose code serves it."""
        return dict(self.environment).get(PROGRAM_ENV) or None

    serverless: bool = False  # a ServerlessConfig variant
    async_output: AsyncOutput | None = None  # set: the endpoint takes InvokeEndpointAsync only


def describe_deployments(sagemaker: Any, endpoint_name: str) -> list[Deployment] | None:
    """Every production and shadow variant of the endpoint; None if no endpoint exists."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except sagemaker.exceptions.ClientError as err:
        if "Could not find" in str(err) or "ValidationException" in str(err):
            return None
        raise
    config_name = endpoint["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    deployments = []
    for shadow, variants in (
        (False, config["ProductionVariants"]),
        (True, config.get("ShadowProductionVariants")),
    ):
        for variant in variants or []:
            deployments.append(
                _variant_deployment(
                    sagemaker,
                    config_name,
                    config,
                    variant,
                    weight=current_weight(endpoint, variant),
                    shadow=shadow,
                )
            )
    return deployments


def _champion(deployments: list[Deployment], variant: str) -> Deployment:
    for deployment in deployments:
        if deployment.variant == variant and not deployment.shadow:
            return deployment
    raise EndpointError(
        f"endpoint config {deployments[0].endpoint_config} has no production variant {variant!r} "
        f"(has {sorted(d.variant for d in deployments if not d.shadow)})"
    )


def _unweighted(deployment: Deployment) -> Deployment:
    return dataclasses.replace(deployment, weight=1.0)


def _variant_deployment(
    sagemaker: Any,
    config_name: str,
    config: dict[str, Any],
    variant: dict[str, Any],
    *,
    weight: float,
    shadow: bool,
) -> Deployment:
    model_name = variant["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    package_arn = container.get("ModelPackageName")
    version = None
    data_url = container.get("ModelDataUrl")
    environment = dict(container.get("Environment") or {})
    if package_arn:
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
        version = package.get("ModelPackageVersion")
        package_container = package["InferenceSpecification"]["Containers"][0]
        data_url = package_container.get("ModelDataUrl", data_url)
        # CreateModel's Environment is merged over the package's (the model's wins).
        environment = {**(package_container.get("Environment") or {}), **environment}
    if not data_url:
        raise EndpointError(f"model {model_name} has no ModelDataUrl (directly or through its model package)")
    return Deployment(
        endpoint_config=config_name,
        variant=variant["VariantName"],
        model_name=model_name,
        model_package_arn=package_arn,
        model_version=version,
        model_data_url=data_url,
        capture=CaptureConfig.from_api(config.get("DataCaptureConfig")),
        execution_role=model.get("ExecutionRoleArn"),
        weight=weight,
        shadow=shadow,
        environment=tuple(sorted(environment.items())),
        serverless=bool(variant.get("ServerlessConfig")),
        async_output=AsyncOutput.from_api(config.get("AsyncInferenceConfig")),
    )


@dataclass(frozen=True)
class Served:
    """A loaded model and the deployment it came from; replaced as a whole on a swap."""

    deployment: Deployment
    model: Any


@dataclass(frozen=True)
class Fleet:
    """Every variant the endpoint serves: the champion (settings' variant name), the other production
    variants, the shadow. Replaced as a whole on a swap, so a request sees one consistent fleet."""

    champion: Served
    production: tuple[Served, ...]  # the champion included, in the config's order
    shadow: Served | None

    @property
    def deployments(self) -> list[Deployment]:
        return [s.deployment for s in (*self.production, *([self.shadow] if self.shadow else []))]

    def route(self, draw: Callable[[], float], target: str | None) -> Served | str:
        """The production variant that answers, or why none can: ``target`` (InvokeEndpoint's
        TargetVariant) wins over the weights; otherwise a weighted draw (``draw`` in [0, 1))."""
        if target:
            for served in self.production:
                if served.deployment.variant == target:
                    return served
            names = [s.deployment.variant for s in self.production]
            return f"TargetVariant {target!r} is not a production variant of this endpoint (it has {names})"
        if len(self.production) == 1:
            return self.production[0]
        total = sum(s.deployment.weight for s in self.production)
        if total <= 0:
            return (
                "every production variant has weight 0; set a weight with UpdateEndpointWeightsAndCapacities"
            )
        point, cumulative = draw() * total, 0.0
        for served in self.production:
            cumulative += served.deployment.weight
            if point < cumulative:
                return served
        return self.production[-1]


# -- data capture ----------------------------------------------------------------------------------
def capture_record(
    *,
    request_body: bytes,
    request_type: str,
    response_body: bytes,
    response_type: str,
    inference_time: datetime,
    inference_id: str | None,
    csv_types: tuple[str, ...],
) -> dict[str, Any]:
    """One line of SageMaker's data capture JSONL."""

    def payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
        if content_type in csv_types or content_type == "application/json":
            encoding = "CSV" if content_type in csv_types else "JSON"
            return {
                "observedContentType": content_type,
                "mode": mode,
                "data": body.decode(),
                "encoding": encoding,
            }
        data = base64.b64encode(body).decode()
        return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": "BASE64"}

    metadata = {
        "eventId": str(uuid.uuid4()),
        "inferenceTime": inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    if inference_id:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": payload(request_body, request_type, "INPUT"),
            "endpointOutput": payload(response_body, response_type, "OUTPUT"),
        },
        "eventMetadata": metadata,
        "eventVersion": CAPTURE_EVENT_VERSION,
    }


@dataclass
class CaptureWriter:
    """Buffers capture records per hour and writes them as JSONL objects to S3 on flush.

    Like SageMaker's capture agent, records are not written one by one: a flush happens when
    ``max_records`` are buffered, when the oldest buffered record is older than ``max_age_seconds``
    (checked on each write), and when the endpoint stops or a caller asks (``flush()``).
    """

    s3: Any
    endpoint_name: str
    max_records: int = 1000
    max_age_seconds: float = 60.0
    _buffers: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _first_buffered: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    written: list[str] = field(default_factory=list)  # s3:// URIs of the files written

    def write(self, capture: CaptureConfig, variant: str, record: dict[str, Any], at: datetime) -> None:
        prefix = f"{capture.destination_uri}/{self.endpoint_name}/{variant}/{at.astimezone(UTC):%Y/%m/%d/%H}"
        with self._lock:
            self._buffers.setdefault((prefix, variant), []).append(json.dumps(record, separators=(",", ":")))
            self._first_buffered = self._first_buffered or time.monotonic()
            buffered = sum(len(lines) for lines in self._buffers.values())
            due = time.monotonic() - self._first_buffered >= self.max_age_seconds
        if buffered >= self.max_records or due:
            self.flush()

    def flush(self) -> list[str]:
        """Write every buffered record; returns the S3 URIs written by this call."""
        with self._lock:
            buffers, self._buffers, self._first_buffered = self._buffers, {}, None
        uris = []
        for (prefix, _variant), lines in sorted(buffers.items()):
            now = utc_now()
            name = f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            bucket, key_prefix = s3_uri.split(prefix)
            key = f"{key_prefix}/{name}"
            self.s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
            uris.append(s3_uri.build(bucket, key))
        with self._lock:
            self.written.extend(uris)
        return uris


# -- invocation metrics ----------------------------------------------------------------------------
@dataclass
class InvocationMetrics:
    """Per-minute counters published to ``AWS/SageMaker`` on flush, as SageMaker does each minute."""

    cloudwatch: Any
    endpoint_name: str
    _minutes: dict[tuple[datetime, str], dict[str, list[float]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        at: datetime,
        variant: str,
        status: int,
        model_error: bool,
        latency_us: float,
        *,
        asynchronous: bool = False,
    ) -> None:
        """Count one request; ``model_error``: the model (not the request check) answered non-2XX.
        An async request counts as processed (and failed or not), never as an Invocation."""
        minute = at.astimezone(UTC).replace(second=0, microsecond=0)
        with self._lock:
            counts = self._minutes.setdefault((minute, variant), {})
            if asynchronous:
                counts.setdefault(ASYNC_PROCESSED_METRIC, []).append(1.0)
                counts.setdefault(ASYNC_FAILURES_METRIC, []).append(float(status != 200))
            else:
                counts.setdefault("Invocations", []).append(1.0)
            counts.setdefault("Invocation4XXErrors", []).append(
                float(400 <= status < 500 and not model_error)
            )
            counts.setdefault("Invocation5XXErrors", []).append(float(status >= 500))
            counts.setdefault("InvocationModelErrors", []).append(float(model_error))
            counts.setdefault("ModelLatency", []).append(latency_us)

    def flush(self) -> None:
        with self._lock:
            minutes, self._minutes = self._minutes, {}
        for (minute, variant), counts in sorted(minutes.items()):
            dimensions = [
                {"Name": "EndpointName", "Value": self.endpoint_name},
                {"Name": "VariantName", "Value": variant},
            ]
            data: list[dict[str, Any]] = [
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": minute,
                    "Value": sum(values),
                    "Unit": "Count",
                }
                for name, values in counts.items()
                if name != "ModelLatency"
            ]
            # Raw values (not a statistic set): CloudWatch computes the p99 latency alarm's
            # percentile only from raw values. Values holds at most 150 distinct values per datum.
            latency = sorted(Counter(counts["ModelLatency"]).items())
            data.extend(
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dimensions,
                    "Timestamp": minute,
                    "Values": [value for value, _ in latency[start : start + MAX_VALUES_PER_DATUM]],
                    "Counts": [float(n) for _, n in latency[start : start + MAX_VALUES_PER_DATUM]],
                    "Unit": "Microseconds",
                }
                for start in range(0, len(latency), MAX_VALUES_PER_DATUM)
            )
            self.cloudwatch.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)


# -- the endpoint ----------------------------------------------------------------------------------
class LocalEndpoint(Service):
    """The HTTP server plus the model it currently serves. Use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        clients: Any,
        *,
        port: int | None = None,
        inference: ModuleType | None = None,
        clock: Clock = utc_now,
        seed: int | None = None,
        work_dir: Path | None = None,
        access: AccessControl | None = None,
        endpoint_name: str | None = None,
    ) -> None:
        """``clients`` are the endpoint account's (a stage's endpoint reads its own account's control
        plane); ``endpoint_name`` defaults to the build account's endpoint."""
        self.settings = settings
        self.clients = clients  # SageMaker's own: reading the control plane, publishing its metrics
        self.access = access
        self.endpoint_name = endpoint_name or settings.endpoint_name
        self.variant = settings.serving.variant_name
        self.port = settings.serving.local_port if port is None else port
        self.clock = clock
        self._inference = inference
        self._random = random.Random(seed)
        self._router = random.Random(seed)  # its own draws: routing does not move capture sampling
        self._fleet: Fleet | None = None
        self._loaded: dict[tuple[str, str], Any] = {}  # (model name, ModelDataUrl) -> loaded model
        self._swap_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if work_dir is None:  # models are unpacked here; it lives as long as the endpoint
            self._tmp = tempfile.TemporaryDirectory(prefix="local-endpoint-")
            work_dir = Path(self._tmp.name)
        self.work_dir = work_dir
        self.capture = CaptureWriter(clients.s3, self.endpoint_name)
        self.metrics = InvocationMetrics(clients.cloudwatch, self.endpoint_name)
        self.swaps: list[Deployment] = []
        # Requests being answered, and whether new ones are still admitted: stop() refuses new
        # requests (keep-alive connections outlive the listening socket), waits for these, then
        # flushes, so every answered request's capture is written.
        self._requests = threading.Condition()
        self._in_flight = 0
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        handler = type("Handler", (_Handler,), {"endpoint": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _STOP_POLL_SECONDS},
            name="local-endpoint",
            daemon=True,
        )
        self._thread.start()
        log.info("local endpoint %s listening on %s", self.endpoint_name, self.url)

    def stop(self) -> None:
        with self._requests:
            self._stopping = True
            if not self._requests.wait_for(lambda: self._in_flight == 0, timeout=_DRAIN_SECONDS):
                log.warning("stopping with %d requests still being answered", self._in_flight)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.flush()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stopping(self) -> bool:
        return self._stopping

    def flush(self) -> list[str]:
        """Write buffered capture and metrics now; returns the capture files written."""
        self.metrics.flush()
        return self.capture.flush()

    # -- following the control plane -----------------------------------------------------------------
    @property
    def inference(self) -> ModuleType:
        if self._inference is None:
            self._inference = importlib.import_module("processing_scripts.inference")
        return self._inference

    @property
    def served(self) -> Served | None:
        """The champion variant's model (settings.serving.variant_name)."""
        return self._fleet.champion if self._fleet else None

    @property
    def fleet(self) -> Fleet | None:
        return self._fleet

    def reconcile(self) -> Deployment | None:
        """Serve what the control plane says is deployed; swap models or weights if they changed.
        Returns the champion's deployment."""
        deployments = describe_deployments(self.clients.sagemaker, self.endpoint_name)
        if deployments is None:
            return None
        champion = _champion(deployments, self.variant)
        current = self._fleet
        if current is not None and current.deployments == deployments:
            return champion
        # The endpoint reads the model and writes capture as the model's execution role
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms).
        served = {d.variant: Served(d, self._model(d)) for d in deployments}
        self.capture.s3 = self._as_model(champion).s3
        fleet = Fleet(
            champion=served[champion.variant],
            production=tuple(served[d.variant] for d in deployments if not d.shadow),
            shadow=next((served[d.variant] for d in deployments if d.shadow), None),
        )
        with self._swap_lock:
            self._fleet = fleet  # one reference: in-flight requests keep theirs
            if current is None or _unweighted(current.champion.deployment) != _unweighted(champion):
                self.swaps.append(champion)  # a new champion model or config; a weight change is no swap
        live = {(d.model_name, d.model_data_url) for d in deployments}
        self._loaded = {key: model for key, model in self._loaded.items() if key in live}
        log.info(
            "endpoint %s now serves %s",
            self.endpoint_name,
            ", ".join(
                f"{d.variant}={d.model_name}" + (" (shadow)" if d.shadow else f" ({d.weight:g})")
                for d in deployments
            ),
        )
        return champion

    def _as_model(self, deployment: Deployment) -> Any:
        return (
            self.access.clients_for(deployment.execution_role, SAGEMAKER_SESSION)
            if self.access
            else self.clients
        )

    def _model(self, deployment: Deployment) -> Any:
        """The deployment's model, loaded once: a weight change or a new variant keeps the others'."""
        key = (deployment.model_name, deployment.model_data_url)
        if key not in self._loaded:
            self._loaded[key] = self._load(deployment, self._as_model(deployment).s3)
        return self._loaded[key]

    def _load(self, deployment: Deployment, s3: Any) -> Any:
        bucket, key = s3_uri.split(deployment.model_data_url, key_required=True)
        target = self.work_dir / f"{len(self._loaded) + len(self.swaps):03d}-{deployment.model_name}"
        target.mkdir(parents=True, exist_ok=True)
        archive = target / "model.tar.gz"
        s3.download_file(bucket, key, str(archive))
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(target, filter="data")  # the container's /opt/ml/model
        except tarfile.TarError as err:
            raise EndpointError(f"{deployment.model_data_url}: not a readable model.tar.gz ({err})") from err
        if deployment.program:
            return self._load_script(deployment, s3, target)
        return self.inference.load_model(target)

    def _load_script(self, deployment: Deployment, s3: Any, model_dir: Path) -> ScriptServer:
        """The user's code from ``SAGEMAKER_SUBMIT_DIRECTORY`` (an S3 ``sourcedir.tar.gz``, read as
        the model's role) into a ``code`` folder, its ``model_fn`` over the extracted model."""
        code_uri = dict(deployment.environment).get(SUBMIT_DIRECTORY_ENV, "")
        if not code_uri.startswith("s3://"):
            raise EndpointError(
                f"model {deployment.model_name}: {SUBMIT_DIRECTORY_ENV} {code_uri!r} must be an s3:// "
                "sourcedir.tar.gz to serve locally"
            )
        bucket, key = s3_uri.split(code_uri, key_required=True)
        archive = model_dir.parent / f"{model_dir.name}-sourcedir.tar.gz"
        s3.download_file(bucket, key, str(archive))
        code_dir = script_model.extract_code(archive, model_dir.parent / f"{model_dir.name}-code")
        module = script_model.import_program(code_dir, str(deployment.program))
        return ScriptServer(script_model.serve(module, model_dir))

    # -- one request ---------------------------------------------------------------------------------
    def invoke(
        self,
        body: bytes,
        content_type: str,
        inference_id: str | None,
        target_variant: str | None = None,
        *,
        asynchronous: bool = False,
    ) -> tuple[int, str, bytes, str]:
        """Answer one request: (status, content type, body, the variant that answered). Captures and
        counts it; once the endpoint is stopping, refuses it (503) rather than answer it after the
        last flush. ``asynchronous``: it came through InvokeEndpointAsync (the only way into an
        async endpoint)."""
        with self._requests:
            if self._stopping:
                return 503, "text/plain", STOPPING_MESSAGE, self.variant
            self._in_flight += 1
        try:
            return self._answer(body, content_type, inference_id, target_variant, asynchronous)
        finally:
            with self._requests:
                self._in_flight -= 1
                self._requests.notify_all()

    def _answer(
        self,
        body: bytes,
        content_type: str,
        inference_id: str | None,
        target_variant: str | None,
        asynchronous: bool,
    ) -> tuple[int, str, bytes, str]:
        fleet = self._fleet  # snapshot: a concurrent swap does not affect this request
        if fleet is None:
            return 503, "text/plain", b"no model deployed to this endpoint yet\n", self.variant
        with self._swap_lock:  # one generator, many request threads
            served = fleet.route(self._router.random, target_variant)
        if isinstance(served, str):  # InvokeEndpoint answers a bad TargetVariant with a 400 ValidationError
            return 400, "text/plain", f"{served}\n".encode(), self.variant
        refused = _refused_by_mode(served.deployment, len(body), asynchronous)
        if refused:
            return 400, "text/plain", refused.encode() + b"\n", served.deployment.variant
        at = self.clock()
        status, out_type, out = self._serve(
            served, body, content_type, inference_id, at, asynchronous=asynchronous
        )
        if fleet.shadow is not None:  # a copy of the request; the answer is captured, never returned
            self._serve(fleet.shadow, body, content_type, inference_id, at, asynchronous=asynchronous)
        return status, out_type, out, served.deployment.variant

    def _serve(
        self,
        served: Served,
        body: bytes,
        content_type: str,
        inference_id: str | None,
        at: datetime,
        *,
        asynchronous: bool,
    ) -> tuple[int, str, bytes]:
        """One variant answers: the model's prediction, its metrics and its capture."""
        started = time.perf_counter()
        capture = served.deployment.capture
        if content_type.split(";", maxsplit=1)[0].strip() not in capture.csv_content_types:
            status, out_type, out = (
                415,
                "text/plain",
                f"unsupported content type {content_type!r}; send text/csv\n".encode(),
            )
            self.metrics.record(at, served.deployment.variant, status, False, 0.0, asynchronous=asynchronous)
            return status, out_type, out
        try:
            if isinstance(served.model, ScriptServer):
                # The inference toolkit answers an exception in the user's hooks with a 500.
                status, out_type, out = 200, CSV, served.model.handler(body, content_type, CSV)
            else:
                status, out_type, out = 200, CSV, self.inference.predict_csv(served.model, body)
        except self.inference.InferenceError as err:
            status, out_type, out = 400, "text/plain", f"{err}\n".encode()
        except Exception as err:  # a model failure is the endpoint's 500, never a dropped connection
            log.exception("model %s failed on a request", served.deployment.model_name)
            status, out_type, out = 500, "text/plain", f"the model failed: {err}\n".encode()
        if served.deployment.serverless and len(out) > SERVERLESS_MAX_PAYLOAD_BYTES:
            status, out_type, out = (
                500,
                "text/plain",
                b"the answer is larger than a serverless endpoint returns (4 MB)\n",
            )
        latency_us = (time.perf_counter() - started) * 1e6
        self.metrics.record(
            at, served.deployment.variant, status, status != 200, latency_us, asynchronous=asynchronous
        )
        if status == 200 and capture.enabled and self._random.uniform(0, 100) < capture.sampling_percentage:
            record = capture_record(
                request_body=body,
                request_type=content_type,
                response_body=out,
                response_type=out_type,
                inference_time=at,
                inference_id=inference_id,
                csv_types=capture.csv_content_types,
            )
            self.capture.write(capture, served.deployment.variant, record, at)
        return status, out_type, out

    # -- InvokeEndpointAsync -------------------------------------------------------------------------
    def invoke_async(
        self, input_location: str, content_type: str, inference_id: str | None
    ) -> dict[str, str]:
        """Answer the request stored at ``input_location`` as an async endpoint does: the answer
        to ``<S3OutputPath>/<inference id>.out`` or the error to ``<S3FailurePath>/<inference
        id>-error.out``, then a notification on the success or error topic. Returns
        InvokeEndpointAsync's answer (InferenceId, OutputLocation, FailureLocation)."""
        served = self.served
        if served is None:
            raise InvocationError(503, f"no model deployed to endpoint {self.endpoint_name} yet")
        output = served.deployment.async_output
        if output is None:
            raise InvocationError(
                400, f"endpoint {self.endpoint_name} is not asynchronous; call InvokeEndpoint"
            )
        as_model = self._as_model(served.deployment)  # the model's role reads, writes and notifies
        inference_id = inference_id or str(uuid.uuid4())
        answer_uri = f"{output.output_uri}/{inference_id}.out"
        failure_uri = f"{output.failure_uri}/{inference_id}-error.out"
        received = self.clock()
        try:
            bucket, key = s3_uri.split(input_location, key_required=True)
            body = as_model.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as err:  # RequestDownloadFailures: the request fails, the endpoint does not
            status, out = 400, f"could not read the request from {input_location}: {err}\n".encode()
            self.metrics.record(received, self.variant, status, False, 0.0, asynchronous=True)
        else:
            status, _, out, _ = self.invoke(body, content_type, inference_id, asynchronous=True)
        succeeded = status == 200
        destination = answer_uri if succeeded else failure_uri
        bucket, key = s3_uri.split(destination, key_required=True)
        as_model.s3.put_object(Bucket=bucket, Key=key, Body=out)
        self._notify(
            as_model,
            output.success_topic if succeeded else output.error_topic,
            async_notification(
                region=self.settings.region,
                endpoint_name=self.endpoint_name,
                inference_id=inference_id,
                input_location=input_location,
                content_type=content_type,
                destination=destination,
                failure=None if succeeded else out.decode(errors="replace").strip(),
                received=received,
                at=self.clock(),
            ),
        )
        return {"InferenceId": inference_id, "OutputLocation": answer_uri, "FailureLocation": failure_uri}

    def _notify(self, as_model: Any, topic_arn: str | None, message: dict[str, Any]) -> None:
        if not topic_arn:
            return
        # The topic is the serving stack's; the emulator has no CloudFormation, so make sure it
        # exists (idempotent, as the event router does), then publish as the model's role.
        self.clients.client("sns").create_topic(Name=topic_arn.rsplit(":", 1)[-1])
        as_model.client("sns").publish(TopicArn=topic_arn, Message=json.dumps(message))


def async_notification(
    *,
    region: str,
    endpoint_name: str,
    inference_id: str,
    input_location: str,
    content_type: str,
    destination: str,
    failure: str | None,
    received: datetime,
    at: datetime,
) -> dict[str, Any]:
    """The SNS message of an async result, in SageMaker's shape
    (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-check-predictions.html)."""

    def stamp(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    message: dict[str, Any] = {
        "awsRegion": region,
        "eventTime": stamp(at),
        "receivedTime": stamp(received),
        "invocationStatus": "Completed" if failure is None else "Failed",
        "requestParameters": {
            "contentType": content_type,
            "endpointName": endpoint_name,
            "inputLocation": input_location,
        },
        "responseParameters": (
            {"contentType": CSV, "sageMakerOutputLocation": destination}
            if failure is None
            else {"contentType": "text/plain", "sageMakerFailureLocation": destination}
        ),
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if failure is not None:
        message["failureReason"] = failure
    return message


def _refused_by_mode(deployment: Deployment, length: int, asynchronous: bool) -> str:
    """Why the serving mode refuses this request (a client error), or nothing."""
    if deployment.async_output is not None and not asynchronous:
        # "The presence of an AsyncInferenceConfig ... implies that the endpoint can only receive
        # asynchronous invocations" (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html)
        return "this endpoint is asynchronous: send the payload to S3 and call InvokeEndpointAsync"
    if deployment.serverless and length > SERVERLESS_MAX_PAYLOAD_BYTES:
        return f"the request body is {length} bytes; a serverless endpoint takes at most {SERVERLESS_MAX_PAYLOAD_BYTES}"
    return ""


def _content_length(header: str | None) -> tuple[int, str]:
    """The request body's length, or why the request is refused (a client error, never the model's).

    InvokeEndpoint takes a body of at most 6 MB
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html:
    Body, maximum length 6291456).
    """
    if header is None:
        return 0, ""
    text = header.strip()
    if not text.isdigit():
        return 0, f"Content-Length {header!r} is not a whole number of bytes"
    length = int(text)
    if length > MAX_PAYLOAD_BYTES:
        return 0, f"the request body is {length} bytes; InvokeEndpoint takes at most {MAX_PAYLOAD_BYTES}"
    return length, ""


class _Handler(BaseHTTPRequestHandler):
    endpoint: LocalEndpoint
    protocol_version = "HTTP/1.1"  # keep-alive, as clients of a real endpoint use
    disable_nagle_algorithm = True  # headers and body go out separately; no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        if self.path != "/ping":
            self._send(404, "text/plain", b"not found\n")
            return
        healthy = self.endpoint.served is not None
        self._send(200 if healthy else 503, "text/plain", b"" if healthy else b"no model loaded\n")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(404, "text/plain", b"not found\n")
            return
        length, problem = _content_length(self.headers.get("Content-Length"))
        if problem:
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            self._send(400, "text/plain", problem.encode() + b"\n")
            return
        body = self.rfile.read(length)
        status, content_type, out, variant = self.endpoint.invoke(
            body,
            self.headers.get("Content-Type", ""),
            self.headers.get(INFERENCE_ID_HEADER),
            self.headers.get(TARGET_VARIANT_HEADER),
        )
        if self.endpoint.stopping:
            self.close_connection = True  # a kept-alive connection must not outlive the endpoint
        self._send(status, content_type, out, variant)

    def _send(self, status: int, content_type: str, body: bytes, variant: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(VARIANT_HEADER, variant or self.endpoint.variant)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("endpoint: " + format, *args)


# -- a SageMaker-runtime-like client -------------------------------------------------------------
class InvocationError(RuntimeError):
    """The endpoint answered with an error status; ``status`` and the message are kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass
class RuntimeClient:
    """``invoke_endpoint`` against a local endpoint, shaped like boto3's ``sagemaker-runtime``."""

    url: str
    timeout: float = 30.0
    _local: threading.local = field(default_factory=threading.local)

    def invoke_endpoint(  # boto3's argument names, so callers can swap in the real client
        self,
        Body: bytes | str,  # noqa: N803
        ContentType: str = CSV,  # noqa: N803
        InferenceId: str | None = None,  # noqa: N803
        TargetVariant: str | None = None,  # noqa: N803
        **_: Any,
    ) -> dict[str, Any]:
        body = Body.encode() if isinstance(Body, str) else Body
        headers = {"Content-Type": ContentType}
        if InferenceId:
            headers[INFERENCE_ID_HEADER] = InferenceId
        if TargetVariant:
            headers[TARGET_VARIANT_HEADER] = TargetVariant
        connection = self._connection()
        try:
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (ConnectionError, http.client.HTTPException):
            self._local.connection = None  # the server closed a kept-alive connection: retry once
            connection = self._connection()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        if response.status != 200:
            raise InvocationError(response.status, payload.decode(errors="replace").strip())
        return {
            "Body": payload,
            "ContentType": response.getheader("Content-Type"),
            "InvokedProductionVariant": response.getheader(VARIANT_HEADER),
        }

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "connection", None) is None:
            host, _, port = self.url.removeprefix("http://").partition(":")
            self._local.connection = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        return self._local.connection


@dataclass
class AsyncRuntimeClient:
    """``invoke_endpoint_async`` against a local async endpoint, shaped like boto3's
    ``sagemaker-runtime``: the caller has put the payload in S3 and passes its location."""

    endpoint: LocalEndpoint

    def invoke_endpoint_async(  # boto3's argument names
        self,
        InputLocation: str,  # noqa: N803
        ContentType: str = CSV,  # noqa: N803
        InferenceId: str | None = None,  # noqa: N803
        **_: Any,
    ) -> dict[str, str]:
        return self.endpoint.invoke_async(InputLocation, ContentType, InferenceId)


@dataclass(frozen=True)
class TrafficResult:
    requests: int
    rows: int
    predictions: list[float]
    errors: list[str]


class Invoker(Protocol):
    """Anything with boto3's ``invoke_endpoint`` (a RuntimeClient, or a client wrapping one)."""

    def invoke_endpoint(self, Body: bytes | str, ContentType: str = CSV, **kwargs: Any) -> dict[str, Any]: ...  # noqa: N803


def send_csv(client: Invoker, lines: list[str], batch_size: int = 10) -> TrafficResult:
    """Send CSV rows in requests of ``batch_size`` rows; errors are collected, not raised."""
    predictions: list[float] = []
    errors: list[str] = []
    requests = 0
    for start in range(0, len(lines), batch_size):
        batch = lines[start : start + batch_size]
        requests += 1
        try:
            answer = client.invoke_endpoint(Body="\n".join(batch) + "\n", ContentType=CSV)
        except InvocationError as err:
            errors.append(str(err))
            continue
        predictions.extend(float(v) for v in answer["Body"].decode().split())
    return TrafficResult(requests, len(lines), predictions, errors)
