"""Reading CSV inputs so that every problem is reported as file, line and column.

pandas' own errors say neither which file nor which column is wrong, and a binary file or an empty
one makes it fail in puzzling ways. Everything here raises :class:`~processing_scripts.job.JobInputError`
with a message a person can act on. Frames come back with every cell as a stripped string (or NA)
plus a ``LINE`` column holding the 1-based line number in the file, so later checks can point at
the exact row too.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from processing_scripts.job import JobInputError

log = logging.getLogger(__name__)

LINE = "__line__"  # column added to every frame read here: the row's line number in its file
_SNIFF_BYTES = 8192


def find_input_files(directory: Path) -> list[Path]:
    """Every file under ``directory`` (recursively, as SageMaker lays out S3 keys), sorted; [] if none.

    Hidden files and folders (``.something``) are skipped: they are tool leftovers, never data.
    """
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


def list_input_files(directory: Path) -> list[Path]:
    """:func:`find_input_files`, refusing a missing or empty folder."""
    if not directory.is_dir():
        raise JobInputError(f"input folder {directory} does not exist; nothing was mapped to it")
    files = find_input_files(directory)
    if not files:
        raise JobInputError(f"input folder {directory} has no files; expected one or more CSV files")
    return files


def read_text(path: Path) -> str:
    """The file's text, refusing empty, binary and non-UTF-8 files with a message that says so."""
    data = path.read_bytes()
    if not data.strip():
        raise JobInputError(f"{path}: the file is empty")
    if b"\0" in data[:_SNIFF_BYTES]:
        raise JobInputError(f"{path}: this is a binary file, not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise JobInputError(f"{path}: line {line} is not UTF-8 text; save the file as UTF-8 CSV") from err


def read_csv(path: Path, *, header: bool) -> pd.DataFrame:
    """Parse a CSV file into stripped strings (NA for empty cells) plus the :data:`LINE` column.

    Blank lines are dropped but still counted, so :data:`LINE` matches what an editor shows. A line
    with delimiters but no value in any cell (``,,,,``) is a row with nothing in it: dropped too, and
    logged with its count and lines, never silently.
    """
    text = read_text(path)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=0 if header else None,
            dtype=str,
            # Only empty cells are missing: pandas would also read "None", "NA", "null", ... as
            # missing and drop such rows silently, where they deserve a named error.
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, csv.Error) as err:
        raise JobInputError(f"{path}: not a well-formed CSV file ({_first_line(err)})") from err
    except pd.errors.EmptyDataError as err:
        raise JobInputError(f"{path}: the file has no columns") from err
    frame.columns = [str(name) for name in frame.columns]
    frame = frame.apply(lambda column: column.str.strip()).replace("", pd.NA)
    frame[LINE] = np.arange(len(frame)) + (2 if header else 1)
    blank = frame.drop(columns=LINE).isna().all(axis=1)
    lines = text.splitlines()
    empty_rows = [n for n in frame.loc[blank, LINE].tolist() if n <= len(lines) and lines[n - 1].strip()]
    if empty_rows:
        shown = ", ".join(map(str, empty_rows[:5])) + (", ..." if len(empty_rows) > 5 else "")
        log.warning(
            "dropped %d row(s) with no value in any cell: %s line(s) %s", len(empty_rows), path, shown
        )
    return frame.loc[~blank].reset_index(drop=True)


MAX_EXACT_INTEGER = 2**53 - 1
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the largest value XGBoost (float32 inside) can take


def to_numbers(frame: pd.DataFrame, column: str, *, path: Path, integer: bool = False) -> pd.Series:
    """``frame[column]`` as float64 (NA stays NaN); the first cell that is no number is an error."""
    values = frame[column]
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = values.notna() & ~np.isfinite(numbers)
    if bad.any():
        row = bad.idxmax()
        raise JobInputError(
            f"{path}: line {frame.at[row, LINE]}, column '{column}': {values[row]!r} is not a finite number"
        )
    if integer:
        fractional = numbers.notna() & (numbers != np.round(numbers))
        if fractional.any():
            row = fractional.idxmax()
            raise JobInputError(
                f"{path}: line {frame.at[row, LINE]}, column '{column}': {values[row]!r} is not a whole number"
            )
        # Beyond 2**53 a float64 no longer holds every whole number, and past 2**63 the int64 cast
        # wraps (1e19 became -9223372036854775808): refuse rather than train on a different label.
        huge = numbers.abs() > MAX_EXACT_INTEGER
        if huge.any():
            row = huge.idxmax()
            raise JobInputError(
                f"{path}: line {frame.at[row, LINE]}, column '{column}': {values[row]!r} is beyond "
                f"±{MAX_EXACT_INTEGER}, the largest whole number stored exactly"
            )
    return numbers


def read_numeric_table(directory: Path, columns: Sequence[str]) -> pd.DataFrame:
    """All headerless CSV files under ``directory`` as one float frame with the given columns.

    This is how the scripts read the splits that preprocessing wrote (label first, no header, no
    missing values), possibly several ``part-<host>.csv`` files from parallel instances.
    """
    parts = []
    for path in list_input_files(directory):
        frame = read_csv(path, header=False)
        width = frame.shape[1] - 1  # without LINE
        if width != len(columns):
            raise JobInputError(
                f"{path}: has {width} columns, expected {len(columns)} ({', '.join(columns)}); "
                "was it written by the preprocessing step for this schema?"
            )
        frame.columns = [*columns, LINE]
        numbers = pd.DataFrame({name: to_numbers(frame, name, path=path) for name in columns})
        missing = numbers.isna()
        if missing.any().any():
            row, column = missing.stack().idxmax()
            raise JobInputError(f"{path}: line {frame.at[row, LINE]}, column '{column}' is empty")
        beyond = numbers.abs() > FLOAT32_MAX
        if beyond.any().any():  # finite here, but inf in XGBoost, which refused it with a C++ trace
            row, column = beyond.stack().idxmax()
            raise JobInputError(
                f"{path}: line {frame.at[row, LINE]}, column '{column}': {frame.at[row, column]!r} is "
                "outside float32, the range the model computes in"
            )
        log.info("read %d rows from %s", len(numbers), path)
        parts.append(numbers)
    return pd.concat(parts, ignore_index=True)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
