"""What batch transform does around the model: records, mini-batches, filters, joins, assembly.

Pure functions over bytes, following CreateTransformJob and AWS's "Associate prediction results
with input records" guide (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html):

- ``SplitType`` ``Line`` makes each line a record; ``None`` makes the whole object one record.
- ``BatchStrategy`` ``MultiRecord`` packs as many records as fit in ``MaxPayloadInMB`` into one
  request, ``SingleRecord`` sends one per request; a record larger than the limit fails the job
  ("The value of MaxPayloadInMB must be greater than, or equal to, the size of a single record").
- ``InputFilter`` / ``OutputFilter`` are JSONPath expressions; a CSV record is an array of its
  columns, so ``$[1:]`` drops the first column and ``$[0,-1]`` keeps the first and the last.
  The guide's subset is ``$``, ``.name`` / ``['name',...]`` children, ``*``, ``[n,m,...]`` indexes
  and ``[start:end]`` slices (negative allowed). Indexes and slices mixed in one bracket
  (``$[0,5:]``) are read here because jsonpath-ng cannot parse them; named paths go to jsonpath-ng.
- ``JoinSource`` ``Input`` appends the prediction to the (unfiltered) input: the CSV columns are
  followed by the prediction's, a JSON object gets the key ``SageMakerOutput``, a JSON array the
  prediction as its last element.
- ``AssembleWith`` ``Line`` ends every output record with a newline; ``None`` concatenates the
  responses as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

CSV = "text/csv"
JSON_TYPES = ("application/json", "application/jsonlines")
MEGABYTE = 1024 * 1024
JOIN_KEY = "SageMakerOutput"
# An all-index bracket: $[0], $[1:], $[0,-1], $[0,5:], $[:3]
_INDEX_BRACKET = re.compile(r"\$\[\s*(-?\d*(?::-?\d*)?)(\s*,\s*-?\d*(?::-?\d*)?)*\s*\]")


class TransformError(ValueError):
    """A record, filter or response batch transform cannot handle; the message says which."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def split_records(data: bytes, split_type: str) -> list[bytes]:
    """The records of one input object; blank lines are not records."""
    if split_type == "None":
        return [data] if data else []
    return [line for line in data.split(b"\n") if line.strip()]


def mini_batches(
    records: list[bytes], strategy: str, max_payload_bytes: int, where: str
) -> Iterator[list[bytes]]:
    """Requests of records (joined by newlines); ``max_payload_bytes`` 0 means no limit."""
    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, 1):
        if max_payload_bytes and len(record) > max_payload_bytes:
            raise TransformError(
                f"{where}: record {number} is {len(record)} bytes, more than MaxPayloadInMB allows "
                f"({max_payload_bytes} bytes): raise MaxPayloadInMB or split the input"
            )
        if batch and (
            strategy == "SingleRecord" or (max_payload_bytes and size + len(record) + 1 > max_payload_bytes)
        ):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield batch


def check_filter(expression: str, field: str) -> str | None:
    """None if the expression is in the JSONPath subset SageMaker supports, else the problem."""
    if _INDEX_BRACKET.fullmatch(expression.replace(" ", "")):
        return None
    from jsonpath_ng.ext import parse

    if not expression.startswith("$"):
        return f"{field} {expression!r} must start with '$' (a JSONPath expression)"
    try:
        parse(expression)
    except Exception as err:  # jsonpath-ng raises lexer and parser errors of several types
        return f"{field} {expression!r} is not a JSONPath expression SageMaker supports ({err})"
    return None


def select(expression: str, value: Any) -> Any:
    """Apply a filter to a parsed record (a CSV record is the list of its columns)."""
    if expression == "$":
        return value
    compact = expression.replace(" ", "")
    if _INDEX_BRACKET.fullmatch(compact):
        if not isinstance(value, list):
            raise TransformError(
                f"filter {expression!r} indexes an array, the record is {type(value).__name__}"
            )
        picked: list[Any] = []
        for part in compact[2:-1].split(","):
            if ":" in part:
                start, end = (int(p) if p else None for p in part.split(":"))
                picked += value[start:end]
            else:
                index = int(part)
                if not -len(value) <= index < len(value):
                    raise TransformError(f"filter {expression!r}: the record has {len(value)} columns")
                picked.append(value[index])
        return picked
    from jsonpath_ng.ext import parse

    found = [match.value for match in parse(expression).find(value)]
    if not found:
        raise TransformError(f"filter {expression!r} selects nothing from the record")
    return found[0] if len(found) == 1 else found


def parse_record(record: bytes, content_type: str) -> Any:
    text = record.decode("utf-8")
    if media_type(content_type) in JSON_TYPES:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise TransformError(f"a record is not JSON ({err})") from err
    return next(csv.reader([text]), [])


def render_record(value: Any, content_type: str) -> bytes:
    if media_type(content_type) in JSON_TYPES:
        return json.dumps(value, separators=(",", ":")).encode()
    columns = value if isinstance(value, list) else [value]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(columns)
    return out.getvalue().encode()


def filter_record(record: bytes, expression: str | None, content_type: str) -> bytes:
    if not expression or expression == "$":
        return record
    return render_record(select(expression, parse_record(record, content_type)), content_type)


def join(record: bytes, output: bytes, content_type: str) -> bytes:
    """The input record with its prediction appended (JoinSource ``Input``)."""
    if media_type(content_type) in JSON_TYPES:
        source = parse_record(record, content_type)
        text = output.decode("utf-8").strip()
        try:
            prediction: Any = json.loads(text)
        except json.JSONDecodeError:
            prediction = text
        if isinstance(source, dict):
            return render_record({**source, JOIN_KEY: prediction}, content_type)
        if isinstance(source, list):
            return render_record([*source, prediction], content_type)
        raise TransformError("JoinSource Input needs each JSON record to be an object or an array")
    return record.rstrip(b"\r") + b"," + output.strip()


def per_record(response: bytes, count: int, where: str) -> list[bytes]:
    """A mini-batch's response cut into one output per record, as joining needs."""
    lines = [line for line in response.split(b"\n") if line.strip()]
    if len(lines) != count:
        raise TransformError(
            f"{where}: the model answered {len(lines)} line(s) for {count} record(s); joining or "
            "filtering outputs needs one line per record"
        )
    return lines
