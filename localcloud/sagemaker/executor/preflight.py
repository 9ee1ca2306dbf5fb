"""The pre-flight: everything in a definition that cannot run locally, found once, before anything runs.

A newcomer's pipeline (built by the SageMaker SDK from AWS's examples, or the SageMaker Projects seed)
often holds a step the local cloud cannot run: a type with no local runner (EMR, AutoML, a notebook
job...), a Lambda function it does not know, or a feature a runner declares it lacks
(:func:`~localcloud.sagemaker.executor.steps.base.declares_blockers`). Finding those one at a time,
each after minutes of running the steps before it, is the cascade this module prevents: every
problem is one line naming the step, what it needs and the option that gets past it, and all of
them come out together with the parameter problems, before the emulator starts.

It also decides whether a definition is this project's own (see :func:`is_project_definition`),
so the warnings that only make sense for the project's definitions stay off a foreign one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from localcloud.sagemaker.executor.steps.base import StepRunner, blockers_of
from pipelines.definition import PipelineDefinition, Step
from pipelines.definition.paths import json_path
from pipelines.settings import Settings

Stubs = Mapping[str, Mapping[str, Any]]  # step name -> the properties it stands in with

# The DependsOn run condition every plain entry has (sagemaker.mlops.workflow.step_dependency
# .TriggerCondition.COMPLETED, which the SDK writes as the bare step name).
COMPLETED = "Completed"


def stub_option(step_name: str) -> str:
    """The option that gets any step past the pre-flight: its outputs from a file instead of a run."""
    return f"--stub {step_name}=outputs.json"


def blockers(
    definition: PipelineDefinition,
    runners: Mapping[str, StepRunner | None],
    engine_types: Collection[str],
    stubs: Collection[str] = (),
    settings: Settings | None = None,
) -> list[str]:
    """One line per thing that stops ``definition`` from running locally ([] if it can run).

    ``runners`` are the step types with a runner (None: a type that runs but whose runner is not
    at hand to ask, so only the type is checked), ``engine_types`` the ones the engine evaluates
    itself (Condition, Fail); a stubbed step is never run, so nothing about it can block. Runners'
    declared checks are asked only when ``settings`` are given (they judge images against them).
    """
    names = [step.name for step in definition.steps]
    problems = [
        f"--stub {name}: the definition has no step {name!r} (its steps: {', '.join(names)})"
        for name in stubs
        if name not in names
    ]
    for step in definition.steps:
        if step.name in stubs:
            continue
        condition = run_condition_problem(step)
        if condition is not None:  # only --stub gets past it, whatever else the step needs
            problems.append(f"{step.name}: {condition}; pass {stub_option(step.name)}")
            continue
        if step.type in engine_types:
            continue
        if step.type not in runners:
            problems.append(
                f"{step.name}: {json_path((*step.location, 'Type'))}: this {step.type} step cannot run "
                f"locally (runs: {', '.join([*runners, *engine_types])}); pass {stub_option(step.name)}"
            )
            continue
        runner = runners[step.type]
        check = blockers_of(runner) if runner is not None and settings is not None else None
        for blocker in check(step, settings) if check and settings else ():
            problems.append(
                f"{step.name}: {blocker.feature}; pass {blocker.option or stub_option(step.name)}"
            )
    return problems


def run_condition_problem(step: Step) -> str | None:
    """A ``DependsOn`` entry with a run condition (SDK 3.x ``StepDependency``: ``{"Step": "Train",
    "Trigger": "Failed"}``) is not emulated: the engine would run the step only once that step
    completed, the opposite of what ``Failed`` means, and stop the run at the failure it is
    written to handle. Refused rather than run wrongly."""
    entries = step.body.get("DependsOn")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        trigger = entry.get("Trigger", COMPLETED) if isinstance(entry, dict) else COMPLETED
        if trigger != COMPLETED:
            return (
                f"DependsOn[{index}]: the run condition Trigger {trigger!r} on {entry.get('Step')} is "
                "not emulated (a step runs here only once what it depends on completed)"
            )
    return None


def is_project_definition(definition: Mapping[str, Any], settings: Settings) -> bool:
    """Whether this project wrote ``definition``: some step runs the project's own image.

    Every pipeline this project synthesizes runs its processing image (the ECR repository named in
    the settings); a definition built elsewhere does not, whatever its pipeline's file name.
    """
    marker = f".amazonaws.com/{settings.ecr_repository}:"
    return any(marker in text for text in _strings(definition.get("Steps", [])))


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
