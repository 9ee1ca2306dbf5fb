"""docs/your-own-data.md, followed as a user follows it, on a small made-up dataset whose description
uses snake_case and Mixed-Case names and whose CSV spells them otherwise: one folder, selected with
MLOPS_EXAMPLE and MLOPS_EXAMPLES_DIR, through synth and a local training run (preprocess, train,
evaluate, the quality gate, register)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from processing_scripts import example
from tests.pipelines.cli_runner import one_line_error, run

# The description a user writes (the how-to's example, verbatim).
CHURN_TOML = """
[dataset]
file = "churn.csv"
target = "Churned"
problem_type = "binary_classification"

[dataset.columns]
"Customer Age" = "int"
monthly_charges = "float"
"Contract Type" = "category"
tenure_months = "int"
Churned = "int"

[dataset.categories]
"Contract Type" = ["monthly", "yearly"]

[drift.scale]
monthly_charges = 1.0

[[drift.shift]]
column = "Contract Type"
from = "yearly"
to = "monthly"
share = 0.5

[model]
tuning_objective = "validation:auc"
tuning_objective_type = "Maximize"

[model.hyperparameters]
objective = "binary:logistic"
num_round = "30"
max_depth = "3"
eta = "0.3"
eval_metric = "auc"

[gate]
metric_path = "binary_classification_metrics.auc.value"
comparison = "GreaterThanOrEqualTo"
threshold = 0.6
"""


def churn_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """Made-up customers: short tenure, high charges and monthly contracts churn more. The header is
    spelled as an export would (upper case, underscores, dots), not as the description."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    charges = rng.uniform(20, 120, rows).round(2)
    contract = rng.choice(["monthly", "yearly"], rows)
    logit = -1.0 - 0.04 * tenure + 0.03 * (charges - 70) + 1.2 * (contract == "monthly")
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "CUSTOMER_AGE": rng.integers(18, 90, rows),
            "Monthly Charges": charges,
            "contract.type": contract,
            "Tenure_Months": tenure,
            "churned": churned,
        }
    )


@pytest.fixture
def churn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Steps 1-3 of the how-to: the folder, its description and its data, then select it."""
    folder = tmp_path / "my-examples" / "churn"
    folder.mkdir(parents=True)
    (folder / "example.toml").write_text(CHURN_TOML)
    churn_rows(600).to_csv(folder / "churn.csv", index=False)
    monkeypatch.setenv(example.EXAMPLES_DIR_ENV, str(folder.parent))
    monkeypatch.setenv(example.EXAMPLE_ENV, "churn")
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.mark.slow  # ~20 s: the SageMaker SDK renders both pipelines
def test_synth_names_everything_after_the_example(churn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "synth", "--out", "definitions")
    assert code == 0, err
    training = json.loads(Path("definitions/churn-mlops-dev-training.json").read_text())
    parameters = {p["Name"]: p.get("DefaultValue") for p in training["Parameters"]}
    assert parameters["InputDataUrl"] == "s3://churn-mlops-dev-data-123456789012-us-east-1/raw/churn.csv"
    preprocess = next(step for step in training["Steps"] if step["Name"] == "Preprocess")
    assert preprocess["Arguments"]["Environment"]["MLOPS_EXAMPLE"] == "churn"


def test_a_mistake_in_the_description_is_one_line(churn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (churn / "example.toml").write_text(
        CHURN_TOML.replace('problem_type = "binary_classification"', 'problem_type = "classification"')
    )
    code, _, err = run(capsys, "synth", "--out", "definitions")
    message, hint = one_line_error(err)
    assert code != 0
    assert "problem_type 'classification' is not one of regression, binary_classification" in message
    assert "docs/your-own-data.md" in hint


@pytest.mark.slow
def test_a_local_training_run_preprocesses_trains_evaluates_and_registers(
    churn: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "run-local", "training", "--runs-dir", "runs")
    assert code == 0, out + err
    assert "binary_classification_metrics.auc.value" in out and "passes the gate" in out


def test_an_unknown_example_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(example.EXAMPLE_ENV, example.DEFAULT_EXAMPLE)  # restored after --example sets it
    code, _, err = run(capsys, "synth", "--out", str(tmp_path), "--example", "credt")
    message, hint = one_line_error(err)
    assert code == 2
    assert message.startswith("unknown example 'credt' (did you mean 'credit'?)")
    assert "choose one of abalone, credit" in message and "docs/your-own-data.md" in hint
