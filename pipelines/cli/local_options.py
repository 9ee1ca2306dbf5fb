"""``run-local``'s "bring your own pipeline" options, read and checked before anything starts.

``--seed``, ``--stub``, ``--lambda`` and ``-a`` name files and values a typo can break; each
problem is reported here, all of them at once and one per line, so a bad option never costs an
emulator start or a step run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from localcloud.awslambda import UserHandler
from localcloud.seeding import Seed
from pipelines.cli.context import CliError
from pipelines.definition import ParameterError, parse_assignments

_Parsed = TypeVar("_Parsed")


@dataclass(frozen=True)
class LocalOptions:
    seeds: list[Seed]
    stubs: dict[str, dict[str, Any]]  # step name -> the properties it stands in with
    handlers: list[UserHandler]
    kwargs: dict[str, str]  # for a module.py:function pipeline


def read_local_options(
    seeds: Iterable[str], stubs: Iterable[str], handlers: Iterable[str], kwargs: Iterable[str]
) -> LocalOptions:
    """Every option parsed and checked, or one :class:`CliError` (usage) listing every problem."""
    problems: list[str] = []
    parsed_seeds = _each(seeds, Seed.parse, problems)
    stubbed = _each(stubs, _stub, problems)
    options = LocalOptions(
        seeds=parsed_seeds,
        stubs=dict(stubbed),
        handlers=_each(handlers, UserHandler.parse, problems),
        kwargs=_assignments(kwargs, problems),
    )
    for option, names in (
        ("--stub", [s for s, _ in stubbed]),
        ("--lambda", [h.name for h in options.handlers]),
    ):
        problems += [
            f"{option} {name}: given more than once" for name in sorted(set(names)) if names.count(name) > 1
        ]
    if problems:
        raise CliError(
            problems[0] if len(problems) == 1 else "bad options:" + "".join(f"\n  {p}" for p in problems),
            "see `python -m pipelines run-local --help` and docs/local-execution.md",
            CliError.USAGE,
        )
    return options


def _stub(text: str) -> tuple[str, dict[str, Any]]:
    """``STEP=outputs.json``: the file must hold a JSON object (the step's properties)."""
    step, separator, path = text.partition("=")
    if not separator or not step or not path:
        raise ValueError(f"--stub {text!r}: expected STEP=outputs.json")
    try:
        document = json.loads(Path(path).expanduser().read_text())
    except OSError as err:
        raise ValueError(f"--stub {text!r}: cannot read {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise ValueError(
            f"--stub {text!r}: {path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})"
        ) from err
    if not isinstance(document, dict):
        raise ValueError(f"--stub {text!r}: {path} must hold a JSON object (the step's properties)")
    return step, document


def _assignments(pairs: Iterable[str], problems: list[str]) -> dict[str, str]:
    try:
        return parse_assignments(pairs)
    except ParameterError as err:
        problems += [f"-a: {problem}".replace("parameter ", "argument ") for problem in err.problems]
        return {}


def _each(texts: Iterable[str], parse: Callable[[str], _Parsed], problems: list[str]) -> list[_Parsed]:
    parsed = []
    for text in texts:
        try:
            parsed.append(parse(text))
        except ValueError as err:
            problems.append(str(err))
    return parsed
