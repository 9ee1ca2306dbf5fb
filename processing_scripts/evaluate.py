"""A trained model and the test split in; ``evaluation.json`` and ``report.html`` out.

Run inside the project's image as ``python3 -m processing_scripts.evaluate [--problem-type
regression|binary_classification] [--threshold 0.5] [--program train.py]`` (paths from
:mod:`processing_scripts.contract`; set ``OPT_ML_DIR`` to run it on a laptop). It reads
``model.tar.gz`` from ``Evaluate.MODEL``, the headerless test split (label first, one or more
``part-*.csv``) from ``Evaluate.TEST`` and ``schema.json`` from ``Evaluate.SCHEMA``.

The model is the built-in XGBoost's, or with ``--program`` a script-mode model: its code
(``sourcedir.tar.gz`` in ``Evaluate.CODE``) is imported and the test features go through its
``model_fn``/``input_fn``/``predict_fn``/``output_fn`` as a ``text/csv`` request answered in
``text/csv``, exactly as the endpoint will call them (:mod:`processing_scripts.script_model`).

``evaluation.json`` is in Model Monitor's model-quality format (see
:mod:`processing_scripts.quality_metrics`, shared with the monitoring job); the pipeline's quality
gate reads one value from it.
``report.html`` is the same numbers for a person, with the plots that show *where* a model is wrong,
the pipeline execution that made it, and (with ``--endpoint-name``) the same metrics of the model
the endpoint serves now, from the evaluation registered with its model package: the one a passing
candidate would replace.
Both are written together or not at all.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from processing_scripts import (
    contract,
    deployed_model,
    job,
    model_io,
    quality_gate,
    reporting,
    s3_uri,
    script_model,
)
from processing_scripts.aws_clients import AwsClients, AwsTarget
from processing_scripts.quality_metrics import (
    DECISION_THRESHOLD,
    ModelQuality,
    QualityInputError,
    model_quality,
)
from processing_scripts.split_schema import PROBLEM_TYPES, REGRESSION, SplitSchema
from processing_scripts.tabular_io import read_numeric_table

log = logging.getLogger("processing_scripts.evaluate")

REPORT_TITLE = "Model evaluation"
COMPARISON_HEADING = "Compared with the deployed model"


def probability_threshold(text: str) -> float:
    """Parse ``--threshold``: a probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the threshold must be between 0 and 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m processing_scripts.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--problem-type",
        choices=PROBLEM_TYPES,
        default=None,
        help="which metrics to compute (default: the problem_type of the splits' schema.json)",
    )
    parser.add_argument(
        "--threshold",
        type=probability_threshold,
        default=DECISION_THRESHOLD,
        help="binary_classification: predict 1 when the probability is at least this (default: %(default)s)",
    )
    # Lineage and the gate, for the report only: where the inputs came from, and the verdict the
    # pipeline's QualityGate will reach on this evaluation.json.
    parser.add_argument("--model-uri", default="", help="the model's S3 URI (the report names it)")
    parser.add_argument("--test-uri", default="", help="the test split's S3 URI (the report names it)")
    parser.add_argument("--gate-metric-path", default="", help="the quality gate's JsonGet path")
    parser.add_argument("--gate-comparison", default="", choices=["", *quality_gate.COMPARISONS])
    parser.add_argument("--gate-threshold", type=float, default=None, help="the QualityThreshold parameter")
    parser.add_argument(
        "--program",
        default="",
        help="a script-mode model: the file of its serving hooks in the code archive (SAGEMAKER_PROGRAM)",
    )
    # Which run and model this is, and what it would replace: the report compares the candidate with
    # the evaluation registered for the model package the endpoint serves.
    parser.add_argument("--execution-arn", default="", help="the pipeline execution (the report names it)")
    parser.add_argument(
        "--model-package-group", default="", help="the group a passing model is registered in"
    )
    parser.add_argument("--endpoint-name", default="", help="compare with the model this endpoint serves")
    return parser.parse_args(argv)


def compute_metrics(
    problem_type: str, actual: np.ndarray, predicted: np.ndarray, threshold: float
) -> ModelQuality:
    """The metrics, refusing what cannot make a quality gate: no scorable row, or (classification) a
    test split with one class, whose AUC and recall are undefined."""
    try:
        quality = model_quality(problem_type, actual, predicted, threshold=threshold, source="the test split")
    except QualityInputError as err:
        raise job.JobInputError(str(err)) from err
    if quality.rows == 0:
        raise job.JobInputError(f"none of the {len(actual)} test rows has both a label and a prediction")
    if problem_type != REGRESSION and len(np.unique(actual)) < 2:
        raise job.JobInputError(
            f"the test split has only label {actual[0]:g}; AUC and recall need both classes, "
            "so use more data or a different split seed"
        )
    if quality.missing:
        log.warning("%d test rows without a label or prediction were left out", quality.missing)
    return quality


def regression_plots(actual: np.ndarray, predicted: np.ndarray, label: str) -> list[str]:
    """Predicted against actual (points on the diagonal are right) and residuals against predicted."""
    scatter = reporting.new_figure()
    axes = scatter.subplots()
    axes.scatter(actual, predicted, s=8, alpha=0.5)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1, label="perfect prediction")
    axes.set(xlabel=f"actual {label}", ylabel=f"predicted {label}", title="Predicted vs actual")
    axes.legend()

    residual = reporting.new_figure()
    axes = residual.subplots()
    axes.scatter(predicted, actual - predicted, s=8, alpha=0.5)
    axes.axhline(0, color="black", linewidth=1)
    axes.set(xlabel=f"predicted {label}", ylabel="residual (actual - predicted)", title="Residuals")
    return [
        reporting.figure_html(scatter, "predicted against actual values"),
        reporting.figure_html(residual, "residuals against predicted values"),
    ]


def classification_plots(quality: ModelQuality) -> list[str]:
    """The confusion matrix as a heat map and the ROC curve, both from the computed metrics."""
    group = quality.metrics
    matrix = np.array([[group["confusion_matrix"][a][p] for p in ("0", "1")] for a in ("0", "1")])
    confusion = reporting.new_figure(4.5, 4.0)
    axes = confusion.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    confusion.colorbar(image, ax=axes)
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=colour)
    axes.set(xticks=[0, 1], yticks=[0, 1], xlabel="predicted", ylabel="actual", title="Confusion matrix")

    roc = reporting.new_figure(4.5, 4.0)
    axes = roc.subplots()
    curve = group["receiver_operating_characteristic_curve"]
    axes.plot(
        curve["false_positive_rates"], curve["true_positive_rates"], label=f"AUC {group['auc']['value']:.3f}"
    )
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    axes.legend()
    return [reporting.figure_html(confusion, "confusion matrix"), reporting.figure_html(roc, "ROC curve")]


def render_report(
    quality: ModelQuality,
    context: list[tuple[str, object]],
    plots: list[str],
    gate: str | None = None,
    deployed: DeployedEvaluation | str | None = None,
) -> str:
    sections = [
        reporting.section_html(
            "Metrics", reporting.table_html(("metric", "value", "standard deviation"), quality.metric_rows())
        ),
        reporting.section_html("Inputs", reporting.table_html(("input", "value"), context)),
        reporting.section_html("Plots", *plots),
    ]
    if deployed is not None:
        sections.insert(1, reporting.section_html(COMPARISON_HEADING, _comparison(quality, deployed)))
    if gate:
        sections.insert(0, reporting.section_html("Quality gate", f"<p>{html.escape(gate)}</p>"))
    return reporting.page_html(REPORT_TITLE, *sections)


@dataclass(frozen=True)
class DeployedEvaluation:
    """The evaluation registered with the model package an endpoint serves (ModelMetrics.ModelQuality)."""

    endpoint: str
    package_arn: str
    uri: str
    document: dict[str, Any]


def deployed_evaluation(sagemaker: Any, s3: Any, endpoint: str) -> DeployedEvaluation | str:
    """What the endpoint's model scored when it was evaluated, or, in words, why there is nothing to
    compare with. Never fails the job: the comparison informs a person, the gate decides alone."""
    try:
        served = deployed_model.served_model(sagemaker, endpoint)
        if served.package_arn is None:
            return f"endpoint {endpoint} serves model {served.model_name}, which was not created from a model package"
        package = sagemaker.describe_model_package(ModelPackageName=served.package_arn)
        uri = (
            ((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics", {}).get("S3Uri")
        )
        if not uri:
            return f"model package {served.package_arn} has no ModelMetrics.ModelQuality.Statistics to compare with"
        bucket, key = s3_uri.split(uri, key_required=True)
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except deployed_model.EndpointNotDeployed:
        return f"no model deployed yet (endpoint {endpoint} does not exist)"
    except (ClientError, BotoCoreError, ValueError) as err:  # ValueError: a URI or JSON that is not one
        log.warning("not compared with the deployed model: %s", err)
        return f"could not read the deployed model's evaluation: {err}"
    return DeployedEvaluation(endpoint, served.package_arn, uri, document)


def _comparison(quality: ModelQuality, deployed: DeployedEvaluation | str) -> str:
    if isinstance(deployed, str):
        return f"<p>{html.escape(deployed)}</p>"
    # Read back through the same rows the metrics table shows (rows and missing are not compared).
    theirs = ModelQuality(
        quality.problem_type, deployed.document.get(f"{quality.problem_type}_metrics", {}), 0, 0
    )
    their_values = {name: value for name, value, _ in theirs.metric_rows()}
    rows = []
    for name, value, _ in quality.metric_rows():
        other = their_values.get(name, "n/a")
        difference = value - other if isinstance(value, float) and isinstance(other, float) else ""
        rows.append([name, value, other, difference])
    facts = reporting.facts_html(
        [
            ("endpoint", deployed.endpoint),
            ("model package", deployed.package_arn),
            ("its evaluation", deployed.uri),
        ]
    )
    return facts + reporting.table_html(("metric", "this model", "deployed model", "difference"), rows)


def gate_verdict(args: argparse.Namespace, quality: ModelQuality) -> str | None:
    """What the pipeline's QualityGate will decide on this evaluation, when the gate was described."""
    if not (args.gate_metric_path and args.gate_comparison) or args.gate_threshold is None:
        return None
    value = quality_gate.metric_at(quality.to_json(), args.gate_metric_path)
    if value is None:
        return f"{args.gate_metric_path} is not in evaluation.json: the gate cannot pass"
    return quality_gate.verdict(
        args.gate_metric_path, value, args.gate_comparison, args.gate_threshold, "QualityThreshold"
    )


def script_predictions(program: str, model_dir: Path, features: np.ndarray) -> np.ndarray:
    """The script-mode model's predictions of ``features``: its archive extracted as the serving
    container extracts it into ``/opt/ml/model``, its code as into ``/opt/ml/code``, and one
    ``text/csv`` request of every row through its hooks."""
    archive = model_dir / contract.Training.MODEL_ARCHIVE
    with tempfile.TemporaryDirectory() as scratch:
        extracted = Path(scratch) / "model"
        extracted.mkdir()
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(extracted, filter="data")
        except (tarfile.TarError, OSError) as err:
            raise model_io.ModelLoadError(f"{archive}: not a readable model archive ({err})") from err
        code_dir = script_model.extract_code(
            script_model.find_archive(contract.host_path(contract.Evaluate.CODE)), Path(scratch) / "code"
        )
        rows = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in features)
        try:
            handler = script_model.serve(script_model.import_program(code_dir, program), extracted)
            response = handler(rows.encode(), script_model.CSV, script_model.CSV)
        except script_model.ScriptModelError:
            raise
        except Exception as err:  # the user's code: its failure, named in one line
            detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise script_model.ScriptModelError(
                f"{program} failed on the test split: {type(err).__name__}: {detail}"
            ) from err
    log.info("scored %d test rows with %s's predict_fn", len(features), program)
    return script_model.predictions_from_csv(response, len(features))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    schema = SplitSchema.read(contract.host_path(contract.Evaluate.SCHEMA))
    if args.problem_type is None:
        args.problem_type = schema.problem_type
    elif schema.problem_type != args.problem_type:
        log.warning(
            "evaluating as %s although schema.json says %s (--problem-type wins)",
            args.problem_type,
            schema.problem_type,
        )
    model_dir = contract.host_path(contract.Evaluate.MODEL)
    test_dir = contract.host_path(contract.Evaluate.TEST)
    test = read_numeric_table(test_dir, schema.columns)
    actual = test[schema.label].to_numpy()
    features = test[list(schema.features)].to_numpy()
    if args.program:
        predicted = script_predictions(args.program, model_dir, features)
    else:
        booster = model_io.load_booster(model_dir)
        model_io.check_features(booster, schema.features)
        predicted = model_io.predict(booster, features, schema.features)

    quality = compute_metrics(args.problem_type, actual, predicted, args.threshold)
    headline = ", ".join(
        f"{name} {value:.4g}" for name, value, _ in quality.metric_rows()[:4] if value != "n/a"
    )
    log.info("evaluated %d test rows as %s: %s", quality.rows, args.problem_type, headline)

    # The S3 URIs the pipeline passed, else container paths (never this host's): the report reads the
    # same wherever the job ran.
    context: list[tuple[str, object]] = [
        ("problem type", args.problem_type),
        ("test rows", len(test)),
        ("rows left out (label or prediction missing)", quality.missing),
        ("test data", args.test_uri or contract.Evaluate.TEST),
        ("model", args.model_uri or f"{contract.Evaluate.MODEL}/{contract.Training.MODEL_ARCHIVE}"),
    ]
    if args.model_package_group:
        context.append(
            ("registered as", f"the next version of {args.model_package_group}, if it passes the gate")
        )
    if args.execution_arn:
        context.insert(0, ("pipeline execution", args.execution_arn))
    deployed = None
    if args.endpoint_name:
        clients = AwsClients(AwsTarget.from_env())  # the job's region (SageMaker sets AWS_REGION)
        deployed = deployed_evaluation(clients.sagemaker, clients.s3, args.endpoint_name)
    if args.problem_type == REGRESSION:
        plots = regression_plots(actual, predicted, schema.label)
    else:
        context.append(("threshold", args.threshold))
        plots = classification_plots(quality)
    out_dir = contract.host_path(contract.Evaluate.EVALUATION)
    job.write_all_or_nothing(
        {
            out_dir / contract.Evaluate.EVALUATION_FILE: json.dumps(
                quality.to_json(), indent=2, allow_nan=False
            )
            + "\n",
            out_dir / contract.REPORT_FILE: render_report(
                quality, context, plots, gate_verdict(args, quality), deployed
            ),
        }
    )


if __name__ == "__main__":
    job.exit_with(main)
