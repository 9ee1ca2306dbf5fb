"""Pipeline definitions as the CLI sees them: which one a name means, what changed between two,
and how bad ``--param`` values are reported.

Kept apart from the commands so `upsert` and `diff` describe a change in the same words, and
`start` and `run-local` reject parameters in the same words.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.cli.context import CliError
from pipelines.definition import ParameterError, Step, read_definition
from pipelines.settings import PIPELINES, Settings
from pipelines.synth import canonical_json as canonical


def resolve_pipeline_name(settings: Settings, name: str) -> str:
    """Accept the short name (``training``) or the full one (``abalone-mlops-dev-training``)."""
    if name in PIPELINES:
        return settings.pipeline_name(name)
    if name in settings.pipeline_names:
        return name
    choices = ", ".join([*PIPELINES, *settings.pipeline_names])
    raise CliError(f"unknown pipeline {name!r}", f"choose one of: {choices}")


def local_definition(settings: Settings, pipeline_name: str, definition_file: Path | None) -> dict[str, Any]:
    """The definition to deploy: a given file, else a fresh in-process synthesis (never a stale build)."""
    if definition_file is not None:
        return read_definition_file(definition_file)
    from pipelines.synth import render_pipelines  # the SDK import costs seconds: only when needed

    return json.loads(render_pipelines(settings)[pipeline_name])


def read_definition_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; anything else is one line naming the file and the place."""
    regenerate = "regenerate it with `pipelines synth`"
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CliError(
            f"cannot read {path}: {err.strerror}",
            "check the path; `pipelines synth` writes build/pipelines/<name>.json",
            CliError.NOT_FOUND,
        ) from err
    try:
        text = raw.decode("utf-8-sig")  # JSON is UTF-8 (RFC 8259 section 8.1); a BOM is tolerated
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise CliError(
            f"{path}:{line}: byte 0x{raw[err.start]:02x} is not UTF-8; a definition is UTF-8 JSON",
            regenerate,
            CliError.INVALID,
        ) from err
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(
            f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})", regenerate, CliError.INVALID
        ) from err
    except RecursionError:
        raise CliError(
            f"{path}: JSON nested too deeply to read (a definition nests a few levels)",
            regenerate,
            CliError.INVALID,
        ) from None
    if not isinstance(definition, dict):
        raise CliError(f"{path}: a pipeline definition is a JSON object", exit_code=CliError.INVALID)
    return definition


def parameter_error(err: ParameterError) -> CliError:
    """Bad ``--param`` values, one line, as ``start`` and ``run-local`` both report them."""
    return CliError("; ".join(err.problems), "parameters: --param Name=Value (repeatable)", CliError.USAGE)


@dataclass
class DefinitionChange:
    """What differs between a deployed definition and a local one, step by step."""

    added_steps: list[str] = field(default_factory=list)
    removed_steps: list[str] = field(default_factory=list)
    changed_steps: list[str] = field(default_factory=list)
    added_parameters: list[str] = field(default_factory=list)
    removed_parameters: list[str] = field(default_factory=list)
    changed_parameters: list[str] = field(default_factory=list)
    other_fields: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(vars(self).values())

    def lines(self) -> list[str]:
        labels = {
            "added_steps": "+ step",
            "removed_steps": "- step",
            "changed_steps": "~ step",
            "added_parameters": "+ parameter",
            "removed_parameters": "- parameter",
            "changed_parameters": "~ parameter",
            "other_fields": "~ field",
        }
        return [f"{labels[key]} {name}" for key, names in vars(self).items() for name in names]


def _compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if canonical(old[k]) != canonical(new[k]))
    return added, removed, changed


def _own_content(step: Step) -> dict[str, Any]:
    """A step compared on its own content; the steps of its branches are compared by name."""
    if not step.children:
        return dict(step.body)
    return {
        **step.body,
        "Arguments": {**step.arguments, **{arm: list(names) for arm, names in step.children.items()}},
    }


def compare_definitions(deployed: dict[str, Any], local: dict[str, Any]) -> DefinitionChange:
    old, new = read_definition(deployed), read_definition(local)
    change = DefinitionChange()
    change.added_steps, change.removed_steps, change.changed_steps = _compare(
        {step.name: _own_content(step) for step in old.steps},
        {step.name: _own_content(step) for step in new.steps},
    )
    (change.added_parameters, change.removed_parameters, change.changed_parameters) = _compare(
        {p.name: dict(p.body) for p in old.parameters.values()},
        {p.name: dict(p.body) for p in new.parameters.values()},
    )
    for key in sorted((set(deployed) | set(local)) - {"Steps", "Parameters"}):
        if canonical({"v": deployed.get(key)}) != canonical({"v": local.get(key)}):
            change.other_fields.append(key)
    return change


def unified_diff(deployed: dict[str, Any], local: dict[str, Any], name: str) -> str:
    return "".join(
        difflib.unified_diff(
            canonical(deployed).splitlines(keepends=True),
            canonical(local).splitlines(keepends=True),
            fromfile=f"deployed/{name}",
            tofile=f"local/{name}",
        )
    )
