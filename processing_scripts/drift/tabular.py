"""Reading CSV and Parquet datasets as a stream of pyarrow record batches with known column names.

Why: datasets arrive with a header, without one (the preprocess splits: label first, then the
features, names in ``schema.json``) or as Parquet. This module turns each into batches whose columns
carry the feature names, reads only the columns asked for, parses in pyarrow's threads, and never
holds a whole file: memory stays at a few blocks however large the input.

Rows whose number of values differs from the header (or from the declared names) are skipped and
counted by their value count, never silently dropped: the caller reports them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.profile import NUMBER_PATTERN

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Empty fields and the usual spellings of "no value" are nulls.
NULL_VALUES = ["", "NULL", "null", "NaN", "nan", "NA", "N/A"]
# Bytes per CSV block. Measured with pyarrow 25: with 8 MB blocks the streaming reader's Arrow
# allocations grew with the file (63 MB at 1M rows, 261 MB at 5M); with 1 MB they stay at ~38 MB.
BLOCK_SIZE = 1 << 20
PARQUET_BATCH_ROWS = 256_000


def file_kind(name: str) -> str | None:
    """``csv``, ``parquet``, ``capture`` (JSON Lines) or None, from the file name."""
    lower = name.lower()
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith((".jsonl", ".jsonl.gz", ".json")):
        return "capture"
    return None


@dataclass
class RowCountIssues:
    """Rows skipped because they had a different number of values than there are columns."""

    expected: int = 0
    by_count: Counter[int] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    # Lines a quote opened and never closed ran together into one row: none of them can be split
    # back into values, so each is counted here rather than as one row of odd length.
    in_open_quote: int = 0

    def record(self, values: int, where: str) -> None:
        self.by_count[values] += 1
        self._example(where)

    def record_open_quote(self, lines: int, where: str) -> None:
        self.in_open_quote += lines
        self._example(f"{where}: a quote opened here is never closed ({lines} lines run together)")

    def _example(self, where: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(where)

    @property
    def total(self) -> int:
        return sum(self.by_count.values()) + self.in_open_quote

    def merge(self, other: RowCountIssues) -> None:
        self.by_count.update(other.by_count)
        self.in_open_quote += other.in_open_quote
        self.examples += other.examples[: max(0, 5 - len(self.examples))]


@dataclass
class ReadStats:
    """What reading found: files, records, rows used, and everything that could not be used."""

    files: int = 0
    records: int = 0  # capture: request lines seen; tables: data rows seen
    rows: int = 0  # feature rows decoded and profiled
    malformed: Counter[str] = field(default_factory=Counter)  # reason -> lines
    examples: list[str] = field(default_factory=list)
    column_issues: RowCountIssues = field(default_factory=RowCountIssues)
    unknown_fields: Counter[str] = field(default_factory=Counter)  # JSON payload keys not in the baseline
    content_types: Counter[str] = field(default_factory=Counter)

    @property
    def malformed_lines(self) -> int:
        return sum(self.malformed.values())

    def bad(self, reason: str, where: str, count: int = 1) -> None:
        self.malformed[reason] += count
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {reason}")

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "capture_records": self.records,
            "rows": self.rows,
            "malformed_lines": self.malformed_lines,
            "malformed_by_reason": dict(self.malformed),
            "malformed_examples": self.examples,
            "rows_with_wrong_value_count": sum(self.column_issues.by_count.values()),
            "wrong_value_counts": {str(k): v for k, v in sorted(self.column_issues.by_count.items())},
            "rows_in_unterminated_quotes": self.column_issues.in_open_quote,
            "row_examples": self.column_issues.examples,
            "content_types": dict(self.content_types),
        }


_WIDE_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\x00\x00\xfe\xff": "UTF-32"}
_SCAN_BYTES = 1 << 20


def check_text(path: Path, label: str) -> None:
    """Refuse a CSV that is not UTF-8 text, naming the line, before pyarrow reads it.

    pyarrow reads a NUL byte or a UTF-16 file as (odd) text, so numeric features silently became
    strings, and a Latin-1 byte surfaced as a traceback deep in profiling. One pass over the
    (decompressed) bytes in C (an incremental UTF-8 decode and ``find``) costs far less than the parse.
    """
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            _check_chunks(stream, label)
    except OSError as err:  # a truncated or corrupt .gz
        raise DriftInputError(f"{label}: cannot read: {_first_line(err)}") from err


def _check_chunks(stream: pa.NativeFile, label: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, offset = 1, 0
    while chunk := stream.read(_SCAN_BYTES):
        if offset == 0:
            wide = next((name for bom, name in _WIDE_BOMS.items() if chunk.startswith(bom)), None)
            if wide is not None:
                raise DriftInputError(f"{label}: a {wide} file (byte-order mark); save it as UTF-8 CSV")
        nul = chunk.find(b"\0")
        try:
            decoder.decode(chunk if nul < 0 else chunk[:nul])
        except UnicodeDecodeError as err:
            where = line + chunk.count(b"\n", 0, err.start)
            raise DriftInputError(
                f"{label} line {where}: byte 0x{err.object[err.start]:02x} is not UTF-8; save it as UTF-8"
            ) from err
        if nul >= 0:
            where = line + chunk.count(b"\n", 0, nul)
            raise DriftInputError(f"{label} line {where}: a NUL byte; a CSV file is text without NUL bytes")
        line += chunk.count(b"\n")
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as err:
        raise DriftInputError(f"{label} line {line}: the file ends inside a UTF-8 character") from err


def read_header(path: Path) -> list[str]:
    """The first line's fields (handles quoting and gzip)."""
    opener = pa.input_stream(str(path), compression="detect")
    with opener as stream:
        head = stream.read(1 << 16).decode("utf-8", errors="replace")
    first = head.splitlines()[0] if head else ""
    return next(csv.reader(io.StringIO(first)), [])


def looks_like_header(fields: list[str], expected: list[str] | None = None) -> bool:
    """A header names expected features, or (with no expectation) has no numbers and no blanks."""
    if expected is not None and set(fields) & set(expected):
        return True
    number = re.compile(NUMBER_PATTERN)
    return bool(fields) and all(f.strip() and not number.match(f) for f in fields)


def iter_csv(
    path: Path,
    *,
    column_names: list[str] | None,
    include: list[str],
    column_types: dict[str, pa.DataType] | None,
    issues: RowCountIssues,
    label: str,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of the ``include`` columns of a CSV. ``column_names`` None means the file has a
    header; otherwise the names of its columns in order. ``label`` names the file in messages."""

    def skip(row: pacsv.InvalidRow) -> str:
        # pyarrow knows the row's number only when reading single-threaded; its text names it always.
        where = f"{label} row {row.number}" if row.number and row.number > 0 else label
        where += f" ({row.text.splitlines()[0][:40]!r}...)" if row.text else ""
        lines = row.text.splitlines()
        if len(lines) > 1:  # rows are the non-empty lines, as pyarrow counts them outside quotes
            issues.record_open_quote(sum(1 for line in lines if line), where)
        else:
            issues.record(row.actual_columns, where)
        return "skip"

    read = pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=True, column_names=column_names)
    parse = pacsv.ParseOptions(invalid_row_handler=skip, delimiter="\t" if label.endswith(".tsv") else ",")
    convert = pacsv.ConvertOptions(
        include_columns=include,
        column_types=column_types or {},
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    # Progress is measured in the stored (compressed) bytes: a decompressing stream cannot tell().
    stored = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(stored, "gzip") if str(path).endswith(".gz") else stored
    try:
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            if on_bytes is not None:
                on_bytes(stored.tell())
            yield batch
    except pa.ArrowInvalid as err:
        if "conversion error" in str(err).lower():
            raise TypeConversionError(label, str(err)) from err
        raise DriftInputError(f"{label}: cannot parse as CSV: {_first_line(err)}") from err
    except OSError as err:  # a truncated or corrupt .gz
        raise DriftInputError(f"{label}: cannot read: {_first_line(err)}") from err
    finally:
        stream.close()


def iter_parquet(
    path: Path, *, include: list[str], label: str, on_bytes: Callable[[int], None] | None = None
) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as err:
        raise DriftInputError(f"{label}: not a readable Parquet file: {_first_line(err)}") from err
    groups = parquet.metadata.num_row_groups or 1
    for number, batch in enumerate(
        parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=include, use_threads=True)
    ):
        if on_bytes is not None:
            on_bytes(int(path.stat().st_size * min(1.0, (number + 1) / groups)))
        yield batch


def parquet_columns(path: Path, label: str) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(str(path)).names)
    except (pa.ArrowInvalid, OSError) as err:
        raise DriftInputError(f"{label}: not a readable Parquet file: {_first_line(err)}") from err


class TypeConversionError(Exception):
    """A value did not parse as the declared column type; the caller re-reads the file as text."""

    def __init__(self, label: str, detail: str) -> None:
        super().__init__(f"{label}: {_first_line(detail)}")


def _first_line(err: object) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
