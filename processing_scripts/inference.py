"""The endpoint's request handling: CSV rows of features in, one prediction per line out.

Two callers share it. The local endpoint server calls :func:`load_model` once and
:func:`predict_csv` per request. On SageMaker the same file is the inference script of an XGBoost
serving container, through the four hooks at the bottom (``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``), which are thin wrappers, so the two paths cannot drift apart.

A request body is UTF-8 CSV without a header: one row per record, the features of
:func:`processing_scripts.dataset.feature_names` in that order (already one-hot encoded, exactly as
in the preprocessed splits minus the label). The response is one number per line (the predicted
value for regression, the probability of class 1 for binary classification), ending in a newline.
Anything else is refused with :class:`InferenceError`, whose message names the row and column so the
caller can fix the request; the server turns it into HTTP 400 / a ModelError.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import xgboost as xgb

from processing_scripts import dataset, model_io
from processing_scripts.tabular_io import FLOAT32_MAX

CONTENT_TYPE = "text/csv"


def features() -> tuple[str, ...]:
    """The selected example's model inputs, in request order (read per call: the example is chosen
    by ``MLOPS_EXAMPLE`` when the server starts, after this module is imported)."""
    return tuple(dataset.feature_names())


class InferenceError(ValueError):
    """The request cannot be scored as sent; the message says what to change."""


def load_model(model_dir: str | Path) -> xgb.Booster:
    """The model from ``model_dir`` (the extracted ``xgboost-model`` or ``model.tar.gz``), checked
    to take exactly :func:`features`."""
    booster = model_io.load_booster(Path(model_dir))
    model_io.check_features(booster, features())
    return booster


def _media_type(content_type: str | None) -> str:
    """``'Text/CSV; charset=utf-8'`` -> ``'text/csv'``."""
    return (content_type or "").split(";")[0].strip().lower()


def check_content_type(content_type: str | None) -> None:
    """Only ``text/csv`` (parameters such as ``charset=utf-8`` are fine) is accepted."""
    if _media_type(content_type) != CONTENT_TYPE:
        raise InferenceError(
            f"unsupported content type {content_type!r}; send {CONTENT_TYPE} rows of {len(features())} features"
        )


def parse_csv(body: bytes | str) -> np.ndarray:
    """The request's rows as a float matrix of shape (rows, len(features())).

    Blank lines are skipped and not counted, so "row N" in a message is the N-th record sent.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InferenceError(f"the request body is not UTF-8 text (byte {err.start})") from err
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines:
        raise InferenceError(f"the request body is empty; send CSV rows of {len(features())} features")
    try:
        rows = list(csv.reader(lines))
    except csv.Error as err:
        raise InferenceError(f"the request body is not valid CSV ({err})") from err
    names = features()
    matrix = np.empty((len(rows), len(names)), dtype=np.float64)
    for index, row in enumerate(rows):
        matrix[index] = _parse_row(row, index + 1, names)
    return matrix


def _parse_row(row: list[str], number: int, names: tuple[str, ...]) -> list[float]:
    if len(row) != len(names):
        raise InferenceError(
            f"row {number} has {len(row)} values, expected {len(names)} ({', '.join(names)}); "
            "send features only, no label or header, with categories one-hot encoded"
        )
    values = []
    for position, (name, cell) in enumerate(zip(names, row, strict=True), start=1):
        text = cell.strip()
        try:
            value = float(text)
        except ValueError:
            what = "is empty" if not text else f"{text!r} is not a number"
            raise InferenceError(f"row {number}, column {position} ({name}): {what}") from None
        if not math.isfinite(value):
            raise InferenceError(f"row {number}, column {position} ({name}): {text!r} is not a finite number")
        if abs(value) > FLOAT32_MAX:  # XGBoost computes in float32: it would be inf there
            raise InferenceError(
                f"row {number}, column {position} ({name}): {text!r} is outside the model's float32 range"
            )
        values.append(value)
    return values


def format_predictions(predictions: np.ndarray) -> bytes:
    """One number per line, in the shortest form that reads back to the same float32."""
    lines = (np.format_float_positional(np.float32(p), unique=True, trim="-") for p in predictions)
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def predict_csv(model: xgb.Booster, body: bytes) -> bytes:
    """Score a ``text/csv`` request body; see the module docstring for the format."""
    return format_predictions(model_io.predict(model, parse_csv(body), features()))


# -- SageMaker inference-script hooks --------------------------------------------------------------


def model_fn(model_dir: str) -> xgb.Booster:
    return load_model(model_dir)


def input_fn(request_body: bytes | str, request_content_type: str) -> np.ndarray:
    check_content_type(request_content_type)
    return parse_csv(request_body)


def predict_fn(input_data: np.ndarray, model: xgb.Booster) -> np.ndarray:
    return model_io.predict(model, input_data, features())


def output_fn(prediction: np.ndarray, accept: str | None) -> bytes:
    if _media_type(accept) not in ("", "*/*", CONTENT_TYPE):
        raise InferenceError(f"unsupported accept type {accept!r}; responses are {CONTENT_TYPE}")
    return format_predictions(prediction)
