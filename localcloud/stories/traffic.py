"""Generated endpoint traffic: normal, drifted and bad rows of model features, from the example's data.

Requests carry what a client of the endpoint sends: headerless CSV rows of the model's features in
``dataset.feature_names()`` order (numeric columns, then the one-hot columns). Rows are drawn from
the selected example's data (``examples/<name>/``: its CSV or its generator's rows) so "normal"
traffic has the training distribution, then changed on purpose:

- ``normal``: resampled rows, unchanged.
- ``drifted``: what the example's ``[drift]`` says: its ``scale`` columns multiplied by
  ``1 + weight * strength`` and its ``shift`` categories moved (abalone: bigger animals, infants become
  adults; credit: higher bills, married clients become single). The drift engine should flag those
  features; the model still answers. :func:`labelled_drifted_rows` gives the same population as
  raw, labelled rows: the new data a data team would land for retraining.
- ``concept-drifted``: normal features, but the target's relation to them changed (:func:`labels`).
  Only ground truth shows it; the drift engine must stay quiet.
- ``bad``: what a broken upstream system sends: a negated numeric column, a column stuck at zero and
  rows whose category is lost (every one-hot column 0). Each value is still a finite number, so the
  endpoint answers (and captures) them, and the monitoring job reports constraint violations.

The data file's header is matched to the description like preprocessing matches it
(:func:`processing_scripts.columns.match_columns`), so the two never disagree about a file.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from processing_scripts import columns, example
from processing_scripts.split_schema import REGRESSION


class TrafficKind(StrEnum):
    NORMAL = "normal"
    DRIFTED = "drifted"
    BAD = "bad"
    CONCEPT_DRIFTED = "concept-drifted"  # features as normal; only the labels tell


def load_raw(path: Path | None = None) -> pd.DataFrame:
    """The example's data (or ``path``) as raw labelled rows, columns named and ordered as described.

    Category values are text, as preprocessing reads them (``1``, not the number 1)."""
    spec = example.selected()
    path = path or spec.data_file()
    raw = pd.read_csv(path, dtype={c: str for c in spec.dataset.categories}, skipinitialspace=True)
    try:
        matched, _ = columns.match_columns([str(c) for c in raw.columns], spec.dataset.raw_columns)
    except columns.ColumnMatchError as err:
        raise ValueError(f"{path}: {err}") from err
    return raw.rename(columns=columns.rename_to_schema(matched))[list(spec.dataset.raw_columns)]


def load_features(path: Path | None = None) -> pd.DataFrame:
    """The example's data as model features (numeric columns, then one-hot), label dropped."""
    return to_features(load_raw(path))


def to_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw rows as the endpoint's features (numeric columns, then one-hot), label dropped."""
    spec = example.selected().dataset
    features = raw.drop(columns=[spec.target])
    for column, names in spec.one_hot_columns().items():
        for value, name in names.items():
            features[name] = (features[column] == value).astype(float)
        features = features.drop(columns=[column])
    return features[spec.feature_names()].astype(float)


def generate(
    kind: TrafficKind, rows: int, *, seed: int, strength: float = 0.5, source: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``rows`` feature rows of one kind, drawn from raw rows (``source``, default the example's
    data); the same seed gives the same rows."""
    rng = np.random.default_rng(seed)
    sample = _sample(load_raw() if source is None else source, rows, rng)
    if kind is TrafficKind.DRIFTED:
        return to_features(_drift(sample, rng, strength))
    if kind is TrafficKind.BAD:
        return _corrupt(to_features(sample), rng)
    return to_features(sample)


def labels(kind: TrafficKind, rows: int, *, seed: int, strength: float = 0.5) -> np.ndarray:
    """The true labels of :func:`generate`'s rows for the same seed, as reviewers count them later.

    ``concept-drifted``: the inputs look as before but the concept changed: a regression target is
    ``x (1 + strength)`` (abalone: the same-looking animals are older); a binary target flips for a
    ``strength`` share of rows (credit: clients who look as before now default, and some who would
    have, do not). Normal traffic keeps its rows' labels.
    """
    if kind not in (TrafficKind.NORMAL, TrafficKind.CONCEPT_DRIFTED):
        raise ValueError(f"labels are generated for normal and concept-drifted traffic, not {kind.value}")
    spec = example.selected().dataset
    rng = np.random.default_rng(seed)
    truth = _sample(load_raw(), rows, rng)[spec.target].to_numpy(dtype=float)
    if kind is TrafficKind.NORMAL:
        return truth
    if spec.problem_type == REGRESSION:
        return truth * (1.0 + strength)
    flipped = np.random.default_rng([seed, 1]).random(rows) < strength
    return np.where(flipped, 1.0 - truth, truth)


def labelled_drifted_rows(rows: int, *, seed: int, strength: float = 0.5) -> pd.DataFrame:
    """``rows`` raw rows of the drifted population, each keeping the label of the row it came from.

    What the drifted traffic looks like once its outcome is known (rings counted, defaults seen):
    the new labelled data that retraining on drift needs (raw columns, label included).
    """
    rng = np.random.default_rng(seed)
    return _drift(_sample(load_raw(), rows, rng), rng, strength)


def _sample(raw: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    return raw.iloc[rng.integers(0, len(raw), size=rows)].reset_index(drop=True).copy()


def _drift(raw: pd.DataFrame, rng: np.random.Generator, strength: float) -> pd.DataFrame:
    """The example's ``[drift]``: each scaled column x ``1 + weight * strength``, then each category shift."""
    drift = example.selected().drift
    for column, weight in drift.scale.items():
        raw[column] = raw[column].astype(float) * (1.0 + weight * strength)
    for shift in drift.shifts:
        moved = (raw[shift.column] == shift.source) & (rng.random(len(raw)) < shift.share)
        raw.loc[moved, shift.column] = shift.to
    return raw


def _numeric_columns() -> list[str]:
    return example.selected().dataset.numeric_features


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
