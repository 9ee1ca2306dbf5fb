"""Every S3 URI in the definition is well formed: literal ones, and the literal head of a
``Std:Join`` that builds one (``s3://<bucket>/...`` followed by expressions).

A malformed URI only fails at run time, in the step that reads or writes it. The rule itself is
:func:`processing_scripts.s3_uri.problem`, the project's one S3 URI helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.definition.expressions import JOIN, Location
from pipelines.definition.findings import Finding
from pipelines.definition.model import PipelineDefinition
from pipelines.definition.paths import json_path
from processing_scripts import s3_uri


def findings(definition: PipelineDefinition) -> Iterator[Finding]:
    for location, text in _candidates(definition.document, ()):
        problem = s3_uri.problem(text)
        if problem:
            yield Finding(definition.step_at(location), json_path(location), f"{text!r}: {problem}")


def uris(document: Any) -> Iterator[str]:
    """Every S3 URI the document writes out (literal, or the literal head of a ``Std:Join``),
    well formed or not: what the local cloud creates buckets for."""
    return (text for _, text in _candidates(document, ()))


def _candidates(node: Any, location: Location) -> Iterator[tuple[Location, str]]:
    """Literal strings that are S3 URIs, and the literal heads of Std:Join values building one."""
    if isinstance(node, str):
        if node[:3].lower() == "s3:":
            yield location, node
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _candidates(value, (*location, index))
    elif isinstance(node, dict):
        join = node.get(JOIN)
        if isinstance(join, dict) and isinstance(join.get("Values"), list):
            values, on = join["Values"], str(join.get("On", ""))
            head = []
            for value in values:
                if not isinstance(value, str | int | float):
                    break
                head.append(str(value))
            if head and head[0][:3].lower() == "s3:":
                more = len(head) < len(values)
                yield (*location, JOIN), on.join(head) + (on if more else "")
            for index, value in enumerate(values[len(head) :], start=len(head)):
                yield from _candidates(value, (*location, JOIN, "Values", index))
            return
        for key, value in node.items():
            yield from _candidates(value, (*location, key))
