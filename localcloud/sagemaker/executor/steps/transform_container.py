"""The batch transform job's "instance": its model server and the platform's record handling.

Run by the Transform step (:mod:`localcloud.sagemaker.executor.steps.transform`) as
``python -m localcloud.sagemaker.executor.steps.transform_container`` in the job's ``/opt/ml``
directory, so a user's inference code runs in its own process, with the model's environment, and
Ctrl-C or MaxRuntime stop it like any job. It reads the job description the step wrote
(:data:`JOB_FILE`), turns every staged input object into ``<name>.out`` with the rules of
:mod:`transform_records`, and leaves a one-line reason in ``/opt/ml/output/failure`` on failure.

Three kinds of model server, as SageMaker picks them from the model's container:

- ``xgboost``: the built-in algorithm (an ``sagemaker-xgboost`` image without ``SAGEMAKER_PROGRAM``),
  after aws/sagemaker-xgboost-container's ``algorithm_mode/serve.py``: every file in the model
  directory is a model (pickled or saved Booster; predictions averaged), requests are ``text/csv``
  or ``text/libsvm``, and a batch job's response is one prediction per line (``SAGEMAKER_BATCH``).
- ``script``: a framework model (``SAGEMAKER_PROGRAM`` in its environment): the user's script's
  ``model_fn`` / ``input_fn`` / ``predict_fn`` / ``output_fn``, with the inference toolkit's
  defaults for the ones it leaves out (:mod:`processing_scripts.script_model`, which the evaluate
  job and the local endpoint serve script-mode models with too).
- ``project``: the project's own image, served by :mod:`processing_scripts.inference` (the same
  hooks the local endpoint uses).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from localcloud.sagemaker.executor.steps import transform_records as records
from processing_scripts import contract, script_model

JOB_FILE = "/opt/ml/input/config/localtransformjob.json"  # written by the step; not a SageMaker file
MODEL_DIR = "/opt/ml/model"
CODE_DIR = "/opt/ml/code"
INPUT_DIR = "/opt/ml/transform/input"
OUTPUT_DIR = "/opt/ml/transform/output"
FAILURE_FILE = contract.Training.FAILURE
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")

Handler = Callable[[bytes, str, str], bytes]  # (request body, content type, accept) -> response


# -- model servers ---------------------------------------------------------------------------------
def xgboost_server(model_dir: Path) -> Handler:
    from processing_scripts.model_io import booster_from_bytes

    files = sorted(p for p in model_dir.iterdir() if p.is_file())
    if not files:
        raise records.TransformError(f"the model archive holds no model file (looked in {model_dir})")
    boosters = [booster_from_bytes(path.read_bytes(), path.name) for path in files]

    def handle(body: bytes, content_type: str, _accept: str) -> bytes:
        import xgboost as xgb

        kind = records.media_type(content_type) or records.CSV
        text = body.strip().decode("utf-8")
        if kind == records.CSV:
            matrix = xgb.DMatrix(_csv_array(text))
        elif kind in LIBSVM_TYPES:
            matrix = xgb.DMatrix(_libsvm_matrix(text))
        else:
            raise records.TransformError(
                f"Content-type {content_type} not supported by the built-in XGBoost algorithm locally "
                "(text/csv, text/libsvm)"
            )
        predictions = np.mean([b.predict(matrix, validate_features=False) for b in boosters], axis=0)
        return ("\n".join(map(str, predictions.tolist())) + "\n").encode()

    return handle


def _csv_array(text: str) -> np.ndarray:
    try:
        rows = [[float(v) if v.strip() else np.nan for v in line.split(",")] for line in text.splitlines()]
        return np.array(rows, dtype=float)
    except ValueError as err:
        raise records.TransformError(
            f"Loading csv data failed, please ensure data is in csv format: {err}"
        ) from err


def _libsvm_matrix(text: str) -> Any:
    """Like the container's parser: ``index:value`` pairs per line; the leading label is ignored."""
    from scipy.sparse import csr_matrix

    rows, cols, data = [], [], []
    for row, line in enumerate(text.splitlines()):
        for item in line.split():
            if ":" in item:
                index, value = item.split(":", 1)
                rows.append(row)
                cols.append(int(index))
                data.append(float(value))
    return csr_matrix((data, (rows, cols)))


def load_server(job: dict[str, Any]) -> Handler:
    model_dir = contract.host_path(MODEL_DIR)
    if job["server"] == "xgboost":
        return xgboost_server(model_dir)
    if job["server"] == "project":
        return script_model.serve(importlib.import_module("processing_scripts.inference"), model_dir)
    module = script_model.import_program(contract.host_path(job["code_dir"]), job["program"])
    return script_model.serve(module, model_dir)


# -- the platform's side ------------------------------------------------------------------------------
def transform_object(data: bytes, job: dict[str, Any], handler: Handler, where: str) -> tuple[bytes, int]:
    """One input object's output, and how many records it held."""
    content_type, accept = job["content_type"], job["accept"]
    per_record = job["join_source"] == "Input" or bool(job["output_filter"])
    items = records.split_records(data, job["split_type"])
    outputs: list[bytes] = []
    for batch in records.mini_batches(items, job["batch_strategy"], job["max_payload_bytes"], where):
        request = b"\n".join(records.filter_record(r, job["input_filter"], content_type) for r in batch)
        response = handler(request, content_type, accept)
        if not per_record:
            outputs.append(response)
            continue
        for record, output in zip(batch, records.per_record(response, len(batch), where), strict=True):
            joined = records.join(record, output, content_type) if job["join_source"] == "Input" else output
            kind = content_type if job["join_source"] == "Input" else accept
            outputs.append(records.filter_record(joined, job["output_filter"], kind))
    if job["assemble_with"] == "Line":
        return b"".join(o if o.endswith(b"\n") else o + b"\n" for o in outputs), len(items)
    return b"".join(outputs), len(items)


def main() -> int:
    failure = contract.host_path(FAILURE_FILE)
    try:
        job = json.loads(contract.host_path(JOB_FILE).read_text())
        handler = load_server(job)
        source, target = contract.host_path(INPUT_DIR), contract.host_path(OUTPUT_DIR)
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = path.relative_to(source)
            output, count = transform_object(path.read_bytes(), job, handler, relative.as_posix())
            destination = target / f"{relative.as_posix()}.out"
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(output)
            print(f"{relative}: {count} record(s) -> {destination.name}", flush=True)
    except Exception as err:  # the job's failure reason, as the platform reports it
        message = (
            f"ClientError: {type(err).__name__}: {err}"
            if isinstance(err, records.TransformError | script_model.ScriptModelError)
            else (f"AlgorithmError: {type(err).__name__}: {err}")
        )
        print(message, flush=True)
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message.splitlines()[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
