"""ClarifyCheck steps: the SDK's DataBiasCheck computes Clarify's pre-training metrics on abalone data."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from localcloud import ExecutionStatus
from localcloud.sagemaker.executor.steps import bias_metrics
from localcloud.sagemaker.executor.steps.clarify_check import preflight_problems
from processing_scripts import s3_uri

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "pipelines" / "fixtures"
SDKS = ("sdk2", "sdk3")
HEADER, *ROWS = list(csv.reader((REPO / "data" / "abalone.csv").read_text().splitlines()))
# Written by SDK 2.257.7's clarify._AnalysisConfigGenerator.bias_pre_training for
# DataConfig(label="rings", headers=HEADER, dataset_type="text/csv") and
# BiasConfig(label_values_or_threshold=[10], facet_name=["sex", "length"],
# facet_values_or_threshold=[["F"], [0.5]], group_name="diameter"), methods "all".
ANALYSIS_CONFIG = {
    "dataset_type": "text/csv",
    "headers": HEADER,
    "label": "rings",
    "label_values_or_threshold": [10],
    "facet": [
        {"name_or_index": "sex", "value_or_threshold": ["F"]},
        {"name_or_index": "length", "value_or_threshold": [0.5]},
    ],
    "group_variable": "diameter",
    "methods": {
        "report": {"name": "report", "title": "Analysis Report"},
        "pre_training_bias": {"methods": "all"},
    },
}


def _step(name: str, sdk: str = "sdk2") -> dict[str, Any]:
    steps = json.loads((FIXTURES / sdk / "checks.json").read_text())["Steps"]
    return copy.deepcopy(next(s for s in steps if s["Name"] == name))


def _put(local_aws, uri: str, text: str) -> None:
    bucket, key = s3_uri.split(uri)
    local_aws.clients.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


def _get_json(local_aws, uri: str) -> Any:
    bucket, key = s3_uri.split(uri)
    return json.loads(local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _bias_step(
    pipeline, local_aws, rows: list[list[str]], output: str, sdk: str = "sdk2", **fields: Any
) -> dict[str, Any]:
    """The fixture's DataBiasCheck on headerless ``rows`` (as Clarify's examples write them)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    _put(local_aws, f"{pipeline.bucket}/{output}/data/abalone.csv", buffer.getvalue())
    _put(local_aws, f"{pipeline.bucket}/{output}/config/analysis_config.json", json.dumps(ANALYSIS_CONFIG))
    step = _step("DataBiasCheck", sdk)
    config, dataset = step["Arguments"]["ProcessingInputs"]
    config["S3Input"]["S3Uri"] = f"{pipeline.bucket}/{output}/config/analysis_config.json"
    dataset["S3Input"]["S3Uri"] = f"{pipeline.bucket}/{output}/data/abalone.csv"
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = (
        f"{pipeline.bucket}/{output}/out"
    )
    step.update(fields)
    return pipeline.add(step)


def _metrics(analysis: dict[str, Any], facet: str) -> dict[str, Any]:
    [entry] = analysis["pre_training_bias_metrics"]["facets"][facet]
    return {m["name"]: m for m in entry["metrics"]}


@pytest.mark.parametrize("sdk", SDKS)
def test_data_bias_metrics_match_their_definitions(runner, pipeline, local_aws, sdk):
    _bias_step(pipeline, local_aws, ROWS, "bias1", sdk, SkipCheck=True, RegisterNewBaseline=True)
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    properties = record.steps["DataBiasCheck"].properties
    assert properties == {
        "CalculatedBaselineConstraints": f"{pipeline.bucket}/bias1/out/analysis.json",
        "BaselineUsedForDriftCheckConstraints": f"{pipeline.bucket}/bias1/out/analysis.json",
    }
    analysis = _get_json(local_aws, properties["CalculatedBaselineConstraints"])
    assert analysis["pre_training_bias_metrics"]["label"] == "rings"
    # Rings are whole numbers with under 5% distinct values, so Clarify reads the label as
    # categorical: [10] means "rings == 10", not a threshold. Length is a float: a threshold.
    assert analysis["pre_training_bias_metrics"]["label_value_or_threshold"] == "10"
    assert [e["value_or_threshold"] for e in analysis["pre_training_bias_metrics"]["facets"]["length"]] == [
        "(0.5, 0.815]"
    ]

    female = np.array([r[0] == "F" for r in ROWS])
    positive = np.array([int(r[-1]) == 10 for r in ROWS])
    q_a, q_d = positive[~female].mean(), positive[female].mean()
    metrics = _metrics(analysis, "sex")
    assert list(metrics) == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
    assert metrics["CI"]["value"] == pytest.approx(((~female).sum() - female.sum()) / len(ROWS))
    assert metrics["DPL"]["value"] == pytest.approx(q_a - q_d)
    assert metrics["TVD"]["value"] == pytest.approx(abs(q_a - q_d))
    assert metrics["KS"]["value"] == pytest.approx(2 * abs(q_a - q_d))  # the library's L1, not the max
    assert metrics["LP"]["value"] == pytest.approx(np.sqrt(2) * abs(q_a - q_d))
    p_a, p_d = np.array([1 - q_a, q_a]), np.array([1 - q_d, q_d])
    assert metrics["KL"]["value"] == pytest.approx(np.sum(p_a * np.log(p_a / p_d)))
    assert metrics["CDDL"]["description"] == "Conditional Demographic Disparity in Labels (CDDL)"
    assert isinstance(metrics["CDDL"]["value"], float)


def test_more_bias_than_the_supplied_baseline_fails_the_step(runner, pipeline, local_aws):
    _bias_step(pipeline, local_aws, ROWS, "bias2", SkipCheck=True, RegisterNewBaseline=True)
    assert runner.run(pipeline.definition(), pipeline_name="demo").succeeded
    baseline = f"{pipeline.bucket}/bias2/out/analysis.json"

    # Keep every female but only the males and infants without 10 rings: DPL for sex=F grows.
    skewed = [r for r in ROWS if r[0] == "F" or int(r[-1]) != 10]
    pipeline.steps.clear()
    _bias_step(pipeline, local_aws, skewed, "bias3", SuppliedBaselineConstraints=baseline)
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.FAILED
    assert (
        "DATA_BIAS check found" in record.failure_reason
        and "does not meet the constraint requirement" in record.failure_reason
    )
    violations = _get_json(local_aws, f"{pipeline.bucket}/bias3/out/constraint_violations.json")["violations"]
    assert {
        "facet": "sex",
        "facet_value": "F",
        "metric_name": "DPL",
        "constraint_check_type": "bias_drift_check",
    }.items() <= next(v for v in violations if v["metric_name"] == "DPL" and v["facet"] == "sex").items()


@pytest.mark.parametrize("sdk", SDKS)
def test_model_explainability_is_refused_before_the_run_with_the_stub_hint(sdk):
    assert preflight_problems(_step("DataBiasCheck", sdk)) == []
    assert preflight_problems(_step("ModelExplainabilityCheck", sdk)) == [
        "a MODEL_EXPLAINABILITY ClarifyCheck needs the model's predictions and SHAP values from a shadow "
        "endpoint, which the local executor does not run (it runs DATA_BIAS)"
    ]


def test_an_empty_facet_group_is_an_error_entry_not_a_number():
    groups = bias_metrics.Groups(facet=np.zeros(4, dtype=bool), positive=np.array([True, False, True, False]))
    [entry] = bias_metrics.report(groups, ["CI"])
    assert entry == {
        "name": "CI",
        "description": "Class Imbalance (CI)",
        "value": None,
        "error": "Facet set is empty.",
    }
