"""Loading the model the built-in XGBoost algorithm trained, in whichever format it saved it.

The training job leaves ``model.tar.gz`` with one file, ``xgboost-model``. Recent algorithm versions
write an XGBoost model file (UBJSON, JSON or the legacy binary format, all read by
``Booster.load_model``); versions before 1.3 pickled the Booster. Both are accepted. The pickle case
trusts the artifact exactly as much as the training job that wrote it: only point this at model
artifacts your own pipeline produced.
"""

from __future__ import annotations

import logging
import pickle
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xgboost as xgb

from processing_scripts import contract
from processing_scripts.job import JobInputError

log = logging.getLogger(__name__)

MODEL_ARCHIVE = "model.tar.gz"
_PICKLE_MAGIC = b"\x80"  # pickle protocol 2 and later start with the PROTO opcode


class ModelLoadError(JobInputError):
    """The artifact is missing, is not an archive with ``xgboost-model``, or does not fit the data."""


def read_model_bytes(location: Path) -> tuple[bytes, str]:
    """The bytes of ``xgboost-model`` and where they came from.

    ``location`` may be the archive itself, a folder holding the archive (a processing input) or a
    folder holding the extracted file (what SageMaker hosting gives an inference script).
    """
    if location.is_dir():
        extracted = location / contract.Training.MODEL_FILE
        if extracted.is_file():
            return extracted.read_bytes(), str(extracted)
        location = location / MODEL_ARCHIVE
    if not location.is_file():
        raise ModelLoadError(
            f"no model at {location}: expected {MODEL_ARCHIVE} or an extracted {contract.Training.MODEL_FILE}"
        )
    try:
        with tarfile.open(location, "r:*") as archive:
            member = archive.getmember(contract.Training.MODEL_FILE)
            handle = archive.extractfile(member)
            if handle is None:
                raise ModelLoadError(f"{location}: '{contract.Training.MODEL_FILE}' is not a regular file")
            return handle.read(), f"{location}!{contract.Training.MODEL_FILE}"
    except KeyError as err:
        raise ModelLoadError(f"{location}: the archive has no '{contract.Training.MODEL_FILE}' file") from err
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ModelLoadError(f"{location}: not a readable tar.gz archive ({err})") from err


def booster_from_bytes(data: bytes, origin: str) -> xgb.Booster:
    """A Booster from a saved model file or a pickled Booster/scikit-learn XGBoost estimator."""
    if data.startswith(_PICKLE_MAGIC):
        try:
            model = pickle.loads(data)  # trusted: our own training artifact (module docstring)
        except Exception as err:
            raise ModelLoadError(f"{origin}: looks like a pickle but cannot be unpickled ({err})") from err
        if isinstance(model, xgb.XGBModel):
            model = model.get_booster()
        if not isinstance(model, xgb.Booster):
            raise ModelLoadError(
                f"{origin}: the pickle holds a {type(model).__name__}, not an XGBoost Booster"
            )
        return model
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except xgb.core.XGBoostError as err:
        reason = str(err).strip().splitlines()[0]
        raise ModelLoadError(
            f"{origin}: neither an XGBoost model file (JSON/UBJSON/binary) nor a pickled Booster ({reason})"
        ) from err
    return booster


def load_booster(location: Path) -> xgb.Booster:
    """Read and load the model at ``location`` (see :func:`read_model_bytes`)."""
    data, origin = read_model_bytes(location)
    booster = booster_from_bytes(data, origin)
    log.info("loaded an XGBoost model with %d features from %s", booster.num_features(), origin)
    return booster


def check_features(booster: xgb.Booster, feature_names: Sequence[str]) -> None:
    """Refuse a model trained on other columns than the ones we are about to feed it."""
    if booster.num_features() != len(feature_names):
        raise ModelLoadError(
            f"the model expects {booster.num_features()} features but the data has {len(feature_names)} "
            f"({', '.join(feature_names)}); was it trained on splits from this preprocessing?"
        )
    if booster.feature_names is not None and list(booster.feature_names) != list(feature_names):
        raise ModelLoadError(
            f"the model was trained on features {booster.feature_names}, not {list(feature_names)}"
        )


def predict(booster: xgb.Booster, features: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """One prediction per row (a value for regression, a probability for binary:logistic)."""
    names = list(feature_names) if booster.feature_names is not None else None
    predictions = booster.predict(xgb.DMatrix(features, feature_names=names))
    if predictions.ndim != 1:
        raise ModelLoadError(
            f"the model returns {predictions.shape[1]} values per row; expected one "
            "(a regression or binary:logistic objective)"
        )
    return predictions
