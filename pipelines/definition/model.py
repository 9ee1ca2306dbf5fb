"""The typed model of a pipeline definition: what :func:`pipelines.definition.read_definition` returns.

Everything that reads a definition JSON (``validate``, ``diff``, ``start``, ``run-local``, the
local executor, the closed loop) works from this one model, so they cannot disagree about what a
definition means. The model keeps each step's JSON (``body``) for what is evaluated at run time
(its arguments) and adds what is derived once: branch membership, references, dependencies,
property files, Lambda outputs, cache and retry settings, the execution order, and the findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from pipelines.definition import graph
from pipelines.definition.expressions import Reference
from pipelines.definition.findings import PIPELINE, DefinitionError, Finding, Severity
from pipelines.definition.parameter_values import ParameterError, ParameterValue, parse_value
from pipelines.definition.step_types import STEP_TYPES, StepType

DEPENDS_ON_STEP = "Step"


def depends_on_entries(entries: Any) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """(where inside DependsOn, step name) for each readable entry of a DependsOn list.

    An entry is a step name, or (SDK 3.x run conditions) ``{"Step": <name>, "Trigger": ...}``:
    the step runs when that one fails, stops or ends in any way rather than when it completes.
    Either way the step waits for the named one; other entries are the schema's to report.
    """
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, str):
            yield (index,), entry
        elif isinstance(entry, dict) and isinstance(entry.get(DEPENDS_ON_STEP), str):
            yield (index, DEPENDS_ON_STEP), entry[DEPENDS_ON_STEP]


@dataclass(frozen=True)
class Parameter:
    """A declared parameter. ``default`` is the DefaultValue when it is of the declared type."""

    name: str
    type: str
    default: ParameterValue | None
    has_default: bool
    enum_values: tuple[str, ...]
    location: tuple[str | int, ...]
    body: Mapping[str, Any]

    def parse(self, text: str) -> ParameterValue:
        """An override string as this parameter's value; ValueError says what is wrong."""
        value = parse_value(self.type, text)
        if self.enum_values and value not in self.enum_values:
            raise ValueError(f"{text!r} is not one of {', '.join(self.enum_values)}")
        return value


@dataclass(frozen=True)
class Branch:
    """Membership of a step in a Condition step's ``IfSteps`` or ``ElseSteps`` (or in a ForEach
    step's ``ForEachBody``: ``condition`` is then the ForEach step, and ``when`` means nothing)."""

    condition: str
    arm: str

    @property
    def when(self) -> bool:
        """The condition outcome this branch runs on."""
        return self.arm == "IfSteps"

    def __str__(self) -> str:
        return f"{self.condition}.{self.arm}"


@dataclass(frozen=True)
class PropertyFile:
    """A JSON file a Processing step writes to one of its outputs, read with ``Std:JsonGet``."""

    name: str
    output_name: str
    file_path: str


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool = False
    expire_after: timedelta | None = None  # None: never expires


@dataclass(frozen=True)
class Step:
    """One step wherever it sits (branch steps included), with what is derived from it."""

    name: str
    type: str
    body: Mapping[str, Any]  # the step's JSON object
    location: tuple[str | int, ...]  # where it sits: ("Steps", 4, "Arguments", "IfSteps", 0)
    branch: tuple[Branch, ...]  # the branches it runs in, outermost first
    references: tuple[Reference, ...]  # what it reads, in document order
    depends_on: tuple[str, ...]  # the step names DependsOn lists (see depends_on_entries)
    dependencies: tuple[str, ...]  # existing steps it waits for: DependsOn, data references, its condition
    children: Mapping[str, tuple[str, ...]]  # branch field -> names of the steps directly in it
    property_files: Mapping[str, PropertyFile]
    output_parameters: Mapping[str, str]  # OutputName -> OutputType (Lambda, Callback)
    cache: CacheConfig
    retry_policies: tuple[Mapping[str, Any], ...]

    @property
    def kind(self) -> StepType | None:
        """The registry entry of its type (None for a type no entry describes)."""
        return STEP_TYPES.get(self.type)

    @property
    def arguments(self) -> Any:
        return self.body.get("Arguments", {})

    @property
    def nested(self) -> tuple[str, ...]:
        """The names of the steps directly inside it (a Condition's branches, a ForEach's body)."""
        return tuple(name for names in self.children.values() for name in names)

    @property
    def condition(self) -> Branch | None:
        """The innermost branch it is in (None at the top level)."""
        return self.branch[-1] if self.branch else None


@dataclass(frozen=True)
class PipelineDefinition:
    """A definition as read: never raises on a malformed document; ``findings`` says what is wrong."""

    document: Any
    parameters: Mapping[str, Parameter]  # the first declaration of each name
    steps: tuple[Step, ...]  # document order, a condition's branch steps right after it
    pipeline_references: tuple[Reference, ...]  # those of PipelineExperimentConfig
    findings: tuple[Finding, ...] = field(default=())

    @cached_property
    def by_name(self) -> Mapping[str, Step]:
        """Steps by name (the first of a duplicated name: a finding says it is duplicated)."""
        found: dict[str, Step] = {}
        for step in self.steps:
            found.setdefault(step.name, step)
        return found

    def step(self, name: str) -> Step:
        return self.by_name[name]

    @cached_property
    def execution_order(self) -> tuple[Step, ...]:
        """Dependencies first; ties in document order (see :func:`graph.execution_order`)."""
        position = {step.name: index for index, step in reversed(list(enumerate(self.steps)))}
        waits = [{position[name] for name in step.dependencies} for step in self.steps]
        return tuple(self.steps[index] for index in graph.execution_order(waits))

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.WARNING)

    def raise_for_errors(self) -> None:
        """Refuse a definition with errors (warnings are SageMaker-accepted and do not stop it)."""
        if self.errors:
            raise DefinitionError(self.errors)

    def step_at(self, location: Sequence[str | int]) -> str:
        """The name of the innermost step holding a place of the document (``(pipeline)`` outside)."""
        deepest = max(
            (s for s in self.steps if tuple(location[: len(s.location)]) == s.location),
            key=lambda s: len(s.location),
            default=None,
        )
        return deepest.name if deepest else PIPELINE

    def check_overrides(self, overrides: Mapping[str, str]) -> dict[str, ParameterValue]:
        """The typed value of every override; ParameterError lists every unknown name or bad value."""
        problems = [
            f"unknown parameter {name!r} (declared: {', '.join(sorted(self.parameters)) or 'none'})"
            for name in overrides
            if name not in self.parameters
        ]
        values: dict[str, ParameterValue] = {}
        for name, text in overrides.items():
            if name in self.parameters:
                try:
                    values[name] = self.parameters[name].parse(text)
                except ValueError as err:
                    problems.append(f"parameter {name}: {err}")
        if problems:
            raise ParameterError(problems)
        return values

    def resolve_parameters(self, overrides: Mapping[str, str]) -> dict[str, ParameterValue]:
        """A value for every parameter, in declaration order: the override if given, else the default."""
        values = self.check_overrides(overrides)
        problems = []
        for name, parameter in self.parameters.items():
            if name in values:
                continue
            if parameter.default is not None:
                values[name] = parameter.default
            elif parameter.has_default:
                problems.append(
                    f"parameter {name}: its DefaultValue is invalid (see `validate`): pass a value"
                )
            else:
                problems.append(f"parameter {name} has no default value: pass one")
        if problems:
            raise ParameterError(problems)
        return {name: values[name] for name in self.parameters}
