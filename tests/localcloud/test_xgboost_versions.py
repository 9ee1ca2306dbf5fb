"""The built-in XGBoost emulation behaves as the image version its URI names.

Expectations are AWS's container source (github.com/aws/sagemaker-xgboost-container) at each
version: which hyperparameters and aliases it accepts, what it writes into ``xgboost-model``, which
content types it reads (see :mod:`localcloud.sagemaker.executor.xgboost_versions`).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

from localcloud.sagemaker.executor.steps import training
from localcloud.sagemaker.executor.xgboost_algorithm import model_bytes, read_channel
from localcloud.sagemaker.executor.xgboost_versions import (
    ClientError,
    ModelFormat,
    UnknownVersionError,
    booster_parameters,
    version_of,
)
from processing_scripts import contract, model_io
from tests.localcloud.conftest import SETTINGS

ROWS = np.array([[1.0, 0.5, 2.0], [0.0, 1.5, 1.0], [1.0, 0.2, 3.0], [0.0, 2.5, 0.5]], dtype=np.float32)


@pytest.mark.parametrize(
    ("tag", "model_format"),
    [
        ("0.90-1", ModelFormat.PICKLE),
        ("1.0-1", ModelFormat.PICKLE),
        ("1.2-2", ModelFormat.PICKLE),
        ("1.3-1", ModelFormat.LEGACY_BINARY),
        ("1.5-1", ModelFormat.LEGACY_BINARY),
        ("1.7-1", ModelFormat.LEGACY_BINARY),
        ("3.0-5", ModelFormat.UBJSON),
        (SETTINGS.training.xgboost_version, ModelFormat.UBJSON),
    ],
)
def test_each_version_writes_its_model_format_and_the_projects_loader_reads_it(tag, model_format):
    version = version_of(tag)
    assert version.model_format is model_format
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(ROWS[:, 1:], label=ROWS[:, 0]), 3)
    data = model_bytes(booster, version)
    if model_format is ModelFormat.PICKLE:
        assert isinstance(pickle.loads(data), xgb.Booster)  # what AWS's abalone evaluate.py does
    loaded = model_io.booster_from_bytes(data, f"xgboost-model ({tag})")
    assert loaded.num_boosted_rounds() == 3


def test_hyperparameters_and_aliases_are_those_of_the_version():
    silent = {"num_round": "3", "silent": "1"}
    assert booster_parameters(silent, version_of("0.90-2")).booster == {"verbosity": 0}
    assert booster_parameters(silent, version_of("1.0-1")).booster == {"verbosity": 0}
    with pytest.raises(ClientError, match=r"^Extraneous hyperparameter found: silent \("):
        booster_parameters(silent, version_of("1.2-1"))

    aliased = {
        "num_round": "3",
        "learning_rate": "0.2",
        "reg_lambda": "2",
        "reg_alpha": "0.5",
        "min_split_loss": "1",
    }
    assert booster_parameters(aliased, version_of("1.7-1")).booster == {
        "eta": 0.2,
        "lambda": 2,
        "alpha": 0.5,
        "gamma": 1,
    }
    with pytest.raises(ClientError, match="Extraneous hyperparameter found: learning_rate"):
        booster_parameters(aliased, version_of("0.90-1"))  # aliases came with 1.0

    assert booster_parameters({"num_round": "3", "sampling_method": "uniform"}, version_of("1.3-1"))
    with pytest.raises(ClientError, match="sampling_method"):
        booster_parameters({"num_round": "3", "sampling_method": "uniform"}, version_of("1.2-1"))
    with pytest.raises(ClientError, match="cross-validation mode is not emulated"):
        booster_parameters({"num_round": "3", "_kfold": "5"}, version_of("1.7-1"))
    with pytest.raises(ClientError, match="Missing required hyperparameter: num_round"):
        booster_parameters({"eta": "0.1"}, version_of("1.7-1"))
    # json-dumped values (SDK 3.x, framework estimators) are decoded first, as the toolkit does.
    quoted = {"num_round": '"3"', "objective": '"binary:logistic"', "eta": "0.5"}
    assert booster_parameters(quoted).booster == {"objective": "binary:logistic", "eta": 0.5}
    # The training toolkit never hands sagemaker_* hyperparameters to the algorithm.
    assert booster_parameters({"num_round": "3", "sagemaker_region": '"us-west-2"'}).booster == {}


def test_a_version_the_emulation_cannot_know_is_refused_in_one_line():
    with pytest.raises(
        UnknownVersionError, match=r"sagemaker-xgboost:latest is not a built-in XGBoost version tag"
    ):
        version_of("latest")
    with pytest.raises(UnknownVersionError, match="older than any version"):
        version_of("0.72-1")
    assert version_of("1.5-1-cpu-py3").since == (1, 5)


def _channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    monkeypatch.setenv(contract.BASE_DIR_ENV, str(tmp_path))
    directory = contract.host_path(contract.Training.channel(name))
    directory.mkdir(parents=True)
    return directory


def test_channels_are_read_in_every_content_type_the_image_reads(tmp_path, monkeypatch):
    directory = _channel(tmp_path, monkeypatch, "train")
    np.savetxt(directory / "part-1.csv", ROWS, delimiter=",")
    assert read_channel("train", "text/csv; label_size=1").num_row() == 4
    weighted = read_channel("train", "text/csv", csv_weights=True)
    assert weighted.num_col() == 1 and list(weighted.get_weight()) == list(ROWS[:, 1])

    (directory / "part-1.csv").unlink()
    (directory / "part-1.libsvm").write_text("1 1:0.5 2:2\n0 1:1.5 2:1\n")
    (directory / "part-2.libsvm").write_text("1 1:0.2 2:3")  # no final newline: still its own row
    matrix = read_channel("train", None)  # a channel without ContentType is libsvm
    assert (matrix.num_row(), matrix.num_col()) == (3, 3)  # indices as written: 1 is the second column
    assert list(matrix.get_label()) == [1, 0, 1]

    for path in directory.iterdir():
        path.unlink()
    pq.write_table(pa.table({f"c{i}": ROWS[:, i] for i in range(3)}), directory / "part-1.parquet")
    matrix = read_channel("train", "application/x-parquet")
    assert (matrix.num_row(), matrix.num_col()) == (4, 2) and list(matrix.get_label()) == list(ROWS[:, 0])


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/x-recordio-protobuf", "recordio-protobuf data is not emulated locally"),
        ("application/json", "application/json is not an accepted ContentType: csv, libsvm, parquet"),
        ("text/csv;label_size=2", "the optional label_size must be 1"),
    ],
)
def test_content_types_the_emulation_cannot_read_are_refused_before_running(content_type, message):
    job = {
        "AlgorithmSpecification": {
            "TrainingImage": "x.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"
        },
        "HyperParameters": {"num_round": "3"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": content_type}],
    }
    (problem,) = training.preflight_problems(job, SETTINGS)
    assert problem.startswith("ClientError: channel train: ") and message in problem
