"""Baseline step: the training split in, Model Monitor's statistics.json and constraints.json out.

Runs in the project's image as ``python3 -m processing_scripts.baseline`` with the thresholds the
monitoring job will apply (they are written into constraints.json's ``monitoring_config``); its
options are the drift config's flagged fields (:mod:`processing_scripts.drift.config`). Reads the
headerless train split, names its columns from the preprocess ``schema.json`` (label first, then the
features) and leaves the label out: the endpoint never receives it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from processing_scripts import contract, job
from processing_scripts.drift import config, engine, sources
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    config.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    train = contract.host_path(contract.Baseline.TRAIN)
    schema = contract.host_path(contract.Baseline.SCHEMA) / contract.Preprocess.SCHEMA_FILE
    out_dir = contract.host_path(contract.Baseline.BASELINE)
    try:
        source = sources.open_source(Storage(), str(train), schema_file=str(schema), header=False)
        baseline = engine.build_baseline(source, config.MonitoringConfig().with_arguments(vars(args)))
    except (DriftInputError, FileNotFoundError) as err:
        raise job.JobInputError(str(err)) from err
    job.write_all_or_nothing({Path(out_dir) / name: text for name, text in baseline.outputs().items()})
    log.info(
        "baseline of %d rows, %d features written to %s",
        baseline.statistics.item_count,
        len(baseline.features),
        out_dir,
    )
    if (left_out := baseline.left_out()) is not None:
        log.warning("%s", left_out)


if __name__ == "__main__":
    job.exit_with(main)
