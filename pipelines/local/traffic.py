"""Generated endpoint traffic: normal, drifted and bad rows of model features, from the sample data.

Requests carry what a client of the endpoint sends: headerless CSV rows of the model's features in
``dataset.feature_names()`` order (numeric columns, then the one-hot columns). Rows are drawn from
the sample dataset (``data/abalone.csv``) so "normal" traffic has the training distribution, then
changed on purpose:

- ``normal``: resampled rows, unchanged.
- ``drifted``: the animals got bigger and the population older: every size and weight column is
  scaled up (by ``1 + strength``) and infants are mostly replaced by adults. The drift engine should
  flag most numeric features; the model still answers.
- ``bad``: what a broken upstream system sends: negative sizes, a column stuck at zero and rows
  whose category is lost (every one-hot column 0). Each value is still a finite number, so the
  endpoint answers (and captures) them, and the monitoring job reports constraint violations.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.settings import REPO_ROOT
from processing_scripts import dataset

SAMPLE_DATA = REPO_ROOT / "data" / "abalone.csv"


class TrafficKind(StrEnum):
    NORMAL = "normal"
    DRIFTED = "drifted"
    BAD = "bad"


def load_features(path: Path = SAMPLE_DATA) -> pd.DataFrame:
    """The sample data as model features (numeric columns, then one-hot), label dropped."""
    raw = pd.read_csv(path)
    missing = [c for c in dataset.RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(dataset.RAW_COLUMNS)}")
    features = raw.drop(columns=[dataset.TARGET])
    for column, values in dataset.CATEGORIES.items():
        for value in values:
            features[f"{column}_{value}"] = (features[column] == value).astype(float)
        features = features.drop(columns=[column])
    return features[dataset.feature_names()].astype(float)


def _numeric_columns() -> list[str]:
    return [c for c, kind in dataset.RAW_COLUMNS.items() if c != dataset.TARGET and kind != "category"]


def generate(
    kind: TrafficKind, rows: int, *, seed: int, strength: float = 0.5, source: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``rows`` feature rows of one kind; the same seed gives the same rows."""
    rng = np.random.default_rng(seed)
    base = load_features() if source is None else source
    sample = base.iloc[rng.integers(0, len(base), size=rows)].reset_index(drop=True).copy()
    if kind is TrafficKind.DRIFTED:
        return _drift(sample, rng, strength)
    if kind is TrafficKind.BAD:
        return _corrupt(sample, rng)
    return sample


def _drift(frame: pd.DataFrame, rng: np.random.Generator, strength: float) -> pd.DataFrame:
    numeric = _numeric_columns()
    frame[numeric] = frame[numeric] * (1.0 + strength)
    for column, values in dataset.CATEGORIES.items():
        infant, adults = f"{column}_{values[1]}", [f"{column}_{v}" for v in values if v != values[1]]
        grown = (frame[infant] == 1.0) & (rng.random(len(frame)) < 0.8)
        frame.loc[grown, infant] = 0.0
        frame.loc[grown, adults[0]] = 1.0
    return frame


def _corrupt(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    numeric = _numeric_columns()
    frame[numeric[0]] = -frame[numeric[0]]  # negative sizes
    frame[numeric[-1]] = 0.0  # a column stuck at zero
    lost = rng.random(len(frame)) < 0.5  # half the rows lose their category
    one_hot = [c for c in frame.columns if c not in numeric]
    frame.loc[lost, one_hot] = 0.0
    return frame


def to_csv_lines(frame: pd.DataFrame) -> list[str]:
    """One headerless CSV line per row."""
    text = frame.to_csv(header=False, index=False, float_format="%.6g")
    return text.splitlines()
