"""Which pipeline a synthesized definition was made for, written into the definition itself.

``upsert monitoring --definition-file <the training JSON>`` must be refused whatever the file is
called, and a user's own definition must still upload under its own name. File names and step
overlap cannot tell these apart; the definition can: synthesis writes the pipeline's name into the
definition-level ``Metadata`` object (free-form in SageMaker's pipeline definition schema, kept
with the definition: https://aws-sagemaker-mlops.github.io/sagemaker-model-building-pipeline-definition-JSON-schema/),
and a definition without it was not synthesized by this project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SYNTHESIZED_FOR = "SynthesizedFor"  # Metadata key: the full pipeline name the definition was made for


def stamped(definition: dict[str, Any], pipeline_name: str) -> dict[str, Any]:
    """``definition`` with ``Metadata.SynthesizedFor`` set to ``pipeline_name`` (other keys kept)."""
    metadata = dict(definition.get("Metadata") or {})
    metadata[SYNTHESIZED_FOR] = pipeline_name
    return {**definition, "Metadata": metadata}


def synthesized_for(definition: Mapping[str, Any]) -> str | None:
    """The pipeline name a definition was synthesized for; None for any other definition."""
    metadata = definition.get("Metadata")
    name = metadata.get(SYNTHESIZED_FOR) if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else None
