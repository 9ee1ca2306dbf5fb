"""The sample dataset's schema (UCI Abalone), the one place that names its columns.

To adapt the template to another tabular dataset, change this module: the preprocessing,
evaluation and monitoring code and the tests read the schema from here.
"""

from __future__ import annotations

from processing_scripts.drift.methods import Kind

# Raw CSV columns in file order, with the type each must parse as.
RAW_COLUMNS: dict[str, str] = {
    "sex": "category",
    "length": "float",
    "diameter": "float",
    "height": "float",
    "whole weight": "float",
    "shucked weight": "float",
    "viscera weight": "float",
    "shell weight": "float",
    "rings": "int",
}
TARGET = "rings"

# Categorical columns and their allowed values; one-hot encoded in this order.
CATEGORIES: dict[str, tuple[str, ...]] = {"sex": ("F", "I", "M")}

# "regression" or "binary_classification": decides the evaluation metrics and the quality gate.
PROBLEM_TYPE = "regression"


def feature_names() -> list[str]:
    """Model input columns after preprocessing (numeric columns, then one-hot columns)."""
    numeric = [c for c, kind in RAW_COLUMNS.items() if c != TARGET and kind != "category"]
    one_hot = [column for columns in one_hot_columns().values() for column in columns.values()]
    return numeric + one_hot


def one_hot_columns() -> dict[str, dict[str, str]]:
    """Each categorical column's model inputs after one-hot encoding, value -> column name, so a
    report can show the three 0/1 columns of ``sex`` as the one feature they encode."""
    return {col: {value: f"{col}_{value}" for value in values} for col, values in CATEGORIES.items()}


def feature_kinds() -> dict[str, Kind]:
    """How the drift engine compares each model input, which the per-feature drift alarms must know
    (a numeric distance drifts above its threshold, a ChiSquared p-value below). Every column after
    preprocessing is a number (one-hot columns are 0/1), so all are numerical here; a dataset whose
    endpoint receives text features marks those categorical."""
    return dict.fromkeys(feature_names(), Kind.NUMERICAL)
