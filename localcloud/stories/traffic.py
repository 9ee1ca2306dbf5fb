"""Generated endpoint traffic: normal, drifted and bad rows of model features, from the sample data.

Requests carry what a client of the endpoint sends: headerless CSV rows of the model's features in
``dataset.feature_names()`` order (numeric columns, then the one-hot columns). Rows are drawn from
the sample dataset (``data/abalone.csv``) so "normal" traffic has the training distribution, then
changed on purpose:

- ``normal``: resampled rows, unchanged.
- ``drifted``: the animals got bigger and the population older: every size and weight column is
  scaled up (by ``1 + strength``) and infants are mostly replaced by adults. The drift engine should
  flag most numeric features; the model still answers. :func:`labelled_drifted_rows` gives the same
  population as raw, labelled rows: the new data a data team would land for retraining.
- ``concept-drifted``: normal features, but the target's relation to them changed: the same-looking
  animals are older (:func:`labels`). Only ground truth shows it; the drift engine must stay quiet.
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
    CONCEPT_DRIFTED = "concept-drifted"  # features as normal; only the labels tell


def load_raw(path: Path = SAMPLE_DATA) -> pd.DataFrame:
    """The sample data as raw labelled rows, columns in :data:`dataset.RAW_COLUMNS` order."""
    raw = pd.read_csv(path)
    missing = [c for c in dataset.RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(dataset.RAW_COLUMNS)}")
    return raw[list(dataset.RAW_COLUMNS)]


def load_features(path: Path = SAMPLE_DATA) -> pd.DataFrame:
    """The sample data as model features (numeric columns, then one-hot), label dropped."""
    return to_features(load_raw(path))


def to_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw rows as the endpoint's features (numeric columns, then one-hot), label dropped."""
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
    """``rows`` feature rows of one kind, drawn from raw rows (``source``, default the sample data);
    the same seed gives the same rows."""
    rng = np.random.default_rng(seed)
    sample = _sample(load_raw() if source is None else source, rows, rng)
    if kind is TrafficKind.DRIFTED:
        return to_features(_drift(sample, rng, strength))
    if kind is TrafficKind.BAD:
        return _corrupt(to_features(sample), rng)
    return to_features(sample)


def labels(kind: TrafficKind, rows: int, *, seed: int, strength: float = 0.5) -> np.ndarray:
    """The true labels of :func:`generate`'s rows for the same seed, as reviewers count them later.

    ``concept-drifted``: rings x ``1 + strength`` for animals that look as before (the concept
    changed, the inputs did not); normal traffic keeps its rows' labels.
    """
    if kind not in (TrafficKind.NORMAL, TrafficKind.CONCEPT_DRIFTED):
        raise ValueError(f"labels are generated for normal and concept-drifted traffic, not {kind.value}")
    truth = _sample(load_raw(), rows, np.random.default_rng(seed))[dataset.TARGET].to_numpy(dtype=float)
    return truth * (1.0 + strength) if kind is TrafficKind.CONCEPT_DRIFTED else truth


def labelled_drifted_rows(rows: int, *, seed: int, strength: float = 0.5) -> pd.DataFrame:
    """``rows`` raw rows of the drifted population, each keeping the label of the row it came from.

    What the drifted traffic's animals look like once someone has counted their rings: the new
    labelled data that retraining on drift needs (columns as in the raw dataset, label included).
    """
    rng = np.random.default_rng(seed)
    return _drift(_sample(load_raw(), rows, rng), rng, strength)


def _sample(raw: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    return raw.iloc[rng.integers(0, len(raw), size=rows)].reset_index(drop=True).copy()


def _drift(raw: pd.DataFrame, rng: np.random.Generator, strength: float) -> pd.DataFrame:
    """Bigger animals (sizes and weights x ``1 + strength``) and 80% of infants become adults."""
    numeric = _numeric_columns()
    raw[numeric] = raw[numeric] * (1.0 + strength)
    for column, values in dataset.CATEGORIES.items():
        infant, adult = values[1], next(v for v in values if v != values[1])
        grown = (raw[column] == infant) & (rng.random(len(raw)) < 0.8)
        raw.loc[grown, column] = adult
    return raw


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
