"""Evaluation of a script-mode model: the credit example's train.py trained as the scikit-learn image
runs it, then scored through its own serving hooks (model_fn/input_fn/predict_fn/output_fn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.model_code import pack
from processing_scripts import contract, evaluate, script_model
from tests.processing_scripts.conftest import REPO_ROOT, exit_message, run_in_process, sandbox_path

CREDIT_MODEL = REPO_ROOT / "examples" / "credit" / "model"
FEATURES = ["limit_bal", "age", "pay_0", "bill_amt1"]


def _binary(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, len(FEATURES)))
    label = (features[:, 0] - features[:, 2] + rng.normal(0, 0.7, rows) > 0).astype(float)
    return np.column_stack([label, features])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model.tar.gz`` of train.py run as the training toolkit runs it (SM_* variables, --name value)."""
    root = tmp_path_factory.mktemp("credit-training")
    for split, seed in (("train", 1), ("validation", 2)):
        (root / split).mkdir()
        np.savetxt(root / split / "part-algo-1.csv", _binary(400, seed), delimiter=",", fmt="%.8g")
    (root / "model").mkdir()
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(root / "train"),
        "SM_CHANNEL_VALIDATION": str(root / "validation"),
        "SM_MODEL_DIR": str(root / "model"),
    }
    result = subprocess.run(
        [sys.executable, "train.py", "--max_iter", "40"],
        cwd=CREDIT_MODEL,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "validation:auc=" in result.stdout
    with tarfile.open(root / contract.Training.MODEL_ARCHIVE, "w:gz") as archive:
        archive.add(root / "model" / "model.joblib", arcname="model.joblib")
    return root / contract.Training.MODEL_ARCHIVE


def _stage(opt_ml: Path, model: Path, code: bytes, test: np.ndarray) -> None:
    for path, name, data in (
        (contract.Evaluate.MODEL, contract.Training.MODEL_ARCHIVE, model.read_bytes()),
        (contract.Evaluate.CODE, "sourcedir-0123456789abcdef.tar.gz", code),
    ):
        folder = sandbox_path(opt_ml, path)
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
    test_dir = sandbox_path(opt_ml, contract.Evaluate.TEST)
    test_dir.mkdir(parents=True)
    np.savetxt(test_dir / "part-algo-1.csv", test, delimiter=",", fmt="%.8g")
    schema = {"label": "default", "features": FEATURES, "problem_type": "binary_classification"}
    schema_dir = sandbox_path(opt_ml, contract.Evaluate.SCHEMA)
    schema_dir.mkdir(parents=True)
    (schema_dir / contract.Preprocess.SCHEMA_FILE).write_text(json.dumps(schema))


def test_a_script_mode_model_is_scored_through_its_hooks_with_classification_metrics(tmp_path, trained):
    test = _binary(300, 3)
    _stage(tmp_path, trained, pack(CREDIT_MODEL), test)

    code = run_in_process(tmp_path, evaluate.main, "--program", "train.py")

    assert code == 0, exit_message(tmp_path)
    out = sandbox_path(tmp_path, contract.Evaluate.EVALUATION)
    metrics = json.loads((out / contract.Evaluate.EVALUATION_FILE).read_text())[
        "binary_classification_metrics"
    ]
    assert metrics["auc"]["value"] > 0.8  # the problem type came from schema.json
    assert sum(sum(row.values()) for row in metrics["confusion_matrix"].values()) == len(test)
    assert {"accuracy", "precision", "recall", "f1"} <= set(metrics)
    report = (out / contract.REPORT_FILE).read_text()
    assert "Confusion matrix" in report or "confusion matrix" in report


def test_a_model_answering_the_wrong_number_of_rows_is_one_line_naming_output_fn(tmp_path, trained):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "serve.py").write_text(
        "import joblib\n"
        "def model_fn(model_dir): return joblib.load(model_dir + '/model.joblib')\n"
        "def output_fn(prediction, accept): return '0.5\\n'\n"  # one line, whatever was asked
        "def predict_fn(data, model): return model.predict_proba(data)[:, 1]\n"
    )
    opt_ml = tmp_path / "opt_ml"
    _stage(opt_ml, trained, pack(code_dir), _binary(50, 4))

    code = run_in_process(opt_ml, evaluate.main, "--program", "serve.py")

    assert code != 0
    message = exit_message(opt_ml)
    assert "answered 1 lines for 50 rows" in message and "output_fn" in message
    assert "\n" not in message.strip()


def test_the_toolkit_defaults_fill_in_the_hooks_a_script_leaves_out(tmp_path):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "only_model.py").write_text(
        "class Doubler:\n"
        "    def predict(self, data): return data[:, 0] * 2\n"
        "def model_fn(model_dir): return Doubler()\n"
    )
    handler = script_model.serve(script_model.import_program(code_dir, "only_model.py"), tmp_path)

    assert handler(b"1,5\n2,\n", "text/csv", "text/csv") == b"2.0\n4.0\n"  # an empty value is NaN
    assert json.loads(handler(b"[[3, 1]]", "application/json", "*/*")) == [6.0]  # JSON by default
    with pytest.raises(script_model.ScriptModelError, match="no default decoder"):
        handler(b"x", "image/png", "text/csv")


def test_a_script_without_model_fn_is_refused_as_the_serving_container_refuses_it(tmp_path):
    (tmp_path / "train.py").write_text("def predict_fn(data, model): return data\n")

    with pytest.raises(script_model.ScriptModelError, match="defines no model_fn"):
        script_model.serve(script_model.import_program(tmp_path, "train.py"), tmp_path)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=50))
def test_a_csv_answer_of_one_number_per_line_reads_back_exactly(values):
    response = "".join(f"{value!r}\n" for value in values).encode()
    assert script_model.predictions_from_csv(response, len(values)).tolist() == values


@given(st.binary(max_size=200))
def test_any_answer_is_read_or_refused_with_a_script_model_error(response):
    try:
        script_model.predictions_from_csv(response, 3)
    except script_model.ScriptModelError as err:
        assert "\n" not in str(err)
