"""Endpoint data capture: finding the JSON Lines files of a time window and decoding their payloads.

SageMaker writes one JSON object per request under
``<capture prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "0.45,0.36,...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "9.8", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "..."},
     "eventVersion": "0"}

Decoding is columnar: a file is parsed by pyarrow's JSON reader in one call, CSV payloads of all
requests are joined and parsed by pyarrow's CSV reader in one call, features mapped by position to
the baseline's feature order (capture CSV has no header). A payload that could leak into the next
one (an unterminated quote) or that holds no row is counted alone before the join, and the join's
row count is verified against the payloads' lines; on any mismatch every payload is parsed on its
own, so one bad request never swallows the requests after it. Only when a file holds a line that is not
valid JSON does it fall back to reading that file line by line, so every malformed line is counted
with its file and line number instead of failing the file or vanishing. JSON payloads and base64
decoding are per request (not per row). Rows with the wrong number of values are counted by their
value count (reported as missing/extra column violations) and left out of the statistics, because
by position one cannot tell which value is missing.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage, StoredFile, join
from processing_scripts.drift.tabular import NULL_VALUES, ReadStats, RowCountIssues

ENCODINGS = ("CSV", "JSON", "BASE64")
_PAYLOAD = pa.struct(
    [
        ("observedContentType", pa.string()),
        ("mode", pa.string()),
        ("data", pa.string()),
        ("encoding", pa.string()),
    ]
)
CAPTURE_SCHEMA = pa.schema(
    [
        ("captureData", pa.struct([("endpointInput", _PAYLOAD), ("endpointOutput", _PAYLOAD)])),
        (
            "eventMetadata",
            pa.struct(
                [("eventId", pa.string()), ("inferenceId", pa.string()), ("inferenceTime", pa.string())]
            ),
        ),
    ]
)
GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("groundTruthData", _PAYLOAD),
        ("eventMetadata", pa.struct([("eventId", pa.string()), ("inferenceId", pa.string())])),
    ]
)


TOO_DEEP = "JSON nested too deeply to read"
_LINE_BREAK = re.compile(r"\r\n|\n|\r")

# -- what pyarrow's JSON reader may be given ---------------------------------------------------
_NON_OBJECT_LINE = re.compile(rb"^[ \t\r]*[^{ \t\r\n]", re.MULTILINE)


def first_non_object_line(raw: bytes) -> int | None:
    """The number of the first non-blank line that is not a JSON object, or None.

    pyarrow's JSON reader with an explicit schema kills the process (a segmentation fault, seen
    with pyarrow 25.0.1 on a first line ``null``) on a line whose top level is not an object; a
    monitoring job must never die on its input, so such a file is read another way.
    """
    match = _NON_OBJECT_LINE.search(raw)
    return None if match is None else raw.count(b"\n", 0, match.start()) + 1


def decompressed(raw: bytes, label: str, stats: ReadStats) -> bytes | None:
    """A file's bytes, gunzipped when its name ends in ``.gz``; None (counted) when that fails, so
    one corrupt file is a counted reason rather than a failed job."""
    if not label.endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        stats.bad(f"not a readable gzip file ({err})", label)
        return None


# -- the time window ---------------------------------------------------------------------------
MAX_WINDOW_HOURS = 366 * 24
_LAST_END = datetime.max.replace(tzinfo=UTC) - timedelta(hours=2)


@dataclass(frozen=True)
class TimeWindow:
    """[start, end) in UTC; capture files are selected by the hour folder they were written to."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime | str | None, hours: float) -> TimeWindow:
        if not (0 < hours <= MAX_WINDOW_HOURS):  # also refuses NaN and infinity
            raise DriftInputError(
                f"window hours must be more than 0 and at most {MAX_WINDOW_HOURS} (a year of hourly "
                f"capture folders, each one S3 listing), got {hours}"
            )
        end_time = parse_time(end) if isinstance(end, str) else (end or datetime.now(UTC))
        if end_time.tzinfo is None:
            end_time = end_time.replace(tzinfo=UTC)
        end_time = end_time.astimezone(UTC)
        # Hour folders are listed up to the one after the end's hour: both must be datetimes.
        if end_time > _LAST_END:
            raise DriftInputError(f"the window ends at {end_time.isoformat()}, past the year 9999")
        try:
            return cls(start=end_time - timedelta(hours=hours), end=end_time)
        except OverflowError:
            raise DriftInputError(
                f"a window of {hours:g} hours ending at {end_time.isoformat()} starts before year 1"
            ) from None

    def hours(self) -> list[datetime]:
        """Start of every hour folder that overlaps the window."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        found = []
        while hour < self.end:
            found.append(hour)
            hour += timedelta(hours=1)
        return found

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def parse_time(text: str) -> datetime:
    """ISO 8601 (``Z`` accepted); naive times are UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"{text!r} is not an ISO 8601 time such as 2026-01-31T13:00:00Z") from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hour_folder(hour: datetime) -> str:
    return hour.strftime("%Y/%m/%d/%H")


def list_capture_files(storage: Storage, uri: str, window: TimeWindow | None) -> list[StoredFile]:
    """JSON Lines files under ``uri`` (``.../<endpoint>``), limited to the window's hour folders.

    ``uri`` may point at the endpoint (variants below it) or at one variant (years below it). Only
    the window's hour prefixes are listed, so months of retained capture cost nothing to skip.
    """
    if window is None:
        return [f for f in storage.list_files(uri) if f.name.endswith((".jsonl", ".jsonl.gz", ".json"))]
    children = storage.list_dirs(uri)
    variants = [uri] if any(_is_year(c) for c in children) else children
    files: list[StoredFile] = []
    for variant in variants:
        for hour in window.hours():
            found = storage.list_files(join(variant, hour_folder(hour)))
            files += [f for f in found if f.name.endswith((".jsonl", ".jsonl.gz"))]
    return files


def _is_year(location: str) -> bool:
    name = location.rstrip("/").rsplit("/", 1)[-1]
    return len(name) == 4 and name.isdigit()


# -- what reading capture found ----------------------------------------------------------------
@dataclass
class Labels:
    """Values keyed by (event id, row within the request): predictions or ground truth."""

    ids: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    def extend(self, ids: pa.Array, rows: np.ndarray, values: np.ndarray) -> None:
        self.ids += ids.to_pylist()
        self.rows.append(rows)
        self.values.append(values)

    def table(self) -> pa.Table:
        return pa.table(
            {
                "id": pa.array(self.ids, pa.string()),
                "row": np.concatenate(self.rows) if self.rows else np.empty(0, np.int64),
                "value": np.concatenate(self.values) if self.values else np.empty(0),
            }
        )


# -- decoding ----------------------------------------------------------------------------------
@dataclass
class _Records:
    """The fields of a file's capture lines, as arrays (one entry per line that parsed)."""

    data: pa.Array
    encoding: pa.Array
    content_type: pa.Array
    out_data: pa.Array
    out_encoding: pa.Array
    event_id: pa.Array
    line: np.ndarray


class CaptureDecoder:
    """Turns capture files into feature tables (baseline feature names, by position or by name)."""

    def __init__(
        self,
        features: list[str],
        column_types: dict[str, pa.DataType],
        stats: ReadStats,
        predictions: Labels | None = None,
    ) -> None:
        self.features = features
        self.column_types = column_types
        self.stats = stats
        self.predictions = predictions

    def decode(self, raw: bytes, label: str) -> list[pa.Table]:
        self.stats.files += 1
        records = self._records(raw, label)
        if records is None or len(records.data) == 0:
            return []
        records = self._drop_malformed(records, label)
        return self._features(records, label)

    # -- lines -> records ----------------------------------------------------------------------
    def _records(self, stored: bytes, label: str) -> _Records | None:
        raw = decompressed(stored, label, self.stats)
        if raw is None:
            return None
        if first_non_object_line(raw) is not None:  # pyarrow's reader would crash on it
            return self._records_line_by_line(raw, label)
        options = pajson.ParseOptions(explicit_schema=CAPTURE_SCHEMA, unexpected_field_behavior="ignore")
        try:
            table = pajson.read_json(io.BytesIO(raw), parse_options=options)
        except pa.ArrowInvalid:
            return self._records_line_by_line(raw, label)
        self.stats.records += table.num_rows
        capture = table.column("captureData").combine_chunks()
        meta = table.column("eventMetadata").combine_chunks()
        inp, out = capture.field("endpointInput"), capture.field("endpointOutput")
        lines = _line_numbers(raw, table.num_rows)
        return _Records(
            data=inp.field("data"),
            encoding=inp.field("encoding"),
            content_type=inp.field("observedContentType"),
            out_data=out.field("data"),
            out_encoding=out.field("encoding"),
            event_id=pc.coalesce(meta.field("inferenceId"), meta.field("eventId")),
            line=lines,
        )

    def _records_line_by_line(self, raw: bytes, label: str) -> _Records:
        """Slow path for a file with invalid JSON: keep every good line, count every bad one."""
        fields: dict[str, list[Any]] = {
            k: [] for k in ("data", "enc", "ctype", "out", "out_enc", "id", "line")
        }
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            self.stats.records += 1
            try:
                doc = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.stats.bad("not valid JSON", f"{label} line {number}")
                continue
            except RecursionError:
                self.stats.bad(TOO_DEEP, f"{label} line {number}")
                continue
            capture = doc.get("captureData") if isinstance(doc, dict) else None
            inp = _as_dict(capture, "endpointInput")
            out = _as_dict(capture, "endpointOutput")
            meta = doc.get("eventMetadata") if isinstance(doc, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            data = inp.get("data")
            if data is not None and not isinstance(data, str):
                self.stats.bad("captureData.endpointInput.data is not a string", f"{label} line {number}")
                continue
            fields["data"].append(data)
            fields["enc"].append(_text(inp.get("encoding")))
            fields["ctype"].append(_text(inp.get("observedContentType")))
            fields["out"].append(out.get("data") if isinstance(out.get("data"), str) else None)
            fields["out_enc"].append(_text(out.get("encoding")))
            fields["id"].append(_text(meta.get("inferenceId")) or _text(meta.get("eventId")))
            fields["line"].append(number)
        return _Records(
            data=pa.array(fields["data"], pa.string()),
            encoding=pa.array(fields["enc"], pa.string()),
            content_type=pa.array(fields["ctype"], pa.string()),
            out_data=pa.array(fields["out"], pa.string()),
            out_encoding=pa.array(fields["out_enc"], pa.string()),
            event_id=pa.array(fields["id"], pa.string()),
            line=np.asarray(fields["line"], dtype=np.int64),
        )

    def _drop_malformed(self, records: _Records, label: str) -> _Records:
        """Count and remove lines without input data or with an encoding we do not know."""
        no_data = pc.is_null(records.data).to_numpy(zero_copy_only=False)
        encoding = pc.utf8_upper(pc.fill_null(records.encoding, "CSV"))
        unknown = ~pc.is_in(encoding, pa.array(ENCODINGS)).to_numpy(zero_copy_only=False) & ~no_data
        for index in np.flatnonzero(no_data | unknown):  # a loop over bad lines only
            reason = (
                "no captureData.endpointInput.data"
                if no_data[index]
                else f"unknown encoding {records.encoding[int(index)].as_py()!r} (expected CSV, JSON or BASE64)"
            )
            self.stats.bad(reason, f"{label} line {records.line[index]}")
        keep = pa.array(~(no_data | unknown))
        return _Records(
            data=pc.filter(records.data, keep),
            encoding=pc.filter(encoding, keep),
            content_type=pc.filter(records.content_type, keep),
            out_data=pc.filter(records.out_data, keep),
            out_encoding=pc.filter(records.out_encoding, keep),
            event_id=pc.filter(records.event_id, keep),
            line=records.line[~(no_data | unknown)],
        )

    # -- records -> feature rows ---------------------------------------------------------------
    def _features(self, records: _Records, label: str) -> list[pa.Table]:
        payloads, ok = _decode_base64(records.data, records.encoding)
        for index in np.flatnonzero(~ok):
            self.stats.bad(
                "BASE64 data that does not decode to UTF-8 text", f"{label} line {records.line[index]}"
            )
        kinds = _payload_kinds(records.content_type, records.encoding)
        for kind, count in Counter(kinds.tolist()).items():
            self.stats.content_types[kind] += count
        unsupported = ok & (kinds == "other")
        for index in np.flatnonzero(unsupported):
            ctype = records.content_type[int(index)].as_py()
            self.stats.bad(
                f"unsupported content type {ctype!r} (expected text/csv or application/json)",
                f"{label} line {records.line[index]}",
            )
        tables = []
        csv_rows = ok & (kinds == "csv")
        if csv_rows.any():
            selected = np.flatnonzero(csv_rows)
            tables.append(
                self._csv_rows(
                    pc.filter(payloads, pa.array(csv_rows)).to_pylist(), records.line[selected], label
                )
            )
        json_rows = ok & (kinds == "json")
        if json_rows.any():
            selected = np.flatnonzero(json_rows)
            tables += self._json_rows(
                pc.filter(payloads, pa.array(json_rows)).to_pylist(), records.line[selected], label
            )
        if self.predictions is not None:
            keep = pa.array(ok & (kinds != "other"))
            parse_labels(
                pc.filter(records.out_data, keep),
                pc.filter(records.out_encoding, keep),
                pc.filter(records.event_id, keep),
                self.predictions,
            )
        for table in tables:
            self.stats.rows += table.num_rows
        return [t for t in tables if t.num_rows]

    def _csv_rows(self, payloads: list[str | None], lines: np.ndarray, label: str) -> pa.Table:
        """The CSV payloads' rows, columns named by the baseline's features.

        First with the baseline's types (fast); if a value does not convert (text in a numeric
        feature), again with every column as text so the profiles count the mismatches."""
        usable: list[str] = []
        usable_lines: list[int] = []
        for payload, line in zip(payloads, lines.tolist(), strict=True):
            text = (payload or "").strip("\r\n")
            if not text.strip():
                self.stats.bad("empty CSV payload (no values)", f"{label} line {line}")
            elif text.count('"') % 2:
                self.stats.bad('CSV payload with an unterminated quote (")', f"{label} line {line}")
            else:
                usable.append(text)
                usable_lines.append(line)
        self.stats.column_issues.expected = len(self.features)
        as_text = {name: pa.string() for name in self.features}
        for types in (self.column_types, as_text):
            attempt = RowCountIssues()
            try:
                table = self._parse_joined(usable, usable_lines, types, attempt, label)
            except pa.ArrowInvalid as err:
                if types is not as_text and "conversion error" in str(err).lower():
                    continue
                raise DriftInputError(f"{label}: CSV payloads cannot be parsed: {err}") from err
            self.stats.column_issues.merge(attempt)
            return table
        raise AssertionError("reading every column as text cannot fail conversion")

    def _parse_joined(
        self,
        payloads: list[str],
        lines: list[int],
        types: dict[str, pa.DataType],
        issues: RowCountIssues,
        label: str,
    ) -> pa.Table:
        """All payloads in one pyarrow call; each on its own when the rows do not add up."""
        if not payloads:  # every one was counted as unusable; pyarrow calls an empty text an error
            return pa.table({name: pa.array([], types.get(name, pa.string())) for name in self.features})
        row_lines = np.repeat(lines, [_csv_row_count(p) for p in payloads])
        joined = RowCountIssues()
        table = self._read_csv("\n".join(payloads), row_lines, types, joined, label)
        if table.num_rows + joined.total == row_lines.size:
            issues.merge(joined)
            return table
        tables = []  # a payload's quoting spilled over into the next one: never trust the join
        for payload, line in zip(payloads, lines, strict=True):
            try:
                tables.append(self._read_csv(payload, np.asarray([line]), types, issues, label))
            except pa.ArrowInvalid as err:
                if "conversion error" in str(err).lower():
                    raise
                self.stats.bad(f"CSV payload cannot be parsed ({_first_line(err)})", f"{label} line {line}")
        return pa.concat_tables(tables) if tables else table.slice(0, 0)

    def _read_csv(
        self,
        text: str,
        row_lines: np.ndarray,
        types: dict[str, pa.DataType],
        issues: RowCountIssues,
        label: str,
    ) -> pa.Table:
        def skip(row: pacsv.InvalidRow) -> str:
            number = row.number or 0  # pyarrow numbers the non-empty rows from 1 when single-threaded
            line = row_lines[min(number, row_lines.size) - 1] if number > 0 else row_lines[0]
            issues.record(row.actual_columns, f"{label} line {line}: a row with {row.actual_columns} values")
            return "skip"

        return pacsv.read_csv(
            io.BytesIO(text.encode()),
            read_options=pacsv.ReadOptions(column_names=self.features, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=NULL_VALUES, strings_can_be_null=True
            ),
        )

    def _json_rows(self, payloads: list[str | None], lines: np.ndarray, label: str) -> list[pa.Table]:
        positional: list[list[Any]] = []
        named: list[dict[str, Any]] = []
        for payload, line in zip(payloads, lines, strict=True):
            try:
                rows = _json_instances(json.loads(payload or ""))
            except (json.JSONDecodeError, ValueError) as err:
                self.stats.bad(f"JSON payload not understood ({err})", f"{label} line {line}")
                continue
            except RecursionError:
                self.stats.bad(TOO_DEEP, f"{label} line {line}")
                continue
            for row in rows:
                if isinstance(row, dict):
                    named.append(row)
                elif len(row) == len(self.features):
                    positional.append(row)
                else:
                    self.stats.column_issues.record(len(row), f"{label} line {line}")
        tables = []
        if positional:
            columns = list(zip(*positional, strict=True))
            tables.append(pa.table({n: _column(v) for n, v in zip(self.features, columns, strict=True)}))
        if named:
            for row in named:
                self.stats.unknown_fields.update(k for k in row if k not in self.column_types)
            tables.append(pa.table({n: _column([row.get(n) for row in named]) for n in self.features}))
        return tables


def parse_labels(data: pa.Array, encoding: pa.Array, ids: pa.Array, into: Labels) -> int:
    """Numbers (one per line, the first field of each line) keyed by request id and row; returns
    how many payloads could not be read as numbers."""
    payloads, ok = _decode_base64(data, pc.utf8_upper(pc.fill_null(encoding, "CSV")))
    text = pc.if_else(pa.array(ok), payloads, None)
    lists = pc.split_pattern(pc.utf8_trim(pc.fill_null(text, ""), "\r\n \t"), "\n")
    flat = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    parents = pc.list_parent_indices(lists).to_numpy()
    first_field = pc.list_element(pc.split_pattern(flat, ","), 0)
    numbers = pc.cast(
        pc.if_else(
            pc.match_substring_regex(first_field, r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"),
            first_field,
            None,
        ),
        pa.float64(),
    )
    values = numbers.to_numpy(zero_copy_only=False)
    offsets = lists.offsets.to_numpy()[:-1]
    rows = np.arange(len(flat)) - offsets[parents]
    good = np.isfinite(values) & pc.is_valid(pc.take(ids, pa.array(parents))).to_numpy(zero_copy_only=False)
    into.extend(pc.take(ids, pa.array(parents[good])), rows[good], values[good])
    return int(len(values) - good.sum())


def _decode_base64(data: pa.Array, encoding: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Payload text for every record, with BASE64 ones decoded; ``ok`` False where decoding failed."""
    is_b64 = pc.fill_null(pc.equal(encoding, "BASE64"), False).to_numpy(zero_copy_only=False)
    ok = np.ones(len(data), dtype=bool)
    if not is_b64.any():
        return data, ok
    texts = data.to_pylist()
    for index in np.flatnonzero(is_b64):
        try:
            texts[index] = base64.b64decode(texts[index] or "", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            texts[index] = None
            ok[index] = False
    return pa.array(texts, pa.string()), ok


def _payload_kinds(content_type: pa.Array, encoding: pa.Array) -> np.ndarray:
    """``csv``, ``json`` or ``other`` per record, from the content type (else the encoding)."""
    ctype = pc.utf8_lower(pc.fill_null(content_type, "")).to_numpy(zero_copy_only=False).astype(str)
    enc = encoding.to_numpy(zero_copy_only=False).astype(str)
    kinds = np.full(len(ctype), "other", dtype=object)
    kinds[np.char.find(ctype, "csv") >= 0] = "csv"
    kinds[np.char.find(ctype, "json") >= 0] = "json"
    no_type = ctype == ""
    kinds[no_type & (enc == "JSON")] = "json"
    kinds[no_type & (enc != "JSON")] = "csv"
    return kinds


def _json_instances(doc: Any) -> list[Any]:
    """Rows from the usual JSON request shapes: a row, a list of rows, or {"instances": ...}."""
    if isinstance(doc, dict):
        for key in ("instances", "inputs", "data", "features"):
            if key in doc:
                return _json_instances(doc[key])
        return [doc]
    if isinstance(doc, list):
        if all(isinstance(v, list | dict) for v in doc) and doc:
            return [v.get("features", v) if isinstance(v, dict) and "features" in v else v for v in doc]
        return [doc]
    raise ValueError("expected a JSON object or array")


def _column(values: Iterable[Any]) -> pa.Array:
    items = list(values)
    try:
        return pa.array(items)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in items], pa.string())


def _line_numbers(raw: bytes, count: int) -> np.ndarray:
    """1-based line numbers of the non-blank lines (pyarrow skips blank ones)."""
    lines = raw.split(b"\n")
    numbers = np.flatnonzero([bool(line.strip()) for line in lines]) + 1
    return numbers[:count] if numbers.size >= count else np.arange(1, count + 1)


def _csv_row_count(payload: str) -> int:
    """Rows pyarrow reads from a payload: its non-empty lines (any of the three line breaks)."""
    return sum(1 for line in _LINE_BREAK.split(payload) if line)


def _first_line(err: object) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _as_dict(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
