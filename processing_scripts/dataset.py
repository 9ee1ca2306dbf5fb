"""The selected example's dataset description (``examples/<name>/example.toml``, read by
:mod:`processing_scripts.example`): the one place the jobs and the rest of the project ask for the
columns, the target, the categories and the problem type.

To bring your own dataset, add an example folder (docs/your-own-data.md); nothing here changes.
"""

from __future__ import annotations

from processing_scripts import example
from processing_scripts.drift.methods import Kind
from processing_scripts.example import DatasetSpec


def schema() -> DatasetSpec:
    """The selected example's dataset (``MLOPS_EXAMPLE``, default abalone)."""
    return example.selected().dataset


def feature_names() -> list[str]:
    """Model input columns after preprocessing (numeric columns, then one-hot columns)."""
    return schema().feature_names()


def one_hot_columns() -> dict[str, dict[str, str]]:
    """Each categorical column's model inputs after one-hot encoding, value -> column name."""
    return schema().one_hot_columns()


def feature_kinds() -> dict[str, Kind]:
    """How the drift engine compares each model input, which the per-feature drift alarms must know
    (a numeric distance drifts above its threshold, a ChiSquared p-value below). Every column after
    preprocessing is a number (one-hot columns are 0/1), so all are numerical here; a dataset whose
    endpoint receives text features marks those categorical."""
    return dict.fromkeys(feature_names(), Kind.NUMERICAL)
