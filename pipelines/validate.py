"""Offline validation of a pipeline definition: the project's JSON Schema plus graph rules.

SageMaker only rejects a broken definition at ``CreatePipeline`` time, or worse, at run time
(an unknown property reference fails the step that reads it, hours in). This catches those
mistakes at synthesis time, with findings that name the step and the JSON path of the field:

- the schema (``pipelines/schema/pipeline-definition.schema.json``): envelope, step shapes,
  required job fields, parameter and expression forms;
- every ``Get``/``Std:JsonGet`` resolves: ``Steps.<step>.<path>`` names an existing step and a
  path that exists in that step type's Describe* response (checked against botocore's SageMaker
  model), declared output names, property files and Lambda outputs; ``Parameters.<name>`` is
  declared; ``Execution.<name>`` exists; a step never reads a step in a branch it is not in;
- no cycles through ``DependsOn``, data references and condition branches;
- every declared parameter is used; names of steps and parameters are unique;
- every S3 URI (literal, or the literal head of a ``Std:Join``) is well formed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("schema") / "pipeline-definition.schema.json"
PIPELINE = "(pipeline)"  # the "step" of a finding about the definition as a whole

EXECUTION_VARIABLES = frozenset(
    {
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "StartDateTime",
        "CurrentDateTime",
        "TrainingJobName",
        "ProcessingJobName",
    }
)
# Which Describe*/List* response a step type's properties come from (as in the SDK's Properties).
RESPONSE_SHAPES = {
    "Processing": ("DescribeProcessingJobResponse",),
    "Training": ("DescribeTrainingJobResponse",),
    "Tuning": (
        "DescribeHyperParameterTuningJobResponse",
        "ListTrainingJobsForHyperParameterTuningJobResponse",
    ),
    "Transform": ("DescribeTransformJobResponse",),
    "CreateModel": ("DescribeModelOutput",),
    "RegisterModel": ("DescribeModelPackageOutput",),
}
_BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PATH_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: which step (or ``(pipeline)``), which field (a JSON path), what is wrong."""

    step: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.step}: {self.field}: {self.message}"


@dataclass
class _Step:
    """A step wherever it sits, with the branches it runs in: ((condition, "IfSteps"), ...)."""

    body: dict[str, Any]
    path: str
    branch: tuple[tuple[str, str], ...]
    refs: list[tuple[str, str]] = field(default_factory=list)  # (json path, Get target)

    @property
    def name(self) -> str:
        return str(self.body.get("Name", ""))

    @property
    def type(self) -> str:
        return str(self.body.get("Type", ""))


def validate_definition(doc: Any) -> list[Finding]:
    """Every finding for the definition, sorted by step and field; empty means valid."""
    if not isinstance(doc, dict):
        return [Finding(PIPELINE, "$", "a pipeline definition is a JSON object")]
    findings = _schema_findings(doc)
    steps = list(_walk_steps(doc.get("Steps"), "Steps", ()))
    by_name: dict[str, _Step] = {}
    for step in steps:
        if step.name in by_name:
            findings.append(
                Finding(
                    step.name,
                    f"{step.path}.Name",
                    f"duplicate step name (also at {by_name[step.name].path})",
                )
            )
        else:
            by_name[step.name] = step
    for step in steps:
        step.refs = list(_references(_referencing_part(step), f"{step.path}.Arguments"))
    findings += _reference_findings(doc, steps, by_name)
    findings += _parameter_findings(doc, steps)
    findings += _cycle_findings(steps, by_name)
    findings += _s3_findings(doc, steps)
    return sorted(set(findings))


# -- schema --------------------------------------------------------------------------------------
@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def _schema_findings(doc: dict[str, Any]) -> list[Finding]:
    findings = []
    for error in _validator().iter_errors(doc):
        location = list(error.absolute_path)
        message = error.message
        if error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            if missing:
                location.append(missing.group(1))
                message = "required field is missing"
        elif error.validator == "not" and set(error.validator_value) == {"required"}:
            location.append(error.validator_value["required"][0])  # the schema's "field X not allowed"
            message = "field is not allowed here"
        findings.append(Finding(_step_at(doc, location), _json_path(location), message))
    return findings


def _step_at(doc: dict[str, Any], location: list[str | int]) -> str:
    """The name of the innermost step on a JSON path (``(pipeline)`` outside any step)."""
    name, node = PIPELINE, doc
    for i, key in enumerate(location):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        parent = location[i - 1] if i else None
        if isinstance(key, int) and parent in {"Steps", "IfSteps", "ElseSteps"} and isinstance(node, dict):
            name = str(node.get("Name", f"{_json_path(location[: i + 1])}"))
    return name


def _json_path(location: list[str | int] | tuple[str | int, ...]) -> str:
    text = ""
    for key in location:
        if isinstance(key, int):
            text += f"[{key}]"
        elif _IDENTIFIER.match(key):
            text += f".{key}" if text else key
        else:
            text += f"[{key!r}]"
    return text or "$"


# -- steps and references ------------------------------------------------------------------------
def _walk_steps(items: Any, path: str, branch: tuple[tuple[str, str], ...]) -> Iterator[_Step]:
    if not isinstance(items, list):
        return
    for i, body in enumerate(items):
        if not isinstance(body, dict):
            continue
        step = _Step(body, f"{path}[{i}]", branch)
        yield step
        args = body.get("Arguments")
        if step.type == "Condition" and isinstance(args, dict):
            for arm in ("IfSteps", "ElseSteps"):
                yield from _walk_steps(
                    args.get(arm), f"{step.path}.Arguments.{arm}", (*branch, (step.name, arm))
                )


def _referencing_part(step: _Step) -> Any:
    """What a step reads: its arguments; for a condition, only its conditions (branches read
    on their own behalf)."""
    args = step.body.get("Arguments")
    if step.type == "Condition":
        return {"Conditions": _dig(args, "Conditions")}
    return args


def _references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(json path, target) of every ``Get`` under node, including JsonGet's property file."""
    if isinstance(node, dict):
        if set(node) == {"Get"} and isinstance(node["Get"], str):
            yield path, node["Get"]
            return
        for key, value in node.items():
            yield from _references(value, _json_path_join(path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, f"{path}[{i}]")


def _json_path_join(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{key!r}]"


def _reference_findings(doc: dict[str, Any], steps: list[_Step], by_name: dict[str, _Step]) -> list[Finding]:
    findings = []
    experiment = doc.get("PipelineExperimentConfig")
    pipeline_refs = list(_references(experiment, "PipelineExperimentConfig")) if experiment else []
    for owner, refs in [(None, pipeline_refs), *((s, s.refs) for s in steps)]:
        for path, target in refs:
            problem = _resolve(target, owner, by_name)
            if problem:
                findings.append(Finding(owner.name if owner else PIPELINE, path, problem))
    return findings


def _resolve(target: str, owner: _Step | None, by_name: dict[str, _Step]) -> str | None:
    """Why ``target`` does not resolve for ``owner``, or None if it does."""
    root, _, rest = target.partition(".")
    if root == "Execution":
        return None if rest in EXECUTION_VARIABLES else f"unknown execution variable {rest!r}"
    if root == "Parameters":
        return None  # declared-ness is a parameter rule (one finding per undeclared name)
    if root != "Steps":
        return f"{target!r} is not a Steps., Parameters. or Execution. reference"
    match = re.match(r"([A-Za-z0-9\-_]+)(.*)$", rest)
    if not match or match.group(1) not in by_name:
        return f"{target!r} refers to a step that does not exist"
    source = by_name[match.group(1)]
    if owner is not None:
        if source is owner:
            return f"{target!r}: a step cannot read its own properties"
        if source.branch != owner.branch[: len(source.branch)]:
            where = " > ".join(f"{cond}.{arm}" for cond, arm in source.branch)
            return f"{target!r}: step {source.name} runs only in {where}, which this step is not in"
    return _property_problem(source, match.group(2).lstrip("."), target)


def _property_problem(source: _Step, path: str, target: str) -> str | None:
    tokens = _PATH_TOKEN.findall(path)
    if not path or "".join(_token_text(t) for t in tokens).lstrip(".") != path:
        return f"{target!r}: not a property path"
    first = tokens[0][0]
    if source.type in {"Lambda", "Callback"}:
        declared = {o.get("OutputName") for o in _items(source.body.get("OutputParameters"))}
        if first == "OutputParameters" and len(tokens) == 2 and tokens[1][2] in declared:
            return None
        return f"{target!r}: {source.name} declares outputs {sorted(declared)}"
    if source.type == "Condition":
        return None if path == "Outcome" else f"{target!r}: a condition step has only Outcome"
    if first == "PropertyFiles" and source.type == "Processing":
        declared = {p.get("PropertyFileName") for p in _items(source.body.get("PropertyFiles"))}
        name = tokens[1][0] if len(tokens) == 2 else ""
        return (
            None
            if name in declared
            else f"{target!r}: {source.name} declares property files {sorted(declared)}"
        )
    shapes = RESPONSE_SHAPES.get(source.type)
    if not shapes:
        return f"{target!r}: a {source.type} step has no properties to read"
    problems = [_shape_problem(shape, tokens, source) for shape in shapes]
    return None if None in problems else f"{target!r}: {problems[0]}"


def _token_text(token: tuple[str, str, str]) -> str:
    name, index, key = token
    return f".{name}" if name else f"[{index}]" if index else f"['{key}']"


@functools.cache
def _sagemaker_model() -> Any:
    import botocore.session  # botocore ships SageMaker's API model: the truth about response shapes

    return botocore.session.get_session().get_service_model("sagemaker")


def _shape_problem(shape_name: str, tokens: list[tuple[str, str, str]], source: _Step) -> str | None:
    shape = _sagemaker_model().shape_for(shape_name)
    walked = ""
    for name, index, key in tokens:
        if name:
            members = getattr(shape, "members", {})
            if name not in members:
                return f"{walked or shape_name} has no attribute {name!r}"
            shape = members[name]
        elif shape.type_name == "list":
            if key and walked.endswith("ProcessingOutputConfig.Outputs"):
                declared = _declared_outputs(source)
                if key not in declared:
                    return f"{source.name} has no output {key!r} (declared: {sorted(declared)})"
            shape = shape.member
        elif shape.type_name == "map" and key:
            shape = shape.value
        else:
            return f"{walked} cannot be indexed with {_token_text((name, index, key))}"
        walked = (walked + _token_text((name, index, key))).lstrip(".")
    return None


def _declared_outputs(step: _Step) -> set[str]:
    outputs = _items(_dig(step.body, "Arguments", "ProcessingOutputConfig", "Outputs"))
    return {o.get("OutputName") for o in outputs}


def _dig(node: Any, *keys: str) -> Any:
    """``node[k1][k2]...``, or None where the definition is not shaped that way."""
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _items(node: Any) -> list[dict[str, Any]]:
    """The objects of a list field (nothing if the field is not a list)."""
    return [item for item in node if isinstance(item, dict)] if isinstance(node, list) else []


# -- parameters ----------------------------------------------------------------------------------
def _parameter_findings(doc: dict[str, Any], steps: list[_Step]) -> list[Finding]:
    findings = []
    declared: dict[str, int] = {}
    params = doc.get("Parameters")
    for i, param in enumerate(params if isinstance(params, list) else []):
        name = param.get("Name") if isinstance(param, dict) else None
        if not isinstance(name, str):
            continue
        if name in declared:
            findings.append(Finding(PIPELINE, f"Parameters[{i}].Name", f"duplicate parameter {name!r}"))
        declared.setdefault(name, i)
    used: set[str] = set()
    experiment = doc.get("PipelineExperimentConfig")
    owners = [(PIPELINE, list(_references(experiment, "PipelineExperimentConfig")) if experiment else [])]
    for owner, refs in owners + [(s.name, s.refs) for s in steps]:
        for path, target in refs:
            root, _, name = target.partition(".")
            if root != "Parameters":
                continue
            used.add(name)
            if name not in declared:
                findings.append(Finding(owner, path, f"parameter {name!r} is not declared in Parameters"))
    for name, i in declared.items():
        if name not in used:
            findings.append(
                Finding(PIPELINE, f"Parameters[{i}]", f"parameter {name!r} is declared but no step uses it")
            )
    return findings


# -- cycles --------------------------------------------------------------------------------------
def _cycle_findings(steps: list[_Step], by_name: dict[str, _Step]) -> list[Finding]:
    """Edges run from what must finish first to what waits: dependency -> dependent."""
    edges: dict[str, set[str]] = {name: set() for name in by_name}
    for step in steps:
        depends_on = step.body.get("DependsOn")
        for dependency in depends_on if isinstance(depends_on, list) else []:
            if isinstance(dependency, str) and dependency in edges:
                edges[dependency].add(step.name)
        for _, target in step.refs:
            root, _, rest = target.partition(".")
            source = re.match(r"[A-Za-z0-9\-_]+", rest) if root == "Steps" else None
            if source and source.group(0) in edges and source.group(0) != step.name:
                edges[source.group(0)].add(step.name)
        if step.type == "Condition":
            for arm in ("IfSteps", "ElseSteps"):
                for child in _items(_dig(step.body, "Arguments", arm)):
                    if child.get("Name") in edges:
                        edges[step.name].add(child["Name"])
    findings = []
    for cycle in _cycles(edges):
        first = by_name[cycle[0]]
        findings.append(
            Finding(first.name, first.path, f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}")
        )
    return findings


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The shortest cycle through the smallest-named step of each strongly connected group
    (one finding per tangle, and the same one every run)."""
    found = []
    for group in _strongly_connected(edges):
        start = min(group)
        if len(group) == 1 and start not in edges[start]:
            continue
        previous: dict[str, str] = {}
        queue, seen = [start], {start}
        while queue:  # breadth-first inside the group, back to start
            node = queue.pop(0)
            if start in edges[node]:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                found.append(path[::-1])
                break
            for nxt in sorted(edges[node] & group - seen):
                seen.add(nxt)
                previous[nxt] = node
                queue.append(nxt)
    return sorted(found)


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm over the step graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


# -- S3 URIs -------------------------------------------------------------------------------------
def _s3_findings(doc: dict[str, Any], steps: list[_Step]) -> list[Finding]:
    findings = []
    for path, text in _s3_candidates(doc, ""):
        problem = _s3_problem(text)
        if problem:
            location = _parse_json_path(path)
            findings.append(Finding(_step_at(doc, location), path, f"{text!r}: {problem}"))
    return findings


def _s3_candidates(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Literal strings that are S3 URIs, and the literal heads of Std:Join values building one."""
    if isinstance(node, str):
        if node[:3].lower() == "s3:":
            yield path, node
    elif isinstance(node, dict):
        join = node.get("Std:Join")
        if isinstance(join, dict) and isinstance(join.get("Values"), list):
            values, on = join["Values"], str(join.get("On", ""))
            head = []
            for value in values:
                if not isinstance(value, str | int | float):
                    break
                head.append(str(value))
            if head and head[0][:3].lower() == "s3:":
                more = len(head) < len(values)
                yield f"{path}['Std:Join']", on.join(head) + (on if more else "")
            for i, value in enumerate(values[len(head) :], start=len(head)):
                yield from _s3_candidates(value, f"{path}['Std:Join'].Values[{i}]")
            return
        for key, value in node.items():
            yield from _s3_candidates(value, _json_path_join(path, key) if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _s3_candidates(value, f"{path}[{i}]")


def _s3_problem(uri: str) -> str | None:
    if not uri.startswith("s3://"):
        return "an S3 URI starts with s3://"
    if any(ch.isspace() for ch in uri):
        return "an S3 URI has no whitespace"
    bucket, slash, key = uri[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        return f"bucket {bucket!r} is not a valid bucket name (3-63 of a-z 0-9 . -)"
    if slash and (key.startswith("/") or "//" in key):
        return "empty path segment (//)"
    return None


def _parse_json_path(path: str) -> list[str | int]:
    location: list[str | int] = []
    for name, index, key in _PATH_TOKEN.findall(path):
        location.append(name or (int(index) if index else key))
    return location
