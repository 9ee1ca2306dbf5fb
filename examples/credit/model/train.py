"""Credit default: a scikit-learn model in SageMaker script mode, trained and served from this file.

Training (the scikit-learn image runs ``python train.py --name value ...`` from ``/opt/ml/code``):
the train and validation channels hold the preprocessed splits, headerless CSV with the label
(``default``, 0/1) first and the one-hot encoded features after it. The model is written to
``SM_MODEL_DIR`` with joblib and packed by SageMaker into ``model.tar.gz``.

Serving (the same file is ``SAGEMAKER_PROGRAM``): ``model_fn`` loads it, ``input_fn`` reads
``text/csv`` rows of features, ``predict_fn`` returns the probability of default and ``output_fn``
writes one probability per line (``text/csv``) or a JSON list.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

MODEL_FILE = "model.joblib"


def read_split(channel: str) -> tuple[np.ndarray, np.ndarray]:
    """Every CSV file of a channel (``SM_CHANNEL_<NAME>``): labels and features."""
    folder = Path(os.environ[f"SM_CHANNEL_{channel.upper()}"])
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no CSV file in the {channel} channel ({folder})")
    table = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
    return table[:, 0], table[:, 1:]


def train(args: argparse.Namespace) -> None:
    labels, features = read_split("train")
    model = HistGradientBoostingClassifier(
        max_iter=args.max_iter,
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        random_state=args.seed,
    )
    model.fit(features, labels)
    if "SM_CHANNEL_VALIDATION" in os.environ:
        val_labels, val_features = read_split("validation")
        if len(np.unique(val_labels)) == 2:
            auc = roc_auc_score(val_labels, model.predict_proba(val_features)[:, 1])
            print(f"validation:auc={auc:.6f}")  # a MetricDefinitions regex can read it
    joblib.dump(model, Path(os.environ["SM_MODEL_DIR"]) / MODEL_FILE)


# -- the SageMaker scikit-learn serving contract --------------------------------------------------


def model_fn(model_dir: str) -> HistGradientBoostingClassifier:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(request_body: bytes | str, content_type: str) -> np.ndarray:
    if content_type.split(";", maxsplit=1)[0].strip().lower() != "text/csv":
        raise ValueError(f"unsupported content type {content_type!r}; send text/csv rows of features")
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    return np.loadtxt(text.strip().splitlines(), delimiter=",", ndmin=2)


def predict_fn(features: np.ndarray, model: HistGradientBoostingClassifier) -> np.ndarray:
    expected = model.n_features_in_
    if features.shape[1] != expected:
        raise ValueError(f"each row needs {expected} features, got {features.shape[1]}")
    return model.predict_proba(features)[:, 1]  # the probability of default


def output_fn(probabilities: np.ndarray, accept: str) -> str:
    if accept.split(";", maxsplit=1)[0].strip().lower() == "application/json":
        return json.dumps(probabilities.tolist())
    return "".join(f"{p:.6f}\n" for p in probabilities)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_iter", type=int, default=200)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--max_depth", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    train(parser.parse_args())
