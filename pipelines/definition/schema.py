"""The JSON Schema half of validation: the shapes of a definition, checked by ``jsonschema``.

``schema/pipeline-definition.schema.json`` is the project's schema, written from AWS's published
pipeline definition schema (https://aws-sagemaker-mlops.github.io/sagemaker-model-building-pipeline-definition-JSON-schema/,
repository commit b4012b0 of 2025-04-03, definition version 2020-12-01) and extended with what the
SDK 2.x and 3.x emit and the service accepts (its description lists each extension). It checks
shapes only: the lists the code acts on (step types, parameter types, condition types, functions,
execution variables) live in the code and are checked by the rules, so each has one source.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.definition.findings import Finding
from pipelines.definition.model import PipelineDefinition
from pipelines.definition.paths import json_path

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).with_name("schema") / "pipeline-definition.schema.json"
# A subschema's own wording for its failure, where the validator's would not say what to do.
ERROR_MESSAGE = "errorMessage"


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # a third of a second: only when a definition is read, not on every CLI call

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def findings(definition: PipelineDefinition) -> Iterator[Finding]:
    for error in _validator().iter_errors(definition.document):
        location: list[str | int] = list(error.absolute_path)
        message = error.message
        if error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            if missing:
                location.append(missing.group(1))
                message = "required field is missing"
        elif error.validator == "not" and set(error.validator_value) == {"required"}:
            location.append(error.validator_value["required"][0])  # the schema's "field X not allowed"
            message = "field is not allowed here"
        if isinstance(error.schema, dict) and ERROR_MESSAGE in error.schema:
            message = error.schema[ERROR_MESSAGE]
        yield Finding(definition.step_at(location), json_path(location), message)
