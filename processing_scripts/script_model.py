"""A script-mode model, served the way AWS's framework inference containers serve it.

The user's code (``sourcedir.tar.gz``) defines ``model_fn(model_dir)`` and, optionally,
``input_fn(body, content_type)``, ``predict_fn(data, model)`` and ``output_fn(prediction, accept)``.
A request is ``output_fn(predict_fn(input_fn(body, content_type), model), accept)``; a hook the
script leaves out is the container's default (aws/sagemaker-scikit-learn-container,
``serving.py``, over aws/sagemaker-inference-toolkit's encoders):

- ``model_fn``: none; the container refuses to start without one;
- ``input_fn``: ``text/csv`` (an empty value is NaN, as ``np.genfromtxt`` reads it),
  ``application/json`` and ``application/x-npy`` decoded to a numpy array;
- ``predict_fn``: ``model.predict(data)`` (an XGBoost ``Booster``, what an XGBoost framework
  model's ``model_fn`` returns, predicts a ``DMatrix`` of it, as that container's default does);
- ``output_fn``: the prediction encoded as the accept type (JSON when it is ``*/*`` or missing,
  the toolkit's default accept; CSV one row per line).

Three callers share this module so they cannot drift apart: the evaluate job (which scores the test
split through the hooks), the local endpoint and the local batch transform.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from processing_scripts.job import JobInputError

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
JSON_TYPES = (JSON, "application/jsonlines")
DEFAULT_ACCEPT = JSON  # the inference toolkit's SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT default

Handler = Callable[[bytes, str, str], bytes]  # (request body, content type, accept) -> response


class ScriptModelError(JobInputError):
    """The user's code cannot be loaded or answered with something unusable; one line says which."""


def media_type(content_type: str | None) -> str:
    """``'Text/CSV; charset=utf-8'`` -> ``'text/csv'``."""
    return (content_type or "").split(";")[0].strip().lower()


def extract_code(archive: Path, destination: Path) -> Path:
    """Unpack ``sourcedir.tar.gz`` as the toolkits do (into what becomes ``/opt/ml/code``),
    refusing members that would land outside ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise ScriptModelError(f"{archive}: not a readable sourcedir.tar.gz ({err})") from err
    return destination


def find_archive(folder: Path) -> Path:
    """The one ``*.tar.gz`` a processing input delivered into ``folder``."""
    archives = sorted(folder.glob("*.tar.gz")) if folder.is_dir() else []
    if len(archives) != 1:
        raise ScriptModelError(f"expected one sourcedir .tar.gz in {folder}, found {len(archives)}")
    return archives[0]


def import_program(code_dir: Path, program: str) -> ModuleType:
    """Import ``program`` (``train.py``) from ``code_dir`` with the folder on ``sys.path``, as the
    container imports ``SAGEMAKER_PROGRAM`` (so its sibling modules import too)."""
    path = code_dir / program
    if not path.is_file():
        raise ScriptModelError(f"SAGEMAKER_PROGRAM {program} is not in the model's code ({code_dir})")
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ScriptModelError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(module: ModuleType, model_dir: Path) -> Handler:
    """Load the model with the script's ``model_fn`` and answer requests through its hooks."""
    model_fn = getattr(module, "model_fn", None)
    if model_fn is None:
        raise ScriptModelError(
            f"{module.__name__} defines no model_fn(model_dir): the serving container needs it to load the model"
        )
    model = model_fn(str(model_dir))
    input_fn = getattr(module, "input_fn", default_input_fn)
    predict_fn = getattr(module, "predict_fn", default_predict_fn)
    output_fn = getattr(module, "output_fn", default_output_fn)

    def handle(body: bytes, content_type: str, accept: str) -> bytes:
        result = output_fn(predict_fn(input_fn(body, content_type), model), accept)
        if isinstance(result, tuple):  # output_fn may return (body, content type)
            result = result[0]
        return result.encode() if isinstance(result, str) else bytes(result)

    return handle


def default_input_fn(body: bytes | str, content_type: str) -> np.ndarray:
    data = body.encode() if isinstance(body, str) else body
    kind = media_type(content_type)
    if kind == CSV:
        text = data.decode("utf-8").strip()
        try:
            rows = [
                [float(v) if v.strip() else np.nan for v in line.split(",")] for line in text.splitlines()
            ]
            return np.array(rows, dtype=float)
        except ValueError as err:
            raise ScriptModelError(f"the request is not CSV of numbers ({err})") from err
    if kind in JSON_TYPES:
        return np.array(json.loads(data))
    if kind == NPY:
        return np.load(io.BytesIO(data), allow_pickle=False)
    raise ScriptModelError(
        f"no input_fn, and content type {content_type!r} has no default decoder (csv, json, npy)"
    )


def default_predict_fn(data: Any, model: Any) -> Any:
    import xgboost as xgb  # only an XGBoost model needs it

    if isinstance(model, xgb.Booster):
        return model.predict(xgb.DMatrix(data), validate_features=False)
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> bytes:
    values = np.asarray(prediction).tolist()
    kind = media_type(accept)
    if kind in ("", "*/*") or kind in JSON_TYPES:
        return json.dumps(values).encode()
    if kind == CSV:
        rows = values if isinstance(values, list) else [values]
        return "".join(
            (",".join(map(str, r)) if isinstance(r, list) else str(r)) + "\n" for r in rows
        ).encode()
    raise ScriptModelError(f"no output_fn, and accept type {accept!r} has no default encoder (csv, json)")


def predictions_from_csv(response: bytes, rows: int) -> np.ndarray:
    """One number per row from a ``text/csv`` response (the first value of each line): what the
    evaluate job scores, so a model answering in another shape is named, not misread."""
    try:
        lines = [line for line in response.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as err:
        raise ScriptModelError(f"the model's text/csv answer is not UTF-8 text (byte {err.start})") from err
    if len(lines) != rows:
        raise ScriptModelError(
            f"the model answered {len(lines)} lines for {rows} rows; output_fn must give one prediction "
            "per row for accept text/csv"
        )
    try:
        return np.array([float(line.split(",")[0]) for line in lines], dtype=float)
    except ValueError as err:
        raise ScriptModelError(f"the model's text/csv answer is not numbers ({err})") from err
