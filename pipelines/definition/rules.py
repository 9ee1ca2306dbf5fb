"""The graph rules, computed from the model: what SageMaker (or a run) would reject, and what is
accepted but suspect (a warning).

- every step type is known (:mod:`~pipelines.definition.step_types`), names are unique, and
  CacheConfig, PropertyFiles, ExpireAfter and the type-specific step-level fields (a check's
  SkipCheck, a Lambda's FunctionArn, ...) are where and what SageMaker accepts;
- every ``DependsOn`` names an existing step (SageMaker refuses a definition whose DependsOn names
  a step it does not have; the local executor could not order it either);
- every reference resolves: the step exists, is not the reader itself, runs in every branch the
  reader runs in, and has the property path (:mod:`~pipelines.definition.properties`); a
  parameter is declared; a job's own execution variable is read only inside that job's step;
  ``ForEach.CurrentItem`` only inside a ForEach body and ``IterationOutput.<body step>`` only in
  that ForEach step's Selector;
- no dependency cycles; every condition type is one the service evaluates;
- parameter names unique, types known, defaults of the declared type and inside EnumValues; a
  declared parameter no step reads is a warning (SageMaker accepts it, yet a value set for it at
  start changes nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from pipelines.definition import graph
from pipelines.definition.durations import parse_expire_after
from pipelines.definition.expressions import FOR_EACH_ROOTS, Reference, condition_problems
from pipelines.definition.findings import PIPELINE, Finding, Severity
from pipelines.definition.model import PipelineDefinition, Step, depends_on_entries
from pipelines.definition.parameter_values import PARAMETER_TYPES, check_default
from pipelines.definition.paths import json_path
from pipelines.definition.properties import property_problem
from pipelines.definition.step_types import JOB_VARIABLES, STEP_FIELDS, STEP_TYPES, a_step


def findings(definition: PipelineDefinition) -> Iterator[Finding]:
    yield from _step_findings(definition)
    yield from _reference_findings(definition)
    yield from _parameter_findings(definition)
    yield from _cycle_findings(definition)


def _at(step: Step, *fields: str | int) -> str:
    return json_path((*step.location, *fields))


# -- steps ----------------------------------------------------------------------------------------
def _step_findings(definition: PipelineDefinition) -> Iterator[Finding]:
    first: dict[str, Step] = {}
    for step in definition.steps:
        if step.name in first:
            yield Finding(
                step.name,
                _at(step, "Name"),
                f"duplicate step name (also at {json_path(first[step.name].location)})",
            )
        first.setdefault(step.name, step)
        yield from _shape_findings(step)
        for where, name in depends_on_entries(step.body.get("DependsOn")):
            if name not in definition.by_name:
                yield Finding(
                    step.name,
                    _at(step, "DependsOn", *where),
                    f"DependsOn names step {name!r}, which does not exist",
                )
        if step.type == "Condition":
            yield from _condition_findings(step)


def _condition_findings(step: Step) -> Iterator[Finding]:
    conditions = step.arguments.get("Conditions") if isinstance(step.arguments, dict) else None
    for index, condition in enumerate(conditions if isinstance(conditions, list) else []):
        for location, message in condition_problems(
            condition, (*step.location, "Arguments", "Conditions", index)
        ):
            yield Finding(step.name, json_path(location), message)


def _shape_findings(step: Step) -> Iterator[Finding]:
    kind = step.kind
    if kind is None:
        yield Finding(
            step.name, _at(step, "Type"), f"unknown step type {step.type!r} (known: {', '.join(STEP_TYPES)})"
        )
        return
    if "CacheConfig" in step.body:
        if not kind.cacheable:
            cacheable = ", ".join(name for name, entry in STEP_TYPES.items() if entry.cacheable)
            yield Finding(
                step.name,
                _at(step, "CacheConfig"),
                f"{a_step(step.type)} is never cached (cacheable: {cacheable})",
            )
        config = step.body["CacheConfig"]
        try:
            parse_expire_after(config.get("ExpireAfter") if isinstance(config, dict) else None)
        except ValueError as err:
            yield Finding(step.name, _at(step, "CacheConfig", "ExpireAfter"), str(err))
    for name, types in STEP_FIELDS.items():
        if name in step.body and name not in kind.step_fields:
            yield Finding(
                step.name,
                _at(step, name),
                f"{a_step(step.type)} has no field {name} (only {', '.join(types)})",
            )
    if "PropertyFiles" in step.body and not kind.property_files:
        owners = ", ".join(name for name, entry in STEP_TYPES.items() if entry.property_files)
        yield Finding(
            step.name,
            _at(step, "PropertyFiles"),
            f"{a_step(step.type)} has no property files (only {owners})",
        )


# -- references -----------------------------------------------------------------------------------
def _reference_findings(definition: PipelineDefinition) -> Iterator[Finding]:
    owners: list[tuple[Step | None, tuple[Reference, ...]]] = [(None, definition.pipeline_references)]
    owners += [(step, step.references) for step in definition.steps]
    for owner, references in owners:
        for reference in references:
            problem = _reference_problem(definition, owner, reference)
            if problem:
                yield Finding(owner.name if owner else PIPELINE, reference.field, problem)


def _reference_problem(
    definition: PipelineDefinition, owner: Step | None, reference: Reference
) -> str | None:
    """Why ``reference`` does not resolve for ``owner`` (None: the pipeline itself), or None."""
    if reference.root == "Parameters":
        if reference.name not in definition.parameters:
            return f"parameter {reference.name!r} is not declared in Parameters"
        return None
    if reference.root in FOR_EACH_ROOTS:
        return _for_each_problem(definition, owner, reference)
    if reference.root == "Execution":
        job_type = JOB_VARIABLES.get(reference.name)
        own = owner.kind.job_variable if owner and owner.kind else None
        if job_type and own != reference.name:
            return f"Execution.{reference.name} is only defined inside a {job_type} step"
        return None
    source = definition.by_name.get(reference.name)
    target = repr(reference.text)
    if source is None:
        return f"{target} refers to a step that does not exist"
    if reference.names_property_file != reference.in_json_get:
        if reference.in_json_get:
            return f"{target}: a Std:JsonGet PropertyFile is Steps.<step>.PropertyFiles.<name>"
        return f"{target}: a property file is read with Std:JsonGet, not Get"
    if owner is not None:
        if source is owner:
            return f"{target}: a step cannot read its own properties"
        if source.branch != owner.branch[: len(source.branch)]:
            where = " > ".join(map(str, source.branch))
            return f"{target}: step {source.name} runs only in {where}, which this step is not in"
    return property_problem(source, reference, definition.by_name)


def _for_each_problem(definition: PipelineDefinition, owner: Step | None, reference: Reference) -> str | None:
    """``ForEach.CurrentItem`` only in a ForEach body; ``IterationOutput.<step>`` only in a ForEach
    step's own arguments (its Selector), naming one of its body steps and a property of it."""
    if reference.root == "ForEach":
        in_body = owner is not None and any(
            (kind := definition.step(branch.condition).kind) is not None and kind.iterations
            for branch in owner.branch
        )
        return None if in_body else f"{reference.text!r} is only defined inside a ForEach step's body"
    body = list(owner.nested) if owner else []
    if owner is None or owner.kind is None or not owner.kind.iterations:
        return f"{reference.text!r} is only read by a ForEach step's Selector"
    if reference.name not in body:
        return f"{reference.text!r}: {owner.name}'s body steps are {body}"
    steps = definition.by_name
    return property_problem(steps[reference.name], dataclasses.replace(reference, root="Steps"), steps)


# -- parameters -----------------------------------------------------------------------------------
def _parameter_findings(definition: PipelineDefinition) -> Iterator[Finding]:
    items = definition.document.get("Parameters")
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("Name") if isinstance(item, dict) else None
        declared = definition.parameters.get(name) if isinstance(name, str) else None
        if declared is not None and declared.location != ("Parameters", index):
            yield Finding(PIPELINE, f"Parameters[{index}].Name", f"duplicate parameter {name!r}")
    used = {
        reference.name
        for references in (definition.pipeline_references, *(step.references for step in definition.steps))
        for reference in references
        if reference.root == "Parameters"
    }
    for parameter in definition.parameters.values():
        where = json_path(parameter.location)
        if parameter.type not in PARAMETER_TYPES:
            yield Finding(
                PIPELINE,
                f"{where}.Type",
                f"parameter type {parameter.type!r} is not one of {', '.join(PARAMETER_TYPES)}",
            )
        elif parameter.has_default:
            try:
                default = check_default(parameter.type, parameter.body["DefaultValue"])
            except ValueError as err:
                yield Finding(PIPELINE, f"{where}.DefaultValue", str(err))
            else:
                if parameter.enum_values and default not in parameter.enum_values:
                    yield Finding(
                        PIPELINE,
                        f"{where}.DefaultValue",
                        f"{default!r} is not one of the EnumValues {', '.join(parameter.enum_values)}",
                    )
        if parameter.name not in used:
            yield Finding(
                PIPELINE,
                where,
                f"parameter {parameter.name!r} is declared but no step uses it",
                Severity.WARNING,
            )


# -- cycles ---------------------------------------------------------------------------------------
def _cycle_findings(definition: PipelineDefinition) -> Iterator[Finding]:
    edges: dict[str, set[str]] = {name: set() for name in definition.by_name}
    for step in definition.steps:
        for dependency in step.dependencies:
            edges[dependency].add(step.name)
        if step.name in step.depends_on:
            edges[step.name].add(step.name)
    for cycle in graph.cycles(edges):
        first = definition.step(cycle[0])
        yield Finding(
            first.name, json_path(first.location), f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}"
        )
