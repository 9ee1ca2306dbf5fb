"""Loading the model the built-in XGBoost algorithm trained, in whichever format it saved it.

The training job leaves ``model.tar.gz`` with one file, ``xgboost-model``. Algorithm versions 1.3 and
later write it with ``Booster.save_model`` (UBJSON from 3.0 on; XGBoost's legacy binary format before
that, which xgboost 3.1+ no longer reads, so this image needs algorithm 3.0-5 or later); versions
before 1.3 pickled the Booster. UBJSON, JSON and pickles (of a model this xgboost can read) are
accepted. The pickle case
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

_PICKLE_MAGIC = b"\x80"  # pickle protocol 2 and later start with the PROTO opcode
_JSON_MAGIC = b"{"  # JSON and UBJSON documents both open with an object marker


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
        location = location / contract.Training.MODEL_ARCHIVE
    if not location.is_file():
        raise ModelLoadError(
            f"no model at {location}: expected {contract.Training.MODEL_ARCHIVE} or an extracted {contract.Training.MODEL_FILE}"
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
    if not data:  # XGBoost aborts the whole process on an empty buffer (std::terminate)
        raise ModelLoadError(f"{origin}: the model file is empty")
    if data.startswith(_PICKLE_MAGIC):
        try:
            model = pickle.loads(data)  # trusted: our own training artifact (module docstring)
        except Exception as err:
            raise ModelLoadError(
                f"{origin}: looks like a pickle but cannot be unpickled ({_first_line(err)})"
            ) from err
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
    except (xgb.core.XGBoostError, UnicodeDecodeError) as err:
        # XGBoost quotes the bytes it choked on in its message, and decoding that message raises
        # UnicodeDecodeError inside xgboost for bytes that are not UTF-8: the same refusal.
        message = f"{origin}: neither an XGBoost JSON/UBJSON model file nor a pickled Booster"
        if not data.startswith(_JSON_MAGIC):
            message += (
                f". If it is XGBoost's legacy binary format (what the built-in algorithm before version 3.0, "
                f"e.g. 1.7-1, writes), xgboost {xgb.__version__} cannot read it: train with algorithm "
                "version 3.0-5 or later"
            )
        reason = "XGBoost cannot parse it" if isinstance(err, UnicodeDecodeError) else _first_line(err)
        raise ModelLoadError(f"{message} ({reason})") from err
    return booster


def _first_line(err: Exception) -> str:
    """XGBoost's messages carry a native stack trace; a person needs the first line only."""
    return str(err).strip().splitlines()[0]


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
