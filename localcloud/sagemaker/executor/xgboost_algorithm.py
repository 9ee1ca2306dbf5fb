"""Stand-in for SageMaker's built-in XGBoost algorithm container, run as a subprocess.

``python -m localcloud.sagemaker.executor.xgboost_algorithm`` behaves like the algorithm image's ``train``: it
reads ``/opt/ml/input/config/{hyperparameters,inputdataconfig}.json`` and the ``train`` and
``validation`` channels under ``/opt/ml/input/data`` (headerless CSV, label in the first column),
trains with the same hyperparameter names (``num_round`` included), prints the evaluation lines
the algorithm prints (``[N]#011train-rmse:...#011validation-rmse:...``, the form CloudWatch shows
and metric definitions parse) and writes ``/opt/ml/model/xgboost-model``. Failures go to
``/opt/ml/output/failure`` prefixed ``ClientError:`` (bad input) or ``AlgorithmError:``, as the
real container does. All paths go through ``OPT_ML_DIR`` (:func:`processing_scripts.contract.host_path`).
"""

from __future__ import annotations

import gc
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from processing_scripts import contract

CSV_CONTENT_TYPES = ("text/csv", "csv")
TRAIN_CHANNEL, VALIDATION_CHANNEL = "train", "validation"
# Hyperparameters the algorithm handles itself rather than passing to xgboost's booster params.
ALGORITHM_HYPERPARAMETERS = ("num_round", "early_stopping_rounds", "csv_weights")
# The built-in accepts these for backwards compatibility; xgboost 2+ no longer has them.
IGNORED_HYPERPARAMETERS = (
    "predictor",
    "deterministic_histogram",
    "single_precision_histogram",
    "dsplit",
    "lambda_bias",
    "prob_buffer_row",
    "use_dask_gpu_training",
    "save_model_on_termination",
)
BOOSTER_HYPERPARAMETERS = (
    "objective", "eval_metric", "booster", "verbosity", "eta", "gamma", "max_depth",
    "min_child_weight", "max_delta_step", "subsample", "sampling_method", "colsample_bytree",
    "colsample_bylevel", "colsample_bynode", "lambda", "alpha", "tree_method", "sketch_eps",
    "scale_pos_weight", "updater", "refresh_leaf", "process_type", "grow_policy", "max_leaves",
    "max_bin", "num_parallel_tree", "num_class", "base_score", "seed", "max_cat_to_onehot",
    "interaction_constraints", "monotone_constraints", "nthread", "tweedie_variance_power",
    "skip_drop", "rate_drop", "one_drop", "normalize_type", "sample_type",
)  # fmt: skip


class ClientError(ValueError):
    """The job's input or hyperparameters are invalid (SageMaker's ``ClientError`` failures)."""


def booster_parameters(hyperparameters: dict[str, str]) -> tuple[dict[str, Any], int, int | None]:
    """Split the job's hyperparameters into xgboost params, num_round and early_stopping_rounds."""
    params: dict[str, Any] = {}
    for name, raw in hyperparameters.items():
        if name.startswith("_") or name.startswith("sagemaker_") or name in IGNORED_HYPERPARAMETERS:
            continue  # set by the tuner or the SDK, or a no-op in this xgboost
        if name in ALGORITHM_HYPERPARAMETERS:
            continue
        if name not in BOOSTER_HYPERPARAMETERS:
            raise ClientError(f"hyperparameter {name!r} is not one the built-in XGBoost algorithm accepts")
        params[name] = _parse(name, raw)
    if "eval_metric" in params and isinstance(params["eval_metric"], str):
        params["eval_metric"] = [m for m in params["eval_metric"].split(",") if m]
    if "num_round" not in hyperparameters:
        raise ClientError("hyperparameter num_round is required")
    num_round = _parse("num_round", hyperparameters["num_round"])
    if not isinstance(num_round, int) or num_round < 1:
        raise ClientError(f"num_round must be a positive integer, got {hyperparameters['num_round']!r}")
    early = hyperparameters.get("early_stopping_rounds")
    return params, num_round, None if early is None else int(_parse("early_stopping_rounds", early))


def _parse(name: str, raw: Any) -> Any:
    text = str(raw).strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if name in ("num_round", "early_stopping_rounds", "max_depth"):
        raise ClientError(f"hyperparameter {name} must be a number, got {raw!r}")
    return text


def read_channel(name: str, content_type: str) -> tuple[Any, Any]:
    """Labels and features of one channel: every CSV file in its directory, in name order."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() not in CSV_CONTENT_TYPES:
        raise ClientError(f"channel {name}: content type {content_type!r} is not supported (use text/csv)")
    directory = contract.host_path(contract.Training.channel(name))
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))
    blocks = []
    for path in files:
        try:
            block = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError as err:
            raise ClientError(f"channel {name}: {path.name} is not numeric headerless CSV ({err})") from err
        if block.size:
            blocks.append(block)
    if not blocks:
        raise ClientError(f"channel {name}: no data in {directory}")
    widths = {block.shape[1] for block in blocks}
    if len(widths) > 1:
        raise ClientError(f"channel {name}: files have different column counts {sorted(widths)}")
    data = np.vstack(blocks)
    if data.shape[1] < 2:
        raise ClientError(f"channel {name}: needs the label and at least one feature column")
    return data[:, 0], data[:, 1:]


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


def train() -> None:
    hyperparameters = json.loads(contract.host_path(contract.Training.HYPERPARAMETERS).read_text())
    channels = json.loads(contract.host_path(contract.Training.INPUT_DATA_CONFIG).read_text())
    if TRAIN_CHANNEL not in channels:
        raise ClientError(f"the {TRAIN_CHANNEL} channel is required (got {', '.join(channels) or 'none'})")
    params, num_round, early_stopping = booster_parameters(hyperparameters)
    matrices = {}
    for name in (TRAIN_CHANNEL, VALIDATION_CHANNEL):
        if name in channels:
            labels, features = read_channel(name, channels[name].get("ContentType", "text/csv"))
            matrices[name] = xgb.DMatrix(features, label=labels)
    if (
        VALIDATION_CHANNEL in matrices
        and matrices[VALIDATION_CHANNEL].num_col() != matrices[TRAIN_CHANNEL].num_col()
    ):
        raise ClientError("train and validation channels have different numbers of feature columns")
    if early_stopping is not None and VALIDATION_CHANNEL not in matrices:
        raise ClientError("early_stopping_rounds needs a validation channel")
    print(f"training {num_round} rounds with {json.dumps(params, sort_keys=True)}", flush=True)
    booster = xgb.train(
        params,
        matrices[TRAIN_CHANNEL],
        num_boost_round=num_round,
        evals=[(matrix, name) for name, matrix in matrices.items()],
        early_stopping_rounds=early_stopping,
        verbose_eval=False,
        callbacks=[EvaluationLog()],
    )
    model_dir = contract.host_path(contract.Training.MODEL)
    model_dir.mkdir(parents=True, exist_ok=True)
    # The file has no extension, so write UBJSON explicitly (what xgboost then loads by default).
    (model_dir / contract.Training.MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))
    print(f"saved {contract.Training.MODEL_FILE} ({booster.num_boosted_rounds()} trees)", flush=True)


def main() -> int:
    failure = contract.host_path(contract.Training.FAILURE)
    try:
        train()
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
