"""Global options accepted after the subcommand too (``pipelines status training --region eu-west-1``).

Click only reads an option on the command that declares it, so ``--region`` after ``status`` was
"No such option". Like the AWS CLI, this CLI takes its global options anywhere: before parsing, they
are moved to the front of the arguments. Every global option takes a value; a test keeps subcommands
from declaring an option of the same name, which this would otherwise take from them.
"""

from __future__ import annotations

from collections.abc import Iterable


def hoist(argv: Iterable[str], value_options: frozenset[str]) -> list[str]:
    """``argv`` with every ``--name value`` / ``--name=value`` of ``value_options`` moved to the
    front, in order; everything after a ``--`` is left alone."""
    hoisted: list[str] = []
    rest: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest.extend([token, *tokens])
            break
        if token.split("=", 1)[0] not in value_options:
            rest.append(token)
            continue
        hoisted.append(token)
        if "=" not in token:
            hoisted.extend(value for value in [next(tokens, None)] if value is not None)
    return [*hoisted, *rest]
