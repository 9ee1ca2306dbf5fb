"""SageMaker's refusal to create a name twice and its ClientRequestToken, which moto 5.2.5 lacks.

moto overwrites a model, endpoint config or endpoint created again under the same name, and starts a
new pipeline execution for every StartPipelineExecution whatever its token. SageMaker does neither:
``CreateModel``/``CreateEndpointConfig``/``CreateEndpoint`` on an existing name fail with
``ValidationException: Cannot create already existing ...``, and StartPipelineExecution "completes
no more than once" per ``ClientRequestToken``
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html). With
moto's leniency a racy check-then-create handler looked correct here and created twice in AWS, so
:func:`install` makes the emulator as strict. A lock makes each check-and-create atomic under the
threaded moto server.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

_LOCK = threading.RLock()
_INSTALLED = "_localcloud_strict_creates"
# backend method -> (the backend's collection of that resource, its name argument, its name in messages)
_CREATES = {
    "create_model": ("_models", "model_name", "model"),
    "create_endpoint_config": ("endpoint_configs", "endpoint_config_name", "endpoint configuration"),
    "create_endpoint": ("endpoints", "endpoint_name", "endpoint"),
}


def _refusing_existing(
    create: Callable[..., Any], collection: str, argument: str, noun: str
) -> Callable[..., Any]:
    signature = inspect.signature(create)

    @functools.wraps(create)
    def strict(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        name = signature.bind(self, *args, **kwargs).arguments.get(argument)
        with _LOCK:
            if name in getattr(self, collection):
                raise ValidationError(message=f'Cannot create already existing {noun} "{name}".')
            return create(self, *args, **kwargs)

    return strict


def _once_per_token(start: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(start)

    @functools.wraps(start)
    def idempotent(self: SageMakerModelBackend, pipeline_name: str, *args: Any, **kwargs: Any) -> Any:
        token = signature.bind(self, pipeline_name, *args, **kwargs).arguments.get("client_request_token")
        pipeline = self.pipelines.get(pipeline_name)
        if not token or pipeline is None:  # moto's own answer (a missing pipeline is its error)
            return start(self, pipeline_name, *args, **kwargs)
        with _LOCK:
            # Kept on the pipeline: a deleted and re-created pipeline starts with no tokens.
            started: dict[str, dict[str, str]] = pipeline.__dict__.setdefault("_started_by_token", {})
            if token not in started:
                started[token] = start(self, pipeline_name, *args, **kwargs)
            return started[token]

    return idempotent


def install() -> None:
    """Make moto's SageMaker refuse duplicate names and honour ClientRequestToken (idempotent)."""
    if getattr(SageMakerModelBackend, _INSTALLED, False):
        return
    for method, (collection, argument, noun) in _CREATES.items():
        original = getattr(SageMakerModelBackend, method)
        setattr(SageMakerModelBackend, method, _refusing_existing(original, collection, argument, noun))
    SageMakerModelBackend.start_pipeline_execution = _once_per_token(  # type: ignore[method-assign]
        SageMakerModelBackend.start_pipeline_execution
    )
    setattr(SageMakerModelBackend, _INSTALLED, True)
