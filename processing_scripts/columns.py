"""How a column name in a file is matched to a column name in an example's description: one rule,
used by everything that reads raw data (preprocessing, seed-data, the local traffic generator). The
drift engine needs none: it compares the model's inputs, which preprocessing names from the
description.

Exports spell the same column many ways: UCI's ``LIMIT_BAL`` and ``default payment next month``,
a spreadsheet's ``Whole Weight``, a database's ``whole_weight``, a pandas round trip's ``pay.0``.
Two names are the same column when their :func:`column_key` is equal: case is ignored, and every run
of whitespace, underscores, hyphens and dots is one separator (leading and trailing ones ignored).
Both sides go through the key (the file's header AND the description's names), so any name a CSV
can hold works, including names that are all separators (matched exactly, see below).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SEPARATORS = re.compile(r"[\s_.\-]+")


def column_key(name: str) -> str:
    """``' Whole_Weight '`` -> ``'whole weight'``; ``'PAY.0'`` -> ``'pay 0'``.

    A name made only of separators (``'_'``, ``' '``) would key to the empty string and so equal any
    other such name; it keys to itself instead, so it still matches only its own spelling.
    """
    key = _SEPARATORS.sub(" ", name).strip().casefold()
    return key if key else name


class ColumnMatchError(ValueError):
    """A header cannot be matched to the description; the message says which names and why."""


def match_columns(header: Iterable[str], expected: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Map each expected name to the header name that spells it, plus the header's extra names.

    Raises :class:`ColumnMatchError` when two header names are the same column, or when expected
    names are missing (the message names what was expected and what was found).
    """
    by_key: dict[str, str] = {}
    for name in header:
        key = column_key(name)
        if key in by_key:
            raise ColumnMatchError(f"columns {by_key[key]!r} and {name!r} are the same column")
        by_key[key] = name
    wanted = list(expected)
    wanted_keys = {column_key(name) for name in wanted}
    unmatched = [name for key, name in by_key.items() if key not in wanted_keys]
    missing = [name for name in wanted if column_key(name) not in by_key]
    if missing:
        hint = (
            "the first line must be a header row naming the columns"
            if len(missing) == len(wanted)
            else "case, spaces, underscores, hyphens and dots in names do not matter"
        )
        raise ColumnMatchError(
            f"missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(wanted)} ({hint}); "
            f"found {', '.join(map(repr, unmatched)) or 'no other columns'}"
        )
    return {name: by_key[column_key(name)] for name in wanted}, unmatched


def rename_to_schema(columns: Mapping[str, str]) -> dict[str, str]:
    """Header name -> schema name, from :func:`match_columns`' mapping (for ``DataFrame.rename``)."""
    return {found: expected for expected, found in columns.items()}
