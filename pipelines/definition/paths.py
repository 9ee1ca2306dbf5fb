"""The one tokenizer for paths: ``Get`` property paths, ``Std:JsonGet`` paths and findings' JSON paths.

A path is a sequence of segments: an attribute (``.ModelArtifacts``), a position (``[0]``) or a
bracketed name (``['train']``), which indexes a list by its items' name field (SageMaker's
``Outputs['train']``) or a map by key (``OutputParameters['status']``). The definition's own
places are named the same way (``Steps[4].Arguments.Conditions[0].LeftValue['Std:JsonGet']``), so
a finding's field reads like the references it is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A bracketed name: ``['train']`` (an attribute is a plain ``str``, a position an ``int``)."""

    name: str


PathSegment = str | int | Key

_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEGMENT = re.compile(
    r"\.(?P<attribute>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\[(?P<index>[0-9]+)\]"
    r"|\['(?P<single>[^']*)'\]"
    r'|\["(?P<double>[^"]*)"\]'
)


class PathError(ValueError):
    """A path that cannot be parsed, or segments that cannot be written as one."""


def parse_path(text: str) -> tuple[PathSegment, ...]:
    """``a.b[0]['c d']`` -> ``("a", "b", 0, Key("c d"))``; the first attribute's dot is optional."""
    segments: list[PathSegment] = []
    position = 0
    first = _ATTRIBUTE.match(text)
    if first:
        segments.append(first.group(0))
        position = first.end()
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise PathError(f"cannot parse {text!r} at {text[position:]!r}")
        if match.group("attribute") is not None:
            segments.append(match.group("attribute"))
        elif match.group("index") is not None:
            segments.append(int(match.group("index")))
        else:
            name = match.group("single")
            segments.append(Key(name if name is not None else match.group("double")))
        position = match.end()
    return tuple(segments)


def render_path(segments: Sequence[PathSegment]) -> str:
    """The inverse of :func:`parse_path` (no leading dot); raises :class:`PathError` when a
    segment has no written form (an attribute that is not an identifier, a name with both quotes)."""
    text = ""
    for segment in segments:
        if isinstance(segment, Key):
            quote = "'" if "'" not in segment.name else '"'
            if quote in segment.name:
                raise PathError(f"the name {segment.name!r} contains both quote characters")
            text += f"[{quote}{segment.name}{quote}]"
        elif isinstance(segment, bool) or (isinstance(segment, int) and segment < 0):
            raise PathError(f"{segment!r} is not a list position")
        elif isinstance(segment, int):
            text += f"[{segment}]"
        elif _ATTRIBUTE.fullmatch(segment):
            text += f".{segment}" if text else segment
        else:
            raise PathError(f"{segment!r} is not an attribute name; write it as a bracketed name")
    return text


def json_path(location: Sequence[str | int]) -> str:
    """Where a value sits in the definition (``$`` for the document itself); never raises."""
    segments: list[PathSegment] = [
        key if isinstance(key, int) or _ATTRIBUTE.fullmatch(key) else Key(key) for key in location
    ]
    try:
        return render_path(segments) or "$"
    except PathError:  # a key with both quote characters: shown, if not parseable
        return "".join(f"[{key!r}]" for key in location)
