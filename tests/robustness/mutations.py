"""Malformed inputs of each class the issue names, generated from real, valid ones.

A mutation is drawn as data (kind, positions, payload) and applied deterministically, so hypothesis
shrinks a failure to the one mutation that caused it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Cells a hostile user or a broken exporter writes: empty, text, beyond float64 and int64, NaN and
# infinity words, quotes that never close, an embedded delimiter, NUL, non-ASCII, NA spellings.
BAD_CELLS = [
    "", " ", "abc", "1e400", "-1e309", "1e19", "-9223372036854775809", "nan", "NaN", "inf", "-Infinity",
    "9" * 40, '"', '"x', 'a"b', "1,2", "\x00", "é", "NULL", "N/A", "0x1F", "1_000", "١٢",
]  # fmt: skip
TEXT_MUTATIONS = (
    "cell",
    "drop_cell",
    "add_cell",
    "blank_line",
    "space_line",
    "commas_line",
    "truncate",
    "dup_header",
)
BYTE_MUTATIONS = ("utf8_bom", "utf16", "latin1_byte", "nul_byte", "crlf", "no_final_newline", "empty")

text_mutation = st.tuples(
    st.sampled_from(TEXT_MUTATIONS), st.integers(0, 10_000), st.integers(0, 100), st.sampled_from(BAD_CELLS)
)
byte_mutation = st.tuples(st.sampled_from(BYTE_MUTATIONS), st.integers(0, 10_000))
mutations = st.tuples(st.lists(text_mutation, max_size=3), st.lists(byte_mutation, max_size=1))


def mutate_csv(lines: list[str], drawn: tuple[list[Any], list[Any]], *, header: bool) -> bytes:
    """Apply the drawn text mutations to a CSV's lines (the header, if any, only by dup_header)."""
    text_ops, byte_ops = drawn
    rows = [line.split(",") for line in lines]
    first = 1 if header else 0
    for kind, at, column, cell in text_ops:
        if len(rows) <= first:
            break
        index = first + at % (len(rows) - first)
        row = rows[index]
        if kind == "cell" and row:
            row[column % len(row)] = cell
        elif kind == "drop_cell" and row:
            del row[column % len(row)]
        elif kind == "add_cell":
            row.insert(column % (len(row) + 1), cell)
        elif kind == "blank_line":
            rows.insert(index, [""])
        elif kind == "space_line":
            rows.insert(index, ["   "])
        elif kind == "commas_line":
            rows.insert(index, [""] * max(2, len(row)))
        elif kind == "truncate":
            joined = ",".join(row)
            rows[index] = joined[: column % (len(joined) + 1)].split(",")
            del rows[index + 1 :]
        elif kind == "dup_header" and header:
            rows.insert(index, list(rows[0]))
    text = "\n".join(",".join(row) for row in rows) + "\n"
    return mutate_bytes(text, byte_ops)


def mutate_bytes(text: str, byte_ops: list[Any]) -> bytes:
    data = text.encode("utf-8")
    for kind, at in byte_ops:
        position = at % (len(data) + 1)
        if kind == "utf8_bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "utf16":
            data = text.encode("utf-16")
        elif kind == "latin1_byte":
            data = data[:position] + b"\xe9" + data[position:]
        elif kind == "nul_byte":
            data = data[:position] + b"\x00" + data[position:]
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif kind == "no_final_newline":
            data = data.rstrip(b"\n")
        elif kind == "empty":
            data = b""
    return data


# -- JSON documents (definitions, events): replace one value somewhere with something of another kind
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document (the root excluded)."""
    found = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        found.append((*prefix, key))
        found += paths(value, (*prefix, key))
    return found


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``doc`` with ``path`` set to ``value`` (or deleted when value is ``DELETE``)."""
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


DELETE = object()


@st.composite
def mutated_json(draw: st.DrawFn, doc: Any, max_changes: int = 3) -> Any:
    """``doc`` with up to ``max_changes`` values replaced by JSON of any kind, or deleted."""
    for _ in range(draw(st.integers(1, max_changes))):
        locations = paths(doc)
        if not locations:
            break
        path = draw(st.sampled_from(locations))
        doc = replaced(doc, path, draw(st.just(DELETE) | JSON_VALUES))
    return doc
