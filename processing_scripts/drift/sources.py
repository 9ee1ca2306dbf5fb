"""What the user pointed at (a file, a folder, an S3 prefix) turned into a stream of named batches.

One place decides whether the input is a table (CSV/Parquet, with a header, without one, or named by
the preprocess ``schema.json``) or capture of a time window: endpoint capture (JSON Lines) or the
records batch transform capture names (:mod:`processing_scripts.drift.batch_capture`),
so the baseline and the check read data the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from processing_scripts.drift import tabular
from processing_scripts.drift.batch_capture import list_batch_inputs
from processing_scripts.drift.capture import CaptureDecoder, Labels, TimeWindow, list_capture_files
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import parse_json
from processing_scripts.drift.storage import Storage, StoredFile
from processing_scripts.drift.tabular import ReadStats, file_kind

Progress = Callable[[int, int], None]  # (done, total) in bytes
ALL_TEXT = "text"  # column_types value: read every column as text (type inference)


@dataclass
class Source:
    """Files of one kind (``csv``, ``parquet`` or ``capture``) and how to name their columns."""

    storage: Storage
    uri: str
    kind: str
    files: list[StoredFile]
    column_names: list[str] | None = None  # declared names of headerless CSV columns, in order
    exclude: tuple[str, ...] = ()  # columns never profiled (the label)
    header: bool | None = None  # None: detect per file
    window: TimeWindow | None = None
    stats: ReadStats = field(default_factory=ReadStats)
    seen_columns: set[str] = field(default_factory=set)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def open_source(
    storage: Storage,
    uri: str,
    *,
    window: TimeWindow | None = None,
    schema_file: str | None = None,
    header: bool | None = None,
) -> Source:
    """Classify ``uri``'s files; raise :class:`DriftInputError` naming what is wrong."""
    names, exclude = read_schema(storage, schema_file) if schema_file else (None, ())
    if window is not None:
        if file_kind(uri) in ("csv", "parquet"):
            raise DriftInputError(f"a time window selects endpoint capture (JSON Lines); {uri} is a table")
        files = list_capture_files(storage, uri, window)
        scored = list_batch_inputs(storage, uri, window)
        if files and scored:
            raise DriftInputError(
                f"{uri} holds both endpoint capture and batch transform capture in the window; "
                "give the endpoint and the batch scoring different capture folders"
            )
        if scored:  # batch transform capture: the scored CSV, headerless, features by position
            return Source(storage, uri, "csv", scored, header=False, window=window)
        return Source(storage, uri, "capture", files, window=window)
    files = storage.list_files(uri)
    if not files:
        raise DriftInputError(f"nothing found at {uri}: check the path, or the bucket and prefix")
    kinds = {kind for f in files if (kind := file_kind(f.name)) is not None}
    if not kinds:
        raise DriftInputError(
            f"{uri} holds no .csv, .parquet or .jsonl files ({len(files)} files of other types)"
        )
    if len(kinds) > 1:
        raise DriftInputError(f"{uri} mixes {' and '.join(sorted(kinds))} files; point at one kind")
    kind = kinds.pop()
    files = [f for f in files if file_kind(f.name) == kind]
    return Source(storage, uri, kind, files, column_names=names, exclude=exclude, header=header)


def read_schema(storage: Storage, uri: str) -> tuple[list[str], tuple[str, ...]]:
    """The preprocess ``schema.json``: headerless columns are the label, then the features."""
    try:
        raw = storage.read_bytes(uri)
    except IsADirectoryError as err:
        raise DriftInputError(f"{uri} is a folder; expected the preprocess schema.json file") from err
    doc = parse_json(raw, uri)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise DriftInputError(
            f"{uri}: expected {{'label': ..., 'features': [names...]}} (preprocess schema.json)"
        )
    label = doc.get("label")
    if label:
        return [str(label), *features], (str(label),)
    return list(features), ()


def table_batches(
    source: Source,
    wanted: list[str] | None,
    column_types: dict[str, pa.DataType] | str | None,
    progress: Progress | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of a CSV/Parquet source. ``wanted`` None reads every column but the excluded ones
    (a baseline); otherwise only the named ones (a check), positional files named in that order.
    ``column_types`` None lets pyarrow infer types; :data:`ALL_TEXT` reads every column as text."""
    done = 0
    total = source.total_bytes
    for file in source.files:
        with source.storage.local_copy(file) as path:
            if source.kind == "csv":
                tabular.check_text(path, file.uri)
            names, available = _column_names(source, path, wanted, file.uri)
            source.seen_columns.update(available)
            include = [c for c in available if c not in source.exclude and (wanted is None or c in wanted)]
            if not include:
                continue
            if isinstance(column_types, str):  # ALL_TEXT
                types = {name: pa.string() for name in include}
            else:
                types = {k: v for k, v in (column_types or {}).items() if k in include}

            def report(position: int, base: int = done) -> None:
                if progress is not None:
                    progress(base + position, total)

            if source.kind == "parquet":
                batches = tabular.iter_parquet(path, include=include, label=file.uri, on_bytes=report)
            else:
                source.stats.column_issues.expected = len(available)
                batches = tabular.iter_csv(
                    path,
                    column_names=names,
                    include=include,
                    column_types=types,
                    issues=source.stats.column_issues,
                    label=file.uri,
                    on_bytes=report,
                )
            for batch in batches:
                source.stats.rows += batch.num_rows
                yield batch
        source.stats.files += 1
        done += file.size
    source.stats.records = source.stats.rows + source.stats.column_issues.total


def _column_names(
    source: Source, path: Path, wanted: list[str] | None, label: str
) -> tuple[list[str] | None, list[str]]:
    """(names to give pyarrow, or None when the file's header names the columns; all column names)."""
    if source.kind == "parquet":
        return None, tabular.parquet_columns(path, label)
    first = tabular.read_header(path)
    expected = source.column_names or wanted
    has_header = source.header if source.header is not None else tabular.looks_like_header(first, expected)
    if has_header:
        return None, first
    if source.column_names is not None:
        return source.column_names, source.column_names
    if wanted is not None:
        return wanted, wanted  # headerless: the baseline's features by position
    positional = [f"_c{i}" for i in range(len(first))]  # Spark's names for headerless columns
    return positional, positional


def capture_batches(
    source: Source,
    features: list[str],
    column_types: dict[str, pa.DataType],
    predictions: Labels | None,
    progress: Progress | None = None,
) -> Iterator[pa.RecordBatch]:
    decoder = CaptureDecoder(features, column_types, source.stats, predictions)
    done = 0
    for file, raw in source.storage.fetch_in_order(source.files):
        for table in decoder.decode(raw, file.uri):
            source.seen_columns.update(table.column_names)
            yield from table.to_batches()
        done += file.size
        if progress is not None:
            progress(done, source.total_bytes)
