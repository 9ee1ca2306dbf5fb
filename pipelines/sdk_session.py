"""An offline SageMaker PipelineSession: building a definition never touches the network.

Importing this module is the one way the project imports the SageMaker SDK for synthesis, because
the SDK has import-time side effects that must be tamed first:

- it creates a boto3 client at import time, which needs *some* region (the settings' default;
  every region-dependent value in a definition comes from the session built below, whose region
  is the settings' region);
- constructors call STS/IAM to validate roles unless ``SAGEMAKER_VALIDATE_ROLE=false``;
- a few modules configure the root logger at import (undone right after importing them).

The session then pins everything a stock ``PipelineSession`` would look up:

- ``default_bucket()`` returns a fixed name (the stock one lists/creates buckets and calls STS);
- the SDK configuration is given explicitly, so a ``config.yaml`` on an operator's machine
  (admin or user defaults: VPCs, KMS keys, tags) can never leak into the pipeline JSON, and
  telemetry is opted out (it would make HTTP calls during synthesis).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

from pipelines.settings import DEFAULT_REGION, Settings

os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

_root_handlers, _root_level = list(logging.root.handlers), logging.root.level

import boto3  # noqa: E402  (the environment above must be set first)
import sagemaker.mlops.workflow  # noqa: E402, F401  (imported for its side effects, undone below)
from sagemaker.core.config.config_manager import SageMakerConfig  # noqa: E402
from sagemaker.core.workflow.pipeline_context import PipelineSession  # noqa: E402

# Some SDK modules call logging.basicConfig() at import, which would make every INFO record of
# the importing process (the CLI, the tests) print to stderr. Logging belongs to the application.
logging.root.handlers[:] = _root_handlers
logging.root.setLevel(_root_level)

# Explicit SDK defaults: nothing from /etc/xdg or ~/.config/sagemaker, and no telemetry calls.
SDK_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def _validated_once(validate: Any) -> Any:
    """Skip re-validating :data:`SDK_CONFIG`, which is validated once, here, at import.

    The SDK re-validates the session's config against its (large) JSON schema on every config
    lookup: ~60 lookups x 0.18 s made one synthesis take 13 s instead of 2 s. Any other config
    is still validated by the SDK's own function.
    """

    @functools.wraps(validate)
    def validate_unless_ours(sagemaker_config: dict | None = None) -> None:
        if sagemaker_config is not SDK_CONFIG:
            validate(sagemaker_config)

    return staticmethod(validate_unless_ours)


SageMakerConfig.validate_sagemaker_config(SDK_CONFIG)  # fails loudly if an SDK upgrade rejects it
SageMakerConfig.validate_sagemaker_config = _validated_once(SageMakerConfig.validate_sagemaker_config)


class OfflinePipelineSession(PipelineSession):
    """A PipelineSession with a fixed default bucket and no configuration files."""

    def __init__(self, region: str, default_bucket: str) -> None:
        super().__init__(
            boto_session=boto3.Session(region_name=region),
            default_bucket=default_bucket,
            sagemaker_config=SDK_CONFIG,
        )
        self._fixed_bucket = default_bucket

    def default_bucket(self) -> str:
        """The configured bucket, without the stock session's S3 and STS calls."""
        return self._fixed_bucket


def offline_session(settings: Settings) -> OfflinePipelineSession:
    """The session every step of the project's pipelines is built with."""
    return OfflinePipelineSession(settings.region, settings.bucket_name("artifacts"))


@contextlib.contextmanager
def quiet_sdk() -> Iterator[None]:
    """Silence the SDK's chatter while building definitions.

    The SDK logs at INFO/WARNING for things this project does on purpose (job names popped from
    the definition, "no job is started under a PipelineSession", defaults not applied); on a CLI
    that output would read as problems. Real errors are exceptions and still propagate.
    """
    # Some SDK loggers carry their own level (``sagemaker.config`` sets INFO), so each is quieted.
    names = ["sagemaker", *(n for n in logging.root.manager.loggerDict if n.startswith("sagemaker."))]
    loggers = [logging.getLogger(name) for name in names]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)
