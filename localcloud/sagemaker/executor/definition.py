"""A pipeline definition JSON, read and checked before anything runs.

Everything a run could trip over statically is caught here, with the step and field named: unknown
step types, duplicate names, references to parameters or steps that do not exist, dependency
cycles, and parameter overrides with unknown names or values of the wrong type. The executor then
works from a :class:`PipelineDefinition` whose steps are already in a valid execution order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.sagemaker.executor.expressions import ExpressionError, Reference, references_in

SUPPORTED_STEP_TYPES = (
    "Processing",
    "Training",
    "Tuning",
    "Model",
    "RegisterModel",
    "Lambda",
    "Fail",
    "Condition",
)
PARAMETER_TYPES = ("String", "Integer", "Float", "Boolean")


class DefinitionError(ValueError):
    """The definition (or a parameter override) is unusable; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any = None
    has_default: bool = False
    allowed: tuple[Any, ...] = ()  # EnumValues, when declared


@dataclass(frozen=True)
class Branch:
    """Membership of a step in a Condition step's IfSteps (``when`` True) or ElseSteps."""

    condition: str
    when: bool


@dataclass(frozen=True)
class StepSpec:
    name: str
    type: str
    body: dict[str, Any]
    depends_on: tuple[str, ...]
    branch: Branch | None = None

    @property
    def arguments(self) -> Any:
        return self.body.get("Arguments", {})

    @property
    def retry_policies(self) -> list[dict[str, Any]]:
        return list(self.body.get("RetryPolicies", []))

    @property
    def cache_config(self) -> dict[str, Any]:
        return dict(self.body.get("CacheConfig", {}))

    @property
    def property_files(self) -> dict[str, dict[str, Any]]:
        return {p["PropertyFileName"]: p for p in self.body.get("PropertyFiles", [])}


@dataclass(frozen=True)
class PipelineDefinition:
    parameters: dict[str, ParameterSpec]
    steps: dict[str, StepSpec] = field(default_factory=dict)  # in execution order

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PipelineDefinition:
        problems: list[str] = []
        parameters = _parameters(document, problems)
        flat = _flatten(document.get("Steps"), None, problems)
        names = [spec.name for spec in flat]
        for name in {n for n in names if names.count(n) > 1}:
            problems.append(f"step {name}: the name is used more than once")
        by_name = {spec.name: spec for spec in flat}
        steps = [_with_dependencies(spec, by_name, parameters, problems) for spec in flat]
        if problems:
            raise DefinitionError(problems)
        return cls(parameters=parameters, steps=_execution_order(steps))

    def resolve_parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every parameter: the override if given, else the default."""
        problems = [
            f"unknown parameter {name!r} (declared: {', '.join(sorted(self.parameters)) or 'none'})"
            for name in overrides
            if name not in self.parameters
        ]
        values: dict[str, Any] = {}
        for name, spec in self.parameters.items():
            if name in overrides:
                raw, origin = overrides[name], "override"
            elif spec.has_default:
                raw, origin = spec.default, "default"
            else:
                problems.append(f"parameter {name} has no default value: pass one")
                continue
            try:
                values[name] = coerce_parameter(spec.type, raw)
            except ValueError as err:
                problems.append(f"parameter {name} ({origin}): {err}")
                continue
            if spec.allowed and values[name] not in spec.allowed:
                choices = ", ".join(map(str, spec.allowed))
                problems.append(f"parameter {name} ({origin}): {raw!r} is not one of {choices}")
        if problems:
            raise DefinitionError(problems)
        return values


def coerce_parameter(kind: str, raw: Any) -> Any:
    """Parse a parameter value as its declared type (SageMaker passes every value as a string)."""
    text = str(raw).strip()
    if kind == "String":
        return str(raw)
    if kind == "Boolean":
        if isinstance(raw, bool):
            return raw
        if text.lower() not in ("true", "false"):
            raise ValueError(f"Boolean expects true or false, got {raw!r}")
        return text.lower() == "true"
    if isinstance(raw, bool):
        raise ValueError(f"{kind} expects a number, got {raw!r}")
    if kind == "Integer":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"Integer expects a whole number, got {raw!r}") from None
        if not number.is_integer():
            raise ValueError(f"Integer expects a whole number, got {raw!r}")
        return int(number)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"Float expects a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"Float expects a finite number, got {raw!r}")
    return value


def _parameters(document: Mapping[str, Any], problems: list[str]) -> dict[str, ParameterSpec]:
    specs: dict[str, ParameterSpec] = {}
    for index, item in enumerate(document.get("Parameters", []) or []):
        name = item.get("Name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"Parameters[{index}]: missing Name")
            continue
        kind = item.get("Type", "String")
        if kind not in PARAMETER_TYPES:
            problems.append(f"parameter {name}: Type {kind!r} is not one of {', '.join(PARAMETER_TYPES)}")
            continue
        has_default = "DefaultValue" in item
        allowed = tuple(item.get("EnumValues") or ())
        specs[name] = ParameterSpec(name, kind, item.get("DefaultValue"), has_default, allowed)
        if has_default:
            try:
                coerce_parameter(kind, item["DefaultValue"])
            except ValueError as err:
                problems.append(f"parameter {name}: DefaultValue: {err}")
    return specs


def _flatten(steps: Any, branch: Branch | None, problems: list[str]) -> list[StepSpec]:
    """All steps in document order, a condition's branch steps right after the condition."""
    if not isinstance(steps, list):
        problems.append("Steps must be a list of steps")
        return []
    flat: list[StepSpec] = []
    for index, step in enumerate(steps):
        name = step.get("Name") if isinstance(step, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"Steps[{index}]: missing Name")
            continue
        kind = step.get("Type")
        if kind not in SUPPORTED_STEP_TYPES:
            problems.append(
                f"step {name}: Type {kind!r} cannot run locally (supported: {', '.join(SUPPORTED_STEP_TYPES)})"
            )
            continue
        flat.append(StepSpec(name=name, type=kind, body=step, depends_on=(), branch=branch))
        if kind == "Condition":
            arguments = step.get("Arguments", {})
            flat += _flatten(arguments.get("IfSteps", []), Branch(name, True), problems)
            flat += _flatten(arguments.get("ElseSteps", []), Branch(name, False), problems)
    return flat


def _with_dependencies(
    spec: StepSpec,
    steps: dict[str, StepSpec],
    parameters: dict[str, ParameterSpec],
    problems: list[str],
) -> StepSpec:
    """Explicit DependsOn, every step it reads from, and the condition whose branch it is in."""
    depends: list[str] = []
    for name in spec.body.get("DependsOn", []) or []:
        if name not in steps:
            problems.append(f"step {spec.name}: DependsOn names unknown step {name!r}")
        depends.append(name)
    for reference in _references(spec, problems):
        if reference.root == "Parameters" and reference.name not in parameters:
            problems.append(f"step {spec.name}: {reference.text} is not a declared parameter")
        elif reference.root == "Steps":
            target = steps.get(reference.name)
            if target is None:
                problems.append(f"step {spec.name}: {reference.text} refers to unknown step")
            elif reference.is_property_file and (
                len(reference.path) != 2 or str(reference.path[1]) not in target.property_files
            ):
                problems.append(f"step {spec.name}: {reference.text}: step has no such property file")
            depends.append(reference.name)
    if spec.branch is not None:
        depends.append(spec.branch.condition)
    unique = tuple(dict.fromkeys(d for d in depends if d != spec.name))
    return StepSpec(spec.name, spec.type, spec.body, unique, spec.branch)


def _references(spec: StepSpec, problems: list[str]) -> list[Reference]:
    body = spec.body
    if spec.type == "Condition":  # branch steps are steps of their own, not this step's input
        body = {"Conditions": body.get("Arguments", {}).get("Conditions", [])}
    try:
        return list(references_in(body))
    except ExpressionError as err:
        problems.append(f"step {spec.name}: {err}")
        return []


def _execution_order(steps: list[StepSpec]) -> dict[str, StepSpec]:
    """A topological order; among ready steps, the one written first in the document runs first."""
    position = {spec.name: index for index, spec in enumerate(steps)}
    by_name = {spec.name: spec for spec in steps}
    waiting = {spec.name: {d for d in spec.depends_on if d in by_name} for spec in steps}
    ready = [position[name] for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered: dict[str, StepSpec] = {}
    while ready:
        spec = steps[heapq.heappop(ready)]
        ordered[spec.name] = spec
        for name, deps in waiting.items():
            if spec.name in deps:
                deps.discard(spec.name)
                if not deps and name not in ordered:
                    heapq.heappush(ready, position[name])
    if len(ordered) != len(steps):
        cycle = sorted(name for name in by_name if name not in ordered)
        raise DefinitionError([f"steps {', '.join(cycle)} depend on each other in a cycle"])
    return ordered
