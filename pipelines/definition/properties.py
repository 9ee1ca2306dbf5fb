"""Whether ``Steps.<step>.<path>`` names a property that step will have.

A step type's properties come from where its :class:`~pipelines.definition.step_types.StepType`
says: a Describe* response shape in botocore's service model (the truth SageMaker's SDK builds its
``Properties`` from), fixed paths, maps keyed by what the step creates (a Lineage step's
``ActionArns['<action name>']``), declared Lambda/Callback outputs, declared property files, or
(a ForEach step) its body steps' own properties per iteration.
A list indexed by name (``Outputs['train']``) is also checked against the names the step's own
arguments give that list, since the Describe response echoes the request.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from pipelines.definition.expressions import NAME_FIELDS, ExpressionError, Reference, lookup, parse_reference
from pipelines.definition.model import Step
from pipelines.definition.paths import Key, PathSegment, render_path
from pipelines.definition.step_types import a_step

ITERATIONS, SELECTED = "IterationOutputs", "Selected"


@functools.cache
def _service_model(service: str) -> Any:
    import botocore.session  # botocore ships each service's API model: the response shapes

    return botocore.session.get_session().get_service_model(service)


def property_problem(source: Step, reference: Reference, steps: Mapping[str, Step]) -> str | None:
    """Why ``reference`` names nothing ``source`` will have; None when it does (or when the
    source's type is unknown, which is a finding of its own). ``steps``: every step by name, for
    a ForEach step's properties, which are its body steps'."""
    kind = source.kind
    if kind is None:
        return None
    path, target = reference.path, repr(reference.text)
    if not path:
        return f"{target} names {source.name} but no property of it"
    if kind.iterations and path[0] in (ITERATIONS, SELECTED):
        return _iteration_problem(source, reference, steps)
    if reference.names_property_file:
        declared = sorted(source.property_files)
        if reference.property_file in source.property_files:
            return None
        if not kind.property_files:
            return f"{target}: {a_step(source.type)} has no property files"
        return f"{target}: {source.name} declares property files {declared}"
    if kind.declared_outputs:
        declared = sorted(source.output_parameters)
        last = path[-1]
        if (
            len(path) == 2
            and path[0] == "OutputParameters"
            and isinstance(last, Key)
            and last.name in declared
        ):
            return None
        return f"{target}: {source.name} declares outputs {declared} (read as OutputParameters['<name>'])"
    if isinstance(path[0], str) and path[0] in kind.named_properties:
        return _named_property_problem(source, reference, *kind.named_properties[path[0]])
    if render_path(path) in kind.fixed_properties:
        return None
    if not kind.response_shapes:
        if kind.fixed_properties:
            return f"{target}: {a_step(source.type)} has only {', '.join(kind.fixed_properties)}"
        return f"{target}: {a_step(source.type)} has no properties to read"
    problems = [_shape_problem(kind.service, shape, path, source) for shape in kind.response_shapes]
    return None if None in problems else f"{target}: {problems[0]}"


def _iteration_problem(source: Step, reference: Reference, steps: Mapping[str, Step]) -> str | None:
    """``IterationOutputs[<i>].<body step>.<property>`` or ``Selected.<property>``: a property of
    one of the ForEach step's body steps (for Selected, the one its Selector compares)."""
    path, target = reference.path, repr(reference.text)
    body = list(source.nested)
    if path[0] == SELECTED:
        chosen = _selected_step(source)
        if chosen not in body:
            return f"{target}: {source.name} has no Selector over one of its body steps {body}"
        rest = path[1:]
    elif len(path) > 2 and isinstance(path[1], int) and isinstance(path[2], str) and path[2] in body:
        chosen, rest = path[2], path[3:]
    else:
        return (
            f"{target}: read as {ITERATIONS}[<i>].<body step>.<property>; {source.name}'s body steps: {body}"
        )
    return property_problem(steps[chosen], dataclasses.replace(reference, name=chosen, path=rest), steps)


def _selected_step(for_each: Step) -> str | None:
    """The body step a ForEach step's Selector compares (its Field is IterationOutput.<step>...)."""
    selector = for_each.arguments.get("Selector") if isinstance(for_each.arguments, dict) else None
    field = selector.get("Field") if isinstance(selector, dict) else None
    try:
        reference = parse_reference(field.get("Get") if isinstance(field, dict) else None)
    except ExpressionError:
        return None  # the reader reports an unreadable Field
    return reference.name if reference.root == "IterationOutput" else None


def _named_property_problem(source: Step, reference: Reference, items: str, name_field: str) -> str | None:
    """``ActionArns['x']``: x must name one of the step's own ``Actions`` (by ``ActionName``)."""
    path, declared = reference.path, _declared_names(source.arguments, items, name_field)
    if len(path) == 2 and isinstance(path[1], Key) and path[1].name in declared:
        return None
    return (
        f"{reference.text!r}: {source.name} creates {items} {declared} (read as {path[0]}['<{name_field}>'])"
    )


def _declared_names(arguments: Any, items: str, name_field: str) -> list[str]:
    listed = arguments.get(items) if isinstance(arguments, dict) else None
    return sorted(
        str(item[name_field])
        for item in (listed if isinstance(listed, list) else [])
        if isinstance(item, dict) and name_field in item
    )


def _shape_problem(service: str, shape_name: str, path: tuple[PathSegment, ...], source: Step) -> str | None:
    shape = _service_model(service).shape_for(shape_name)
    for depth, segment in enumerate(path):
        walked = render_path(path[:depth]) or shape_name
        if isinstance(segment, str):
            members = getattr(shape, "members", {}) if shape.type_name == "structure" else {}
            if segment not in members:
                return f"{walked} has no attribute {segment!r}"
            shape = members[segment]
        elif shape.type_name == "list":
            if isinstance(segment, Key):
                problem = _undeclared_name(source, path[:depth], segment.name)
                if problem:
                    return problem
            shape = shape.member
        elif shape.type_name == "map" and isinstance(segment, Key):
            shape = shape.value
        else:
            return f"{walked} cannot be indexed with {render_path([segment])}"
    return None


def _undeclared_name(source: Step, list_path: tuple[PathSegment, ...], name: str) -> str | None:
    """When the step's arguments hold the list literally, the name must be one of its items'."""
    try:
        items = lookup(source.arguments, list_path, "")
    except ExpressionError:
        return None  # the response has more than the request: nothing to check against
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    names = sorted(str(item[k]) for item in items for k in NAME_FIELDS if isinstance(item.get(k), str))
    if name in names:
        return None
    return f"{source.name} has no {render_path(list_path)} element named {name!r} (declared: {names})"
