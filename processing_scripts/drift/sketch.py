"""A quantile sketch in the shape Model Monitor writes (Deequ's KLL ``QuantileNonSample``).

Model Monitor stores each numeric feature's distribution as ``distribution.kll.sketch``: a list of
compactor levels where an item on level ``i`` stands for ``2**i`` original values, plus the
parameters ``k`` (sketch size) and ``c`` (shrinking factor). Drift is measured between the
cumulative distributions these items describe.

Why this implementation: small data is kept exactly (a single sorted level, which is a valid sketch
and makes the distance exact); larger data is compacted KLL-style, so memory and file size stay
bounded (about ``k / (1 - c)`` items) however many rows stream through. Compaction sorts whole numpy
arrays, never loops over values in Python, and uses a seeded generator so identical input gives
identical files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing_scripts.drift.errors import DriftInputError

DEFAULT_K = 2048  # Deequ's default sketch size
DEFAULT_C = 0.64  # Deequ's default shrinking factor
# Up to this many values a feature's sketch is the exact sorted data (one level, weight 1).
EXACT_LIMIT = 8192
_SEED = 20240607  # any fixed value: compaction offsets must not vary between identical runs


@dataclass(frozen=True)
class Cdf:
    """A step CDF: ``points`` sorted and unique, ``cumulative[i]`` = P(X <= points[i])."""

    points: np.ndarray
    cumulative: np.ndarray

    def at(self, values: np.ndarray) -> np.ndarray:
        """P(X <= v) for each v (0 below the first point)."""
        idx = np.searchsorted(self.points, values, side="right")
        padded = np.concatenate([[0.0], self.cumulative])
        return padded[idx]


class QuantileSketch:
    """KLL-style compactor levels over float64 values; mergeable batch by batch."""

    def __init__(self, k: int = DEFAULT_K, c: float = DEFAULT_C, exact_limit: int = EXACT_LIMIT) -> None:
        self.k = k
        self.c = c
        self.exact_limit = exact_limit
        self.levels: list[np.ndarray] = [np.empty(0)]
        self._exact = True
        self._rng = np.random.default_rng(_SEED)

    # -- building ------------------------------------------------------------------------------
    def update(self, values: np.ndarray) -> None:
        """Add a batch of finite float64 values (any order)."""
        if values.size == 0:
            return
        self.levels[0] = np.concatenate([self.levels[0], values])
        if self._exact and self.levels[0].size <= self.exact_limit:
            return
        self._exact = False
        self._compress()

    def merge(self, other: QuantileSketch) -> None:
        """Add another sketch's items (another shard's), level by level.

        Exact while both are exact and together hold at most ``exact_limit`` values: the values are
        concatenated in order, so the result is the sketch one pass would build. Otherwise the levels
        are concatenated and compacted again; KLL sketches are mergeable with the same rank-error
        guarantee as one pass (Karnin, Lang & Liberty, "Optimal Quantile Approximation in Streams",
        2016, section 3), but which items survive differs from one pass, so the files do too.
        """
        if self._exact and other._exact and self.levels[0].size + other.levels[0].size <= self.exact_limit:
            self.levels[0] = np.concatenate([self.levels[0], other.levels[0]])
            return
        while len(self.levels) < len(other.levels):
            self.levels.append(np.empty(0))
        for level, items in enumerate(other.levels):
            self.levels[level] = np.concatenate([self.levels[level], items])
        self._exact = False
        self._compress()

    @property
    def exact(self) -> bool:
        """True while the sketch is the data itself (one level, weight 1)."""
        return self._exact

    @classmethod
    def from_levels(cls, levels: list[list[float]], *, k: int, c: float, exact: bool) -> QuantileSketch:
        """A sketch as :attr:`levels` and :attr:`exact` describe it (a shard's, read back to merge)."""
        sketch = cls(k=k, c=c)
        sketch.levels = [np.asarray(level, dtype=np.float64) for level in levels] or [np.empty(0)]
        sketch._exact = exact
        return sketch

    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - level - 1
        return max(2, math.ceil(self.k * self.c**depth))

    def _compress(self) -> None:
        """Halve every over-full level into the next one, lowest first, until all fit."""
        level = 0
        while level < len(self.levels):
            items = self.levels[level]
            if items.size > self._capacity(level):
                items = np.sort(items, kind="stable")
                # An odd item out stays behind (the largest); the rest pair up and half survive.
                keep = items[-1:] if items.size % 2 else items[:0]
                pairs = items[: items.size - keep.size]
                promoted = pairs[int(self._rng.integers(2)) :: 2]
                self.levels[level] = keep
                if level + 1 == len(self.levels):
                    self.levels.append(np.empty(0))
                self.levels[level + 1] = np.concatenate([self.levels[level + 1], promoted])
            level += 1

    # -- reading -------------------------------------------------------------------------------
    @property
    def total_weight(self) -> float:
        return float(sum(items.size * 2.0**level for level, items in enumerate(self.levels)))

    def cdf(self) -> Cdf:
        """The weighted step CDF of the sketch items (Deequ's rank / total weight)."""
        values = np.concatenate(self.levels) if self.levels else np.empty(0)
        if values.size == 0:
            return Cdf(np.empty(0), np.empty(0))
        weights = np.concatenate([np.full(items.size, 2.0**level) for level, items in enumerate(self.levels)])
        order = np.argsort(values, kind="stable")
        values, weights = values[order], weights[order]
        cumulative = np.cumsum(weights)
        # For repeated values the CDF is the rank after the last copy.
        last = np.concatenate([values[1:] != values[:-1], [True]])
        return Cdf(values[last], cumulative[last] / cumulative[-1])

    def equal_width_buckets(self, low: float, high: float, count: int = 10) -> list[dict[str, float]]:
        """Model Monitor's ``kll.buckets``: ``count`` equal-width buckets over [low, high] whose
        counts come from sketch ranks (scaled to the sketch's total weight)."""
        if not self.levels or self.total_weight == 0:
            return []
        edges = np.linspace(low, high, count + 1) if high > low else np.array([low, high])
        cdf = self.cdf()
        at_edges = cdf.at(edges) * self.total_weight
        at_edges[0] = 0.0
        at_edges[-1] = self.total_weight  # the last bucket is closed: it holds the maximum
        counts = np.diff(at_edges)
        return [
            {"lower_bound": float(lo), "upper_bound": float(hi), "count": float(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]

    # -- Model Monitor JSON --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = [np.sort(items).tolist() for items in self.levels]
        while len(data) > 1 and not data[-1]:
            data.pop()
        return {"parameters": {"c": self.c, "k": float(self.k)}, "data": data}

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = "sketch") -> QuantileSketch:
        """Read ``distribution.kll.sketch``; ``where`` names the field in error messages."""
        params = doc.get("parameters") or {}
        sketch = cls(k=int(float(params.get("k", DEFAULT_K))), c=float(params.get("c", DEFAULT_C)))
        data = doc.get("data")
        if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
            raise DriftInputError(f"{where}.data must be a list of lists of numbers (KLL levels)")
        try:
            sketch.levels = [np.asarray(level, dtype=np.float64) for level in data] or [np.empty(0)]
        except (TypeError, ValueError) as err:
            raise DriftInputError(f"{where}.data holds a non-numeric item: {err}") from err
        if not all(np.isfinite(level).all() for level in sketch.levels):
            # Python's json reads NaN and Infinity; in a sketch they made every quantile NaN, and the
            # distance against it read as drift. A sketch only ever holds observed (finite) numbers.
            raise DriftInputError(f"{where}.data holds NaN or Infinity; a sketch holds observed numbers only")
        sketch._exact = len(sketch.levels) == 1
        return sketch
