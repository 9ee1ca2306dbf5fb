"""Raw abalone CSV in; XGBoost-ready train/validation/test splits and their schema out.

Run inside the project's image as ``python3 -m processing_scripts.preprocess --split-ratios
0.8,0.1,0.1 --seed 42`` (paths from :mod:`processing_scripts.contract`; set ``OPT_ML_DIR`` to run it
on a laptop). Decisions, each made so the model and the monitor see the same data:

* The input is every file under ``Preprocess.RAW`` (several shards or one file alike). Each must be
  a UTF-8 CSV with a header naming :data:`dataset.RAW_COLUMNS`; case, spaces and underscores in the
  names do not matter, column order does not matter, extra columns are ignored with a warning.
* A missing column, a value of the wrong type, an unknown category or a column with no values at
  all is an error naming the file, line and column: such data means the export is broken, and
  guessing would train on garbage.
* Rows with an empty label are dropped and counted (nothing to learn from). Rows with an empty
  feature are dropped and counted too, rather than imputed: the endpoint rejects rows with missing
  values, and the drift baseline should describe exactly what the model was trained on.
* Exact duplicate rows are dropped and counted: with a random split a duplicate could land in train
  and test and flatter the evaluation. (Duplicates across shards on different instances are not
  seen; each instance only reads its own shard.)
* ``sex`` is one-hot encoded in :data:`dataset.CATEGORIES` order.
* The split is a seeded shuffle, so the same input and seed give the same files byte for byte.

Outputs are headerless CSV, label first, named ``part-<host>.csv`` so parallel instances writing to
one S3 prefix never overwrite each other, and ``schema.json``, which also records the data snapshot
(``--data-snapshot``, the pipeline's DataSnapshot parameter) the splits were made from. With
``--input-data-url`` (the pipeline's InputDataUrl) it also writes ``data-version-<host>.json``: the
S3 version id and sha256 of every object this instance read (:mod:`processing_scripts.data_version`).
Nothing is written unless everything succeeded.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from processing_scripts import contract, data_version, dataset, job
from processing_scripts.aws_clients import AwsClients, AwsTarget
from processing_scripts.job import JobInputError
from processing_scripts.split_schema import SplitSchema
from processing_scripts.tabular_io import LINE, find_input_files, list_input_files, read_csv, to_numbers

log = logging.getLogger("processing_scripts.preprocess")

SOURCE = "__source__"  # column holding the file a row came from, for messages
SPLIT_DIRS = {
    "train": contract.Preprocess.TRAIN,
    "validation": contract.Preprocess.VALIDATION,
    "test": contract.Preprocess.TEST,
}
# The pipeline always passes settings.processing.split_ratios/split_seed; these defaults equal them
# (a test checks) so a local run without arguments behaves like the pipeline.
DEFAULT_SPLIT_RATIOS = (0.8, 0.1, 0.1)
DEFAULT_SEED = 42
UNSPECIFIED_SNAPSHOT = "unspecified"  # a run outside the pipeline did not say which data it read


def split_ratios(text: str) -> tuple[float, float, float]:
    """Parse ``--split-ratios``: three positive numbers (train, validation, test) that sum to 1."""
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not three comma-separated numbers") from err
    if len(ratios) != 3 or not all(0 < r < 1 for r in ratios) or not np.isclose(sum(ratios), 1.0):
        raise argparse.ArgumentTypeError(
            f"{text!r}: need three numbers between 0 and 1 that sum to 1 (train,validation,test), e.g. 0.8,0.1,0.1"
        )
    train, validation, test = ratios
    return train, validation, test


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m processing_scripts.preprocess", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--split-ratios",
        type=split_ratios,
        default=DEFAULT_SPLIT_RATIOS,
        help="train,validation,test fractions (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="shuffle seed (default: %(default)s)")
    parser.add_argument(
        "--data-snapshot",
        default=UNSPECIFIED_SNAPSHOT,
        help="version of the raw data (the pipeline's DataSnapshot parameter); recorded in schema.json "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--input-data-url",
        default="",
        help="S3 URI the raw input was downloaded from (the pipeline's InputDataUrl); records each "
        "object's version id and sha256 in data-version-<host>.json (default: not recorded)",
    )
    return parser.parse_args(argv)


def normalize_column_name(name: str) -> str:
    """``' Whole_Weight '`` -> ``'whole weight'``: how raw headers are matched to the schema."""
    return re.sub(r"[\s_]+", " ", name).strip().lower()


def _select_schema_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rename the file's header to the schema's names, in schema order; refuse missing columns."""
    by_normal: dict[str, str] = {}
    for name in frame.columns.drop(LINE):
        normal = normalize_column_name(name)
        if normal in by_normal:
            raise JobInputError(f"{path}: columns {by_normal[normal]!r} and {name!r} are the same column")
        by_normal[normal] = name
    expected = list(dataset.RAW_COLUMNS)
    missing = [column for column in expected if column not in by_normal]
    if missing:
        hint = (
            "the first line must be a header row naming the columns"
            if len(missing) == len(expected)
            else "case, spaces and underscores in names do not matter"
        )
        raise JobInputError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(expected)} "
            f"({hint}); found {', '.join(map(repr, by_normal.values()))}"
        )
    extra = [original for normal, original in by_normal.items() if normal not in dataset.RAW_COLUMNS]
    if extra:
        log.warning("%s: ignoring extra column(s) %s", path, ", ".join(map(repr, extra)))
    selected = frame[[by_normal[column] for column in expected] + [LINE]]
    selected.columns = [*expected, LINE]
    return selected


def _typed_column(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """One raw column parsed as its schema type; the first bad cell is an error naming its line."""
    kind = dataset.RAW_COLUMNS[column]
    if kind == "category":
        allowed = dataset.CATEGORIES[column]
        unknown = frame[column].notna() & ~frame[column].isin(allowed)
        if unknown.any():
            row = unknown.idxmax()
            raise JobInputError(
                f"{path}: line {frame.at[row, LINE]}, column '{column}': unknown category "
                f"{frame.at[row, column]!r}; allowed: {', '.join(allowed)}"
            )
        return frame[column]
    return to_numbers(frame, column, path=path, integer=kind == "int")


def read_raw_file(path: Path) -> pd.DataFrame:
    """One raw file, validated against the schema and typed, with LINE and SOURCE columns."""
    frame = _select_schema_columns(read_csv(path, header=True), path)
    if frame.empty:
        raise JobInputError(f"{path}: has a header but no data rows")
    for column in dataset.RAW_COLUMNS:
        if frame[column].isna().all():
            raise JobInputError(f"{path}: column '{column}' has no values in any of its {len(frame)} rows")
    typed = pd.DataFrame({column: _typed_column(frame, column, path) for column in dataset.RAW_COLUMNS})
    _check_labels(typed, frame[LINE], path)
    typed[LINE] = frame[LINE]
    typed[SOURCE] = str(path)
    log.info("read %d rows from %s", len(typed), path)
    return typed


def _check_labels(typed: pd.DataFrame, lines: pd.Series, path: Path) -> None:
    """A binary-classification label must already be 0 or 1: the XGBoost objective requires it."""
    if dataset.PROBLEM_TYPE != "binary_classification":
        return
    labels = typed[dataset.TARGET]
    bad = labels.notna() & ~labels.isin((0, 1))
    if bad.any():
        row = bad.idxmax()
        raise JobInputError(
            f"{path}: line {lines[row]}, column '{dataset.TARGET}': {labels[row]:g} is not 0 or 1, "
            "which a binary_classification label must be"
        )


def clean(data: pd.DataFrame) -> pd.DataFrame:
    """Drop rows without a label, rows with a missing feature and exact duplicates; log each count."""
    features = [column for column in dataset.RAW_COLUMNS if column != dataset.TARGET]
    no_label = data[dataset.TARGET].isna()
    if no_label.any():
        log.warning(
            "dropped %d row(s) with no '%s' value: %s", no_label.sum(), dataset.TARGET, _where(data[no_label])
        )
    data = data[~no_label]
    incomplete = data[features].isna()
    if incomplete.any().any():
        per_column = ", ".join(f"{column}: {count}" for column, count in incomplete.sum().items() if count)
        log.warning(
            "dropped %d row(s) with missing feature values (%s): %s",
            incomplete.any(axis=1).sum(),
            per_column,
            _where(data[incomplete.any(axis=1)]),
        )
    data = data[~incomplete.any(axis=1)]
    duplicate = data.duplicated(subset=list(dataset.RAW_COLUMNS))
    if duplicate.any():
        log.warning("dropped %d exact duplicate row(s): %s", duplicate.sum(), _where(data[duplicate]))
    return data[~duplicate].reset_index(drop=True)


def _where(rows: pd.DataFrame, limit: int = 5) -> str:
    """``file line 3, file line 9, ... (and N more)`` for log lines that point at the data."""
    shown = [f"{source} line {line}" for source, line in zip(rows[SOURCE], rows[LINE], strict=True)][:limit]
    more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
    return ", ".join(shown) + more


def encode(data: pd.DataFrame) -> pd.DataFrame:
    """The model's columns: label, numeric features, then one 0/1 column per category value."""
    columns: dict[str, pd.Series] = {}
    label_kind = dataset.RAW_COLUMNS[dataset.TARGET]
    columns[dataset.TARGET] = data[dataset.TARGET].astype("int64" if label_kind == "int" else "float64")
    for column, kind in dataset.RAW_COLUMNS.items():
        if column != dataset.TARGET and kind != "category":
            columns[column] = data[column].astype("float64")
    for column, values in dataset.CATEGORIES.items():
        for value in values:
            columns[f"{column}_{value}"] = (data[column] == value).astype("int64")
    encoded = pd.DataFrame(columns)
    return encoded[SplitSchema.from_dataset().columns]


def split(
    data: pd.DataFrame, ratios: Sequence[float], seed: int, source: object = "the input"
) -> dict[str, pd.DataFrame]:
    """Shuffle with ``seed`` and cut at the cumulative ratios; every split must get at least one row
    (``source`` names where the rows came from in the refusal)."""
    order = np.random.default_rng(seed).permutation(len(data))
    cuts = np.round(np.cumsum(ratios)[:-1] * len(data)).astype(int)
    parts = dict(zip(SPLIT_DIRS, np.split(order, cuts), strict=True))
    empty = [name for name, rows in parts.items() if len(rows) == 0]
    if empty:
        raise JobInputError(
            f"only {len(data)} usable row(s) in {source}: too few to give the {', '.join(empty)} split(s) any rows "
            f"with ratios {','.join(map(str, ratios))}"
        )
    return {name: data.iloc[rows] for name, rows in parts.items()}


def to_csv_text(frame: pd.DataFrame) -> str:
    """Headerless CSV, as the built-in XGBoost algorithm reads it (label in the first column)."""
    return frame.to_csv(index=False, header=False, lineterminator="\n")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    raw_dir = contract.host_path(contract.Preprocess.RAW)
    instances = job.cluster()
    if len(instances.hosts) > 1 and not find_input_files(raw_dir):
        # ShardedByS3Key hands out whole objects: with more instances than files some get none.
        log.warning(
            "%s received no input shard (%d instances share the input); nothing to do on this instance",
            instances.current_host,
            len(instances.hosts),
        )
        return
    files = list_input_files(raw_dir)
    log.info("found %d input file(s) under %s (data snapshot %s)", len(files), raw_dir, args.data_snapshot)
    raw = pd.concat([read_raw_file(path) for path in files], ignore_index=True)
    data = clean(raw)
    if data.empty:
        raise JobInputError(
            f"no usable rows in {raw_dir}: all {len(raw)} rows were dropped (see warnings above)"
        )
    splits = split(encode(data), args.split_ratios, args.seed, raw_dir)
    log.info(
        "kept %d of %d rows; split with seed %d: %s",
        len(data),
        len(raw),
        args.seed,
        ", ".join(f"{name} {len(frame)}" for name, frame in splits.items()),
    )
    file_name = f"part-{instances.current_host}.csv"
    outputs: dict[Path, str] = {
        contract.host_path(SPLIT_DIRS[name]) / file_name: to_csv_text(frame) for name, frame in splits.items()
    }
    schema_path = contract.host_path(contract.Preprocess.SCHEMA) / contract.Preprocess.SCHEMA_FILE
    outputs[schema_path] = SplitSchema.from_dataset(data_snapshot=args.data_snapshot).to_json()
    if args.input_data_url:
        s3 = AwsClients(AwsTarget.from_env()).s3
        objects = data_version.read_objects(s3, args.input_data_url, raw_dir, files)
        name = contract.Preprocess.DATA_VERSION_FILE.format(host=instances.current_host)
        outputs[schema_path.with_name(name)] = data_version.manifest_json(objects, instances.current_host)
        log.info("data version: %d object(s), sha256 %s", len(objects), data_version.combined_sha256(objects))
    else:
        log.warning("no --input-data-url: the objects' versions and hashes are not recorded")
    job.write_all_or_nothing(outputs)


if __name__ == "__main__":
    job.exit_with(main)
