"""Per-feature statistics accumulated over streamed record batches, column by column.

Why this shape: a feature's statistics (counts, moments, min/max, sketch, category counts) and the
numbers the drift check needs are all mergeable, so the engine can read any amount of data in
bounded memory, one pyarrow batch at a time. Every operation is a vectorized pyarrow or numpy call
over a whole column of a batch; nothing loops over rows in Python (String features loop over their
distinct values only).

For the drift check each numeric profile also counts, per batch, how many current values fall at or
below (and strictly below) every point of the baseline's sketch. Those counts give the exact
current CDF at the points where the L-infinity distance can be attained (see ``distance.py``),
so the current data never has to be held or sorted as a whole.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processing_scripts.drift.arrays import count_true, present_floats
from processing_scripts.drift.formats import (
    FRACTIONAL,
    INTEGRAL,
    MAX_CATEGORIES,
    STRING,
    FeatureStatistics,
    NumericSummary,
)
from processing_scripts.drift.sketch import Cdf, QuantileSketch

# A decimal number as text (what CSV writers produce), optionally signed, with an exponent.
NUMBER_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
INTEGER_PATTERN = r"^\s*[-+]?\d+\s*$"
# Distinct String values tracked while reading; beyond this the rarest are folded away (memory bound).
CATEGORY_TRACKING_LIMIT = 50_000


def is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_numeric(kind: pa.DataType) -> bool:
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )


def text_column_kind(column: pa.Array | pa.ChunkedArray) -> str:
    """Model Monitor's type for a text column: Integral, Fractional or String (any non-number)."""
    present = len(column) - column.null_count
    if present == 0:
        return FRACTIONAL
    if count_true(pc.match_substring_regex(column, INTEGER_PATTERN)) == present:
        return INTEGRAL
    if count_true(pc.match_substring_regex(column, NUMBER_PATTERN)) == present:
        return FRACTIONAL
    return STRING


class NumericProfile:
    """Statistics of one numeric feature; optionally the drift counts against a baseline CDF.

    ``expected_type`` is the baseline's type in a check (values that are not numbers, or not whole
    numbers for Integral, count as type mismatches) or the type read from the data for a baseline.
    """

    def __init__(self, name: str, expected_type: str, baseline_cdf: Cdf | None = None) -> None:
        self.name = name
        self.expected_type = expected_type
        self.rows = 0
        self.missing = 0
        self.not_numbers = 0  # text values that are not numbers (excluded from the statistics)
        self.not_whole = 0  # numbers with a fractional part
        self.negative = 0
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.sketch = QuantileSketch()
        self.batch_moments: list[tuple[int, float, float, float]] = []  # (n, mean, m2, sum) per batch
        self.baseline_cdf = baseline_cdf
        points = 0 if baseline_cdf is None else baseline_cdf.points.size
        self.at_or_below = np.zeros(points, dtype=np.int64)  # current values <= each baseline point
        self.below = np.zeros(points, dtype=np.int64)  # current values <  each baseline point

    def add(self, column: pa.Array) -> None:
        self.rows += len(column)
        self.missing += column.null_count
        if not _is_numeric(column.type):
            text = column if is_text(column.type) else pc.cast(column, pa.string())
            numbers = pc.utf8_trim_whitespace(text.filter(pc.match_substring_regex(text, NUMBER_PATTERN)))
            self.not_numbers += len(text) - text.null_count - len(numbers)
            column = numbers
        values = present_floats(column)
        finite = np.isfinite(values)
        # NaN and infinities that were real values (not nulls) count as missing too.
        self.missing += int(values.size - np.count_nonzero(finite))
        self._add_values(np.sort(values[finite]))

    def _add_values(self, ordered: np.ndarray) -> None:
        n = ordered.size
        if n == 0:
            return
        self.min = min(self.min, float(ordered[0]))
        self.max = max(self.max, float(ordered[-1]))
        batch_mean = float(ordered.mean())
        self.add_moments(n, batch_mean, float(np.square(ordered - batch_mean).sum()), float(ordered.sum()))
        self.negative += int(np.searchsorted(ordered, 0.0, side="left"))
        self.not_whole += int(np.count_nonzero(ordered != np.trunc(ordered)))
        self.sketch.update(ordered)
        if self.baseline_cdf is not None:
            self.at_or_below += np.searchsorted(ordered, self.baseline_cdf.points, side="right")
            self.below += np.searchsorted(ordered, self.baseline_cdf.points, side="left")

    def add_moments(self, n: int, batch_mean: float, batch_m2: float, batch_sum: float) -> None:
        """Fold one batch's count, mean, squared deviations and sum into the running moments.

        Every batch's moments are also kept (``batch_moments``, a few numbers per batch): a sharded
        check replays them in file order, so its floating-point operations, and so its mean, sum
        and standard deviation, are exactly those of one pass (see ``drift/partial.py``)."""
        delta = batch_mean - self.mean
        combined = self.count + n
        # Chan et al.'s pairwise merge: numerically stable over many batches.
        self.m2 += batch_m2 + delta * delta * self.count * n / combined
        self.mean += delta * n / combined
        self.count = combined
        self.total += batch_sum
        self.batch_moments.append((n, batch_mean, batch_m2, batch_sum))

    @property
    def present(self) -> int:
        """Non-null values (numbers or not): Model Monitor's ``num_present``."""
        return self.rows - self.missing

    @property
    def type_mismatches(self) -> int:
        return self.not_numbers + (self.not_whole if self.expected_type == INTEGRAL else 0)

    def observed_type(self) -> str:
        if self.not_numbers:
            return STRING
        return INTEGRAL if self.expected_type == INTEGRAL and not self.not_whole else FRACTIONAL

    def statistics(self, inferred_type: str | None = None) -> FeatureStatistics:
        empty = self.count == 0
        return FeatureStatistics(
            name=self.name,
            inferred_type=inferred_type or self.observed_type(),
            num_present=self.present,
            num_missing=self.missing,
            numeric=NumericSummary(
                mean=math.nan if empty else self.mean,
                sum=self.total,
                std_dev=math.nan if empty else math.sqrt(self.m2 / self.count),
                min=math.nan if empty else self.min,
                max=math.nan if empty else self.max,
                sketch=self.sketch,
            ),
        )


class StringProfile:
    """Statistics of one String (categorical) feature: value counts merged batch by batch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.missing = 0
        self.counts: Counter[str] = Counter()
        self.folded = 0  # values of categories dropped to respect CATEGORY_TRACKING_LIMIT
        self.truncated = False

    def add(self, column: pa.Array) -> None:
        self.rows += len(column)
        self.missing += column.null_count
        if not is_text(column.type):
            column = pc.cast(column, pa.string())
        counted = pc.value_counts(column.filter(pc.is_valid(column)) if column.null_count else column)
        values = counted.field("values").to_pylist()
        counts = counted.field("counts").to_pylist()
        self.merge_counts(dict(zip(values, counts, strict=True)))

    def merge_counts(self, counts: dict[str, int]) -> None:
        """Add value counts (a batch's, or another shard's), then fold the rarest categories away
        when more than :data:`CATEGORY_TRACKING_LIMIT` are tracked (memory bound)."""
        self.counts.update(counts)
        if len(self.counts) > CATEGORY_TRACKING_LIMIT:
            kept = dict(self.counts.most_common(CATEGORY_TRACKING_LIMIT // 2))
            self.folded += sum(self.counts.values()) - sum(kept.values())
            self.counts = Counter(kept)
            self.truncated = True

    @property
    def present(self) -> int:
        return self.rows - self.missing

    def statistics(self) -> FeatureStatistics:
        top = dict(self.counts.most_common(MAX_CATEGORIES))
        return FeatureStatistics(
            name=self.name,
            inferred_type=STRING,
            num_present=self.present,
            num_missing=self.missing,
            categories=top,
            distinct_count=len(self.counts),
        )


Profile = NumericProfile | StringProfile
