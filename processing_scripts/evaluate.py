"""A trained model and the test split in; ``evaluation.json`` and ``report.html`` out.

Run inside the project's image as ``python3 -m processing_scripts.evaluate [--problem-type
regression|binary_classification] [--threshold 0.5]`` (paths from
:mod:`processing_scripts.contract`; set ``OPT_ML_DIR`` to run it on a laptop). It reads
``model.tar.gz`` from ``Evaluate.MODEL``, the headerless test split (label first, one or more
``part-*.csv``) from ``Evaluate.TEST`` and ``schema.json`` from ``Evaluate.SCHEMA``.

``evaluation.json`` is in Model Monitor's model-quality format (see
:mod:`processing_scripts.quality_metrics`, shared with the monitoring job); the pipeline's quality
gate reads one value from it.
``report.html`` is the same numbers for a person, with the plots that show *where* a model is wrong.
Both are written together or not at all.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
from collections.abc import Sequence

import numpy as np

from processing_scripts import contract, dataset, job, model_io, quality_gate, reporting
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
        default=dataset.schema().problem_type,
        help="which metrics to compute (default: %(default)s, from the example description)",
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
    quality: ModelQuality, context: list[tuple[str, object]], plots: list[str], gate: str | None = None
) -> str:
    sections = [
        reporting.section_html(
            "Metrics", reporting.table_html(("metric", "value", "standard deviation"), quality.metric_rows())
        ),
        reporting.section_html("Inputs", reporting.table_html(("input", "value"), context)),
        reporting.section_html("Plots", *plots),
    ]
    if gate:
        sections.insert(0, reporting.section_html("Quality gate", f"<p>{html.escape(gate)}</p>"))
    return reporting.page_html(REPORT_TITLE, *sections)


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


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    schema = SplitSchema.read(contract.host_path(contract.Evaluate.SCHEMA))
    if schema.problem_type != args.problem_type:
        log.warning(
            "evaluating as %s although schema.json says %s (--problem-type wins)",
            args.problem_type,
            schema.problem_type,
        )
    model_dir = contract.host_path(contract.Evaluate.MODEL)
    booster = model_io.load_booster(model_dir)
    model_io.check_features(booster, schema.features)
    test_dir = contract.host_path(contract.Evaluate.TEST)
    test = read_numeric_table(test_dir, schema.columns)
    actual = test[schema.label].to_numpy()
    predicted = model_io.predict(booster, test[list(schema.features)].to_numpy(), schema.features)

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
                quality, context, plots, gate_verdict(args, quality)
            ),
        }
    )


if __name__ == "__main__":
    job.exit_with(main)
