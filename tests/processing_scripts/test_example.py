"""The example descriptions: each shipped one loads, each mistake is one line that says the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from processing_scripts import example
from processing_scripts.example import ExampleError

SHIPPED = example.DEFAULT_EXAMPLES_DIR
CREDIT = SHIPPED / "credit" / example.DESCRIPTION_FILE


def test_every_shipped_example_loads(each_example: example.Example) -> None:
    spec = each_example.dataset
    assert spec.target in spec.raw_columns
    assert spec.target not in spec.feature_names()
    assert each_example.data_file().is_file()


def write(tmp_path: Path, text: str, name: str = "mine") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(CREDIT.parent / "generate.py", folder)
    (folder / example.DESCRIPTION_FILE).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'limit_bal = "float"',
            'limit_bal = "flaot"',
            "'limit_bal': type 'flaot' is not one of category, float, int (did you mean 'float'?)",
        ),
        (
            'target = "default_payment_next_month"',
            'target = "default_payment"',
            "target 'default_payment' is not a column (did you mean 'default_payment_next_month'?)",
        ),
        (
            'problem_type = "binary_classification"',
            'problem_type = "binary_clasification"',
            "problem_type 'binary_clasification' is not one of regression, binary_classification (did you mean 'binary_classification'?)",
        ),
        (
            'sex = ["1", "2"]',
            'sex = ["1", "2"]\nage = ["20", "30"]',
            "[dataset.categories] 'age' is not a category column",
        ),
        ('marriage = ["0", "1", "2", "3"]', "", "[dataset.categories] 'marriage' needs its allowed values"),
        (
            'from = "1"',
            'from = "9"',
            "[[drift.shift]] 'marriage': '9' is not one of its categories 0, 1, 2, 3",
        ),
        (
            "bill_amt1 = 3.0",
            "bill_amt0 = 3.0",
            "[drift.scale] 'bill_amt0' is not a numeric feature (did you mean",
        ),
        (
            "[model.script]",  # without it, the built-in XGBoost: it needs an objective
            "[model.scripts]",
            "[model.hyperparameters] must be a table with at least objective",
        ),
        (
            'comparison = "GreaterThanOrEqualTo"',
            'comparison = "GreaterOrEqual"',
            "[gate] comparison 'GreaterOrEqual' is not one of",
        ),
        (
            'metric_path = "binary_classification_metrics.auc.value"',
            'metric_path = "regression_metrics.rmse.value"',
            "[gate] metric_path 'regression_metrics.rmse.value' must be binary_classification_metrics.<metric>.value",
        ),
        ("rows = 10000", "rows = 10000\nrowz = 3", "[dataset] has unknown key 'rowz' (did you mean 'rows'?)"),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_and_the_fix(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = CREDIT.read_text()
    assert old in text
    root = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ExampleError) as error:
        example.load("mine", root)
    assert str(error.value).startswith(f"{root / 'mine' / example.DESCRIPTION_FILE}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unknown_example_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ExampleError, match=r"unknown example 'credt' \(did you mean 'credit'\?\).*abalone, credit"
    ):
        example.load("credt", SHIPPED)


def test_an_example_name_must_fit_in_bucket_names(tmp_path: Path) -> None:
    with pytest.raises(ExampleError, match="lowercase letters, digits and hyphens"):
        example.load("My_Data", SHIPPED)


def test_the_credit_generator_is_seeded_and_like_uci(tmp_path: Path) -> None:
    """Deterministic (same rows and seed, same bytes), UCI's columns and about its 22% default rate."""
    credit = example.load("credit", SHIPPED)
    first = credit.data_file(tmp_path / "a").read_bytes()
    assert first == credit.data_file(tmp_path / "b").read_bytes()
    frame = pd.read_csv(credit.data_file(tmp_path / "a"))
    assert list(frame.columns) == list(credit.dataset.raw_columns)
    assert len(frame) == credit.generator_rows
    assert 0.19 < frame[credit.dataset.target].mean() < 0.25
    assert set(frame["marriage"].astype(str)) <= set(credit.dataset.categories["marriage"])


def test_a_real_csv_in_the_folder_wins_over_the_generator(tmp_path: Path) -> None:
    root = write(tmp_path, CREDIT.read_text())
    (root / "mine" / "credit.csv").write_text("ID,LIMIT_BAL\n1,20000\n")
    assert example.load("mine", root).data_file() == root / "mine" / "credit.csv"


def test_a_job_told_an_unknown_example_exits_1_with_one_line(tmp_path: Path, monkeypatch) -> None:
    """A job whose MLOPS_EXAMPLE the image does not carry says so in its exit message, not a traceback."""
    from processing_scripts import preprocess
    from tests.processing_scripts.conftest import exit_message, place_raw, run_in_process

    place_raw(tmp_path, {"data.csv": "a,b\n1,2\n"})
    monkeypatch.setenv(example.EXAMPLE_ENV, "nosuch")
    assert run_in_process(tmp_path, preprocess.main) == 1
    message = exit_message(tmp_path)
    assert "unknown example 'nosuch'" in message and "\n" not in message
