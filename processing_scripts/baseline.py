"""Baseline step: the training split in, Model Monitor's statistics.json and constraints.json out.

Runs in the project's image as ``python3 -m processing_scripts.baseline`` with the thresholds the
monitoring job will apply (they are written into constraints.json's ``monitoring_config``). Reads the
headerless train split, names its columns from the preprocess ``schema.json`` (label first, then the
features) and leaves the label out: the endpoint never receives it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from processing_scripts import contract, job
from processing_scripts.drift import engine, sources
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import CATEGORICAL_METHODS, NUMERIC_METHODS, MonitoringConfig
from processing_scripts.drift.storage import Storage

log = logging.getLogger(__name__)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a threshold must be between 0 and 1")
    return value


def add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = MonitoringConfig()
    parser.add_argument("--comparison-threshold", type=fraction, default=defaults.comparison_threshold)
    parser.add_argument("--comparison-method", choices=NUMERIC_METHODS, default=defaults.comparison_method)
    parser.add_argument(
        "--categorical-threshold", type=fraction, default=defaults.categorical_comparison_threshold
    )
    parser.add_argument(
        "--categorical-method", choices=CATEGORICAL_METHODS, default=defaults.categorical_drift_method
    )
    parser.add_argument("--completeness-threshold", type=fraction, default=defaults.completeness_threshold)


def config_from(args: argparse.Namespace) -> MonitoringConfig:
    return MonitoringConfig(
        comparison_threshold=args.comparison_threshold,
        comparison_method=args.comparison_method,
        categorical_comparison_threshold=args.categorical_threshold,
        categorical_drift_method=args.categorical_method,
        completeness_threshold=args.completeness_threshold,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_threshold_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    train = contract.host_path(contract.Baseline.TRAIN)
    schema = contract.host_path(contract.Baseline.SCHEMA) / contract.Preprocess.SCHEMA_FILE
    out_dir = contract.host_path(contract.Baseline.BASELINE)
    try:
        source = sources.open_source(Storage(), str(train), schema_file=str(schema), header=False)
        baseline = engine.build_baseline(source, config_from(args))
    except (DriftInputError, FileNotFoundError) as err:
        raise job.JobInputError(str(err)) from err
    job.write_all_or_nothing({Path(out_dir) / name: text for name, text in baseline.outputs().items()})
    log.info(
        "baseline of %d rows, %d features written to %s",
        baseline.statistics.item_count,
        len(baseline.features),
        out_dir,
    )


if __name__ == "__main__":
    raise SystemExit(job.run(main))
