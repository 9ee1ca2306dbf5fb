"""The step graph: the order steps run in, and the cycles that make a definition unrunnable."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence


def execution_order(dependencies: Sequence[Collection[int]]) -> list[int]:
    """A topological order of steps 0..n-1 given what each waits for; among the steps ready at
    once, the one written first runs first (a run is reproducible and its log reads top to
    bottom). Steps caught in a cycle come last, in document order, so the order is always total."""
    waiting = [set(deps) - {index} for index, deps in enumerate(dependencies)]
    dependents: list[list[int]] = [[] for _ in dependencies]
    for index, deps in enumerate(waiting):
        for dependency in deps:
            dependents[dependency].append(index)
    ready = [index for index, deps in enumerate(waiting) if not deps]
    heapq.heapify(ready)
    ordered: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        ordered.append(index)
        for dependent in dependents[index]:
            waiting[dependent].discard(index)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    placed = set(ordered)
    return ordered + [index for index in range(len(dependencies)) if index not in placed]


def cycles(edges: Mapping[str, Collection[str]]) -> list[list[str]]:
    """The shortest cycle through the smallest-named step of each strongly connected group (one
    finding per tangle, the same every run). ``edges`` run from what must finish first to what
    waits for it."""
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
            for nxt in sorted(set(edges[node]) & group - seen):
                seen.add(nxt)
                previous[nxt] = node
                queue.append(nxt)
    return sorted(found)


def _strongly_connected(edges: Mapping[str, Collection[str]]) -> list[set[str]]:
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
