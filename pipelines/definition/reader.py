"""Reading a definition JSON into the model, collecting findings instead of raising.

One pass builds the steps (branch steps included, with the branches they run in), their
references, dependencies and declared outputs; then the JSON Schema and the graph rules add their
findings. The result is complete even for a broken document, so ``validate`` can list every
problem at once and the executor can refuse to run with all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from pipelines.definition import rules, s3_uris, schema
from pipelines.definition.durations import parse_expire_after
from pipelines.definition.expressions import Location, Scan, scan
from pipelines.definition.findings import PIPELINE, Finding
from pipelines.definition.model import (
    Branch,
    CacheConfig,
    Parameter,
    PipelineDefinition,
    PropertyFile,
    Step,
    depends_on_entries,
)
from pipelines.definition.parameter_values import check_default
from pipelines.definition.paths import json_path
from pipelines.definition.step_types import ARGUMENTS, STEP_TYPES

EXPERIMENT_CONFIG = "PipelineExperimentConfig"


def read_definition(document: object) -> PipelineDefinition:
    """The model of ``document`` (parsed JSON) with every finding, sorted by step and field."""
    if not isinstance(document, dict):
        finding = Finding(PIPELINE, "$", "a pipeline definition is a JSON object")
        return PipelineDefinition(document, {}, (), (), (finding,))
    steps, scans = _steps(document)
    experiment = scan(document.get(EXPERIMENT_CONFIG), (EXPERIMENT_CONFIG,))
    definition = PipelineDefinition(
        document, _parameters(document.get("Parameters")), steps, tuple(experiment.references)
    )
    findings = [
        *_unreadable(definition, [experiment, *scans]),
        *schema.findings(definition),
        *rules.findings(definition),
        *s3_uris.findings(definition),
    ]
    return dataclasses.replace(definition, findings=tuple(sorted(set(findings))))


def _unreadable(definition: PipelineDefinition, scans: list[Scan]) -> Iterator[Finding]:
    for found in scans:
        for location, message in found.problems:
            yield Finding(definition.step_at(location), json_path(location), message)


def _parameters(items: Any) -> dict[str, Parameter]:
    parameters: dict[str, Parameter] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("Name") if isinstance(item, dict) else None
        if not isinstance(name, str) or name in parameters:
            continue  # the schema and the parameter rules report these
        kind = str(item.get("Type", ""))
        try:
            default = check_default(kind, item["DefaultValue"]) if "DefaultValue" in item else None
        except ValueError:
            default = None
        enum_values = item.get("EnumValues")
        parameters[name] = Parameter(
            name=name,
            type=kind,
            default=default,
            has_default="DefaultValue" in item,
            enum_values=tuple(str(v) for v in enum_values) if isinstance(enum_values, list) else (),
            location=("Parameters", index),
            body=item,
        )
    return parameters


def _steps(document: Mapping[str, Any]) -> tuple[tuple[Step, ...], list[Scan]]:
    placed = list(_walk(document.get("Steps"), ("Steps",), ()))
    names = {body["Name"] for body, _, _ in placed}
    steps, scans = [], []
    for body, location, branch in placed:
        step, found = _step(body, location, branch, names)
        steps.append(step)
        scans.append(found)
    return tuple(steps), scans


def _walk(
    items: Any, location: Location, branch: tuple[Branch, ...]
) -> Iterator[tuple[dict[str, Any], Location, tuple[Branch, ...]]]:
    """Every named step in document order, a condition's branch steps right after it."""
    for index, body in enumerate(items if isinstance(items, list) else []):
        if not isinstance(body, dict) or not isinstance(body.get("Name"), str) or not body["Name"]:
            continue  # the schema reports a step that is not an object or has no name
        here = (*location, index)
        yield body, here, branch
        for arm, steps in _branches(body).items():
            yield from _walk(steps, (*here, "Arguments", arm), (*branch, Branch(body["Name"], arm)))


def _branches(body: dict[str, Any]) -> dict[str, Any]:
    """Branch field -> its steps as written, for a step type with branches (a Condition)."""
    kind = STEP_TYPES.get(str(body.get("Type")))
    arguments = body.get("Arguments")
    if kind is None or not isinstance(arguments, dict):
        return {}
    return {arm: arguments.get(arm) for arm in kind.branches}


def _step(
    body: dict[str, Any], location: Location, branch: tuple[Branch, ...], names: set[str]
) -> tuple[Step, Scan]:
    name, kind = body["Name"], STEP_TYPES.get(str(body.get("Type")))
    found = Scan()
    for path in kind.scanned_fields if kind else (ARGUMENTS,):
        part = scan(_dig(body, path), (*location, *path))
        found.references += part.references
        found.problems += part.problems
    depends_on = tuple(name for _, name in depends_on_entries(body.get("DependsOn")))
    read_from = [r.name for r in found.references if r.root == "Steps"]
    condition = [branch[-1].condition] if branch else []
    dependencies = [d for d in (*depends_on, *read_from, *condition) if d in names and d != name]
    step = Step(
        name=name,
        type=str(body.get("Type", "")),
        body=body,
        location=location,
        branch=branch,
        references=tuple(found.references),
        depends_on=depends_on,
        dependencies=tuple(dict.fromkeys(dependencies)),
        children={arm: tuple(_names(steps)) for arm, steps in _branches(body).items()},
        property_files=_property_files(body.get("PropertyFiles")),
        output_parameters={
            str(o["OutputName"]): str(o.get("OutputType", "String"))
            for o in _objects(body.get("OutputParameters"))
            if "OutputName" in o
        },
        cache=_cache_config(body.get("CacheConfig")),
        retry_policies=tuple(_objects(body.get("RetryPolicies"))),
    )
    return step, found


def _property_files(items: Any) -> dict[str, PropertyFile]:
    return {
        str(item["PropertyFileName"]): PropertyFile(
            str(item["PropertyFileName"]), str(item.get("OutputName", "")), str(item.get("FilePath", ""))
        )
        for item in _objects(items)
        if "PropertyFileName" in item
    }


def _cache_config(config: Any) -> CacheConfig:
    if not isinstance(config, dict):
        return CacheConfig()
    try:
        expire_after = parse_expire_after(config.get("ExpireAfter"))
    except ValueError:
        expire_after = None  # a finding of the step rules
    return CacheConfig(enabled=config.get("Enabled") is True, expire_after=expire_after)


def _dig(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


def _objects(node: Any) -> list[dict[str, Any]]:
    return [item for item in _list(node) if isinstance(item, dict)]


def _names(items: Any) -> Iterator[str]:
    for item in _objects(items):
        if isinstance(item.get("Name"), str):
            yield item["Name"]
