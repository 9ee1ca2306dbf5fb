"""One typed model of a SageMaker pipeline definition, read once and used by everything.

``read_definition(json_document)`` returns a :class:`PipelineDefinition`: parameters, steps
(branch steps included, with the branches they run in), each step's references and dependencies,
the execution order, property files, Lambda outputs, and every :class:`Finding` of the JSON
Schema and the graph rules. ``validate``, ``diff`` and ``start`` read definitions through it, and
so do ``run-local`` and the local executor, which evaluate the same expression language
(:mod:`~pipelines.definition.expressions`) and refuse a definition with errors. Pure Python: no
SageMaker SDK (botocore's service model gives the response shapes).

| module | what it holds |
| --- | --- |
| ``model`` | ``PipelineDefinition``, ``Parameter``, ``Step``, ``Branch``, ``PropertyFile``, ``CacheConfig`` |
| ``reader`` | ``read_definition``: document -> model + findings (never raises) |
| ``step_types`` | the registry: one ``StepType`` per step type |
| ``expressions`` | ``Get``/``Std:Join``/``Std:JsonGet``/conditions: parsing, ``Reference``, evaluation in a ``Scope`` |
| ``paths`` | the one path tokenizer (``Outputs['train'].S3Output``) |
| ``parameter_values`` | ``-p K=V`` parsing and the type rules for overrides and defaults |
| ``schema`` + ``schema/*.json`` | the JSON Schema (shapes) |
| ``rules``, ``properties``, ``s3_uris``, ``graph``, ``durations`` | the graph rules and what they need |
"""

from pipelines.definition.expressions import ExpressionError, Reference, Scope
from pipelines.definition.findings import PIPELINE, DefinitionError, Finding, Severity
from pipelines.definition.model import Branch, CacheConfig, Parameter, PipelineDefinition, PropertyFile, Step
from pipelines.definition.parameter_values import (
    ParameterError,
    ParameterValue,
    parse_assignments,
    render_value,
)
from pipelines.definition.reader import read_definition
from pipelines.definition.step_types import STEP_TYPES, StepType

__all__ = [
    "PIPELINE",
    "STEP_TYPES",
    "Branch",
    "CacheConfig",
    "DefinitionError",
    "ExpressionError",
    "Finding",
    "Parameter",
    "ParameterError",
    "ParameterValue",
    "PipelineDefinition",
    "PropertyFile",
    "Reference",
    "Scope",
    "Severity",
    "Step",
    "StepType",
    "parse_assignments",
    "read_definition",
    "render_value",
]
