"""Stand-in for SageMaker's built-in XGBoost algorithm container, run as a subprocess.

``python -m localcloud.sagemaker.executor.xgboost_algorithm`` behaves like the algorithm image's ``train``: it
reads ``/opt/ml/input/config/{hyperparameters,inputdataconfig}.json`` and the ``train`` and
``validation`` channels under ``/opt/ml/input/data`` (headerless CSV, libsvm or parquet, label
first), checks the hyperparameters as the image version named by ``--image-version`` does
(:mod:`..xgboost_versions`), prints the evaluation lines the algorithm prints
(``[N]#011train-rmse:...#011validation-rmse:...``, the form CloudWatch shows and metric
definitions parse) and writes ``/opt/ml/model/xgboost-model`` in that version's format. Failures go to
``/opt/ml/output/failure`` prefixed ``ClientError:`` (bad input) or ``AlgorithmError:``, as the
real container does. All paths go through ``OPT_ML_DIR`` (:func:`processing_scripts.contract.host_path`).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from localcloud.sagemaker.executor.xgboost_versions import (
    VERSIONS,
    ClientError,
    ModelFormat,
    XGBoostVersion,
    booster_parameters,
    content_type_of,
    version_of,
)
from processing_scripts import contract

TRAIN_CHANNEL, VALIDATION_CHANNEL = "train", "validation"


def read_channel(name: str, configured: str | None, csv_weights: bool = False) -> xgb.DMatrix:
    """One channel as a DMatrix: every data file in its directory, in name order, label first."""
    kind = content_type_of(name, configured)
    directory = contract.host_path(contract.Training.channel(name))
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ClientError(f"channel {name}: no data in {directory}")
    if kind == "libsvm":
        return _libsvm(name, files)
    data = _parquet(name, files) if kind == "parquet" else _csv(name, files)
    first_feature = 2 if csv_weights and kind == "csv" else 1
    if data.shape[1] <= first_feature:
        raise ClientError(
            f"channel {name}: needs the label{', the weight' if first_feature == 2 else ''} and at least one feature column"
        )
    weights = data[:, 1] if first_feature == 2 else None
    return xgb.DMatrix(data[:, first_feature:], label=data[:, 0], weight=weights)


def _csv(name: str, files: list[Path]) -> np.ndarray:
    blocks = []
    for path in files:
        try:
            block = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError as err:
            raise ClientError(f"channel {name}: {path.name} is not numeric headerless CSV ({err})") from err
        if block.size:
            blocks.append(block)
    if not blocks:
        raise ClientError(f"channel {name}: the CSV files hold no rows")
    widths = {block.shape[1] for block in blocks}
    if len(widths) > 1:
        raise ClientError(f"channel {name}: files have different column counts {sorted(widths)}")
    return np.vstack(blocks)


def _parquet(name: str, files: list[Path]) -> np.ndarray:
    import pyarrow as pa  # only parquet channels pay for the import
    import pyarrow.parquet as pq

    try:
        table = pa.concat_tables([pq.read_table(path) for path in files])
        return np.column_stack([column.to_numpy(zero_copy_only=False) for column in table.columns]).astype(
            np.float32
        )
    except (pa.ArrowException, ValueError, OSError) as err:
        raise ClientError(f"channel {name}: failed to load parquet data ({err})") from err


def _libsvm(name: str, files: list[Path]) -> xgb.DMatrix:
    """The channel's files as one libsvm document, indices taken as written (XGBoost's reading:
    ``1:0.5`` is the second column). scikit-learn's reader, since xgboost 3.1 deprecates its own."""
    from sklearn.datasets import load_svmlight_file  # only libsvm channels pay for the import

    joined = b"".join(
        data if data.endswith(b"\n") else data + b"\n" for data in (p.read_bytes() for p in files)
    )
    try:
        features, labels = load_svmlight_file(io.BytesIO(joined), zero_based=True)
    except ValueError as err:
        raise ClientError(f"channel {name}: failed to load libsvm data ({err})") from err
    return xgb.DMatrix(features, label=labels)


class EvaluationLog(xgb.callback.TrainingCallback):
    """Print each round's metrics as the built-in algorithm's log shows them."""

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        parts = [
            f"#011{channel}-{metric}:{values[-1]:.5f}"
            for channel, metrics in evals_log.items()
            for metric, values in metrics.items()
        ]
        print(f"[{epoch}]{''.join(parts)}", flush=True)
        return False


def train(version: XGBoostVersion) -> None:
    hyperparameters = json.loads(contract.host_path(contract.Training.HYPERPARAMETERS).read_text())
    channels = json.loads(contract.host_path(contract.Training.INPUT_DATA_CONFIG).read_text())
    if TRAIN_CHANNEL not in channels:
        raise ClientError(f"the {TRAIN_CHANNEL} channel is required (got {', '.join(channels) or 'none'})")
    parameters = booster_parameters(hyperparameters, version)
    matrices = {
        name: read_channel(name, channels[name].get("ContentType"), parameters.csv_weights)
        for name in (TRAIN_CHANNEL, VALIDATION_CHANNEL)
        if name in channels
    }
    if (
        VALIDATION_CHANNEL in matrices
        and matrices[VALIDATION_CHANNEL].num_col() != matrices[TRAIN_CHANNEL].num_col()
    ):
        raise ClientError("train and validation channels have different numbers of feature columns")
    if parameters.early_stopping_rounds is not None and VALIDATION_CHANNEL not in matrices:
        raise ClientError("early_stopping_rounds needs a validation channel")
    print(
        f"training {parameters.num_round} rounds with {json.dumps(parameters.booster, sort_keys=True)}",
        flush=True,
    )
    booster = xgb.train(
        parameters.booster,
        matrices[TRAIN_CHANNEL],
        num_boost_round=parameters.num_round,
        evals=[(matrix, name) for name, matrix in matrices.items()],
        early_stopping_rounds=parameters.early_stopping_rounds,
        verbose_eval=False,
        callbacks=[EvaluationLog()],
    )
    model_dir = contract.host_path(contract.Training.MODEL)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / contract.Training.MODEL_FILE).write_bytes(model_bytes(booster, version))
    print(f"saved {contract.Training.MODEL_FILE} ({booster.num_boosted_rounds()} trees)", flush=True)


def model_bytes(booster: xgb.Booster, version: XGBoostVersion) -> bytes:
    """``xgboost-model`` as the image version writes it: a pickled Booster up to 1.2, else saved.

    1.3 to 1.7 save XGBoost's legacy binary format, which xgboost 3.1+ can neither write nor read:
    UBJSON (readable by xgboost 1.6 and later) stands in for it, and the step says so.
    """
    if version.model_format is ModelFormat.PICKLE:
        return pickle.dumps(booster, protocol=version.pickle_protocol)
    # The file has no extension, so say UBJSON explicitly (what xgboost then loads by default).
    return bytes(booster.save_raw("ubj"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the built-in XGBoost algorithm, emulated")
    parser.add_argument(
        "--image-version", default=None, help="the image tag, e.g. 1.7-1 (default: the latest)"
    )
    options = parser.parse_args(argv)
    failure = contract.host_path(contract.Training.FAILURE)
    try:
        train(version_of(options.image_version) if options.image_version else VERSIONS[-1])
    except ClientError as err:
        _write_failure(failure, f"ClientError: {err}")
        return 1
    except Exception as err:
        traceback.print_exc()
        _write_failure(failure, f"AlgorithmError: {type(err).__name__}: {err}")
        return 2
    return 0


def _write_failure(path: Path, message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message)


if __name__ == "__main__":
    status = main()
    # The job is done and the process is about to exit, so nothing needs collecting; frozen, the
    # interpreter's final collections skip the objects of xgboost, scikit-learn and SciPy, which
    # took ~0.4 s of every training job.
    gc.freeze()
    sys.exit(status)
