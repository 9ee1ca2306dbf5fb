"""The one place boto3 clients are created.

Everything in the project that talks to AWS (the CLI, the monitoring job's S3 reads and metric
writes, the local executor, the tests) asks an :class:`AwsClients` for its clients. It lives in
``processing_scripts`` because container code cannot import the CLI package, while the CLI may import
container code; it depends on boto3 alone. Pointing the
factory at real AWS, at moto's server on 127.0.0.1 or at moto in-process is configuration only:
``profile``, ``region`` and ``endpoint_url``.

Lambda handlers are the one exception by design: they run in AWS's Lambda runtime without this
package, so they take their clients as arguments and the runtime entry point creates them; the local
executor and the tests pass clients from this factory instead.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

ENDPOINT_ENV = "MLOPS_AWS_ENDPOINT_URL"


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS calls go. ``endpoint_url`` set means an emulator (every service on one URL)."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int | None = None
    # Fixed credentials for an emulator (it accepts any), so a local run neither needs nor sends
    # a developer's real ones. Leave unset for real AWS: the standard credential chain applies.
    static_credentials: tuple[str, str] | None = None

    @classmethod
    def from_env(
        cls, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None
    ) -> AwsTarget:
        """Explicit arguments win; otherwise the standard AWS variables (as inside a SageMaker job)."""
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise ValueError("no AWS region: pass one or set AWS_REGION")
        return cls(
            region=region,
            profile=profile or os.environ.get("AWS_PROFILE") or None,
            endpoint_url=endpoint_url or os.environ.get(ENDPOINT_ENV) or None,
        )


class AwsClients:
    """A cache of boto3 clients for one :class:`AwsTarget` (thread-safe, one client per service)."""

    def __init__(self, target: AwsTarget) -> None:
        self.target = target
        key_id, secret = target.static_credentials or (None, None)
        self._session = boto3.Session(
            profile_name=target.profile,
            region_name=target.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.target.endpoint_url, config=self._config()
                )
            return self._clients[service]

    def _config(self) -> Config:
        # An emulator answers unimplemented actions with HTTP 500, which boto3 would retry for
        # seconds; against one, fail on the first answer. Real AWS keeps boto3's standard retries.
        attempts = self.target.max_attempts or (1 if self.target.endpoint_url else None)
        retries: dict[str, Any] = {"mode": "standard"}
        if attempts:
            retries["total_max_attempts"] = attempts  # first try included
        return Config(retries=retries, user_agent_extra="abalone-mlops")

    # Shorthands for the services the project uses, so call sites read naturally.
    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def events(self) -> Any:
        return self.client("events")

    @property
    def sns(self) -> Any:
        return self.client("sns")
