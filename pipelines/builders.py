"""Which code builds each pipeline: one builder per short name in ``settings.PIPELINES``.

The short names live in settings (plain Python, so the CLI and the stacks read them without the SDK);
the builders import the SDK, so they are found here, by convention rather than by a second list:
pipeline ``<short>`` is built by ``build_<short>_pipeline(settings, session)`` in
``pipelines/<short>.py`` and is named ``settings.pipeline_name("<short>")``. Adding a pipeline is
one entry in ``settings.PIPELINES`` plus its builder module; synthesis, the stacks, the alarms and
the CLI's choices follow from there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.settings import PIPELINES, Settings

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from pipelines.sdk_session import OfflinePipelineSession

PipelineBuilder = Callable[[Settings, "OfflinePipelineSession"], "Pipeline"]


class BuilderError(LookupError):
    """A short name in ``settings.PIPELINES`` has no builder, or its builder misnames the pipeline."""


def builder_of(short_name: str) -> PipelineBuilder:
    """The function that builds pipeline ``short_name`` (imports its module, and so the SDK)."""
    if short_name not in PIPELINES:
        raise BuilderError(f"unknown pipeline {short_name!r}; settings.PIPELINES has {PIPELINES}")
    module_name, function_name = f"pipelines.{short_name}", f"build_{short_name}_pipeline"
    hint = f"define {function_name}(settings, session) in pipelines/{short_name}.py"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise  # the module exists but imports something missing: that error is the real one
        raise BuilderError(f"pipeline {short_name!r} has no builder module: {hint}") from None
    builder: PipelineBuilder | None = getattr(module, function_name, None)
    if builder is None:
        raise BuilderError(f"pipeline {short_name!r} has no builder function: {hint}")
    return builder


def build_pipeline(short_name: str, settings: Settings, session: OfflinePipelineSession) -> Pipeline:
    """Build pipeline ``short_name``; its name must be the one settings gives it."""
    pipeline = builder_of(short_name)(settings, session)
    expected = settings.pipeline_name(short_name)
    if pipeline.name != expected:
        raise BuilderError(
            f"pipelines/{short_name}.py built a pipeline named {pipeline.name!r}; "
            f"name it settings.pipeline_name({short_name!r}) ({expected!r})"
        )
    return pipeline
