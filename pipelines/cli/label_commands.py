"""`labels upload`: ground truth in, where the monitoring job merges it with the predictions.

Labels usually come from people (review, claims, outcomes) hours or days after the prediction. This
turns a CSV or JSON Lines file of ``<id>, <label>`` into Model Monitor's ground-truth JSON Lines and
uploads it to ``<settings.ground_truth_uri>/<endpoint>/yyyy/mm/dd/hh/`` for the hour of the upload,
the layout the monitoring job reads (docs/monitoring.md, "Model quality"). The id is the
``InferenceId`` the caller sent with the request (else the capture's ``eventId``).

With deployment stages, real labels arrive for prod's predictions: ``--stage prod`` files them
under the prod endpoint's name, in the build account's data bucket, where the build account's
monitoring run for prod reads them (docs/multi-account.md#how-prod-is-monitored). Only the
monitored stage: another stage's labels would never be read.

All or nothing: a row without an id, a label that is not a number, or an id given twice stops the
upload with one line naming the first such row and how many there are; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from pipelines.cli.context import CliContext, CliError, console
from processing_scripts import s3_uri
from processing_scripts.drift.capture import parse_time
from processing_scripts.drift.ground_truth import ground_truth_jsonl, ground_truth_key

FILE_HINT = (
    "give a CSV with a header, or JSON Lines of objects, holding --id-column (the request's InferenceId) "
    "and --label-column (a number); Model Monitor ground-truth lines are read as they are"
)


def parse_labels_file(name: str, text: str, id_column: str, label_column: str) -> dict[str, float]:
    """id -> label from a CSV (with a header) or JSON Lines file; CliError (INVALID) on any bad row."""
    rows = _jsonl_rows(name, text) if name.endswith((".jsonl", ".json")) else _csv_rows(name, text)
    labels: dict[str, float] = {}
    problems: dict[str, list[int]] = {}
    for line, row in rows:
        event_id, value = _id_and_label(row, id_column, label_column)
        if not event_id:
            problems.setdefault(f"no {id_column}", []).append(line)
        elif value is None:
            problems.setdefault(f"{label_column} is not a number", []).append(line)
        elif event_id in labels:
            problems.setdefault(f"{id_column} given twice", []).append(line)
        else:
            labels[event_id] = value
    if problems:
        reason, lines = next(iter(problems.items()))
        total = sum(len(found) for found in problems.values())
        raise CliError(
            f"{name} line {lines[0]}: {reason} ({total} bad rows; nothing uploaded)",
            FILE_HINT,
            CliError.INVALID,
        )
    if not labels:
        raise CliError(f"{name} holds no labels", FILE_HINT, CliError.INVALID)
    return labels


def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV (with a header) or JSON Lines file of labels."),
    *,
    id_column: str = typer.Option(
        "inference_id", "--id-column", help="Column with the request's InferenceId."
    ),
    label_column: str = typer.Option("label", "--label-column", help="Column with the true value."),
    endpoint: str = typer.Option(
        None, "--endpoint", help="Endpoint the predictions came from (default: the project's)."
    ),
    at: str = typer.Option(
        None, "--at", help="Upload hour to file them under, ISO 8601 (default: now; for backfills)."
    ),
    stage: str = typer.Option(
        None,
        "--stage",
        help="Labels of a deployment stage's predictions (MLOPS_STAGES): the monitored one, prod.",
    ),
) -> None:
    """Upload labels as Model Monitor ground truth for the monitoring job's model-quality merge."""
    obj: CliContext = ctx.obj
    endpoint_name = _labelled_endpoint(obj, endpoint, stage)
    if not file.is_file():
        raise CliError(f"{file}: no such file", FILE_HINT, CliError.NOT_FOUND)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise CliError(
            f"{file}: not UTF-8 text ({err.reason} at byte {err.start})", FILE_HINT, CliError.INVALID
        ) from err
    labels = parse_labels_file(str(file), text, id_column, label_column)
    try:
        uploaded = parse_time(at) if at else datetime.now(UTC)
    except ValueError as err:
        raise CliError(f"--at: {err}", "e.g. --at 2026-03-01T12:00:00Z") from err
    body = ground_truth_jsonl(labels)
    settings = obj.settings
    name = f"labels-{uploaded:%Y%m%dT%H%M%S}-{hashlib.sha256(body).hexdigest()[:8]}.jsonl"
    target = f"{settings.ground_truth_uri}/{ground_truth_key(endpoint_name, uploaded, name)}"
    bucket, key = s3_uri.split(target, key_required=True)
    obj.clients.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl")
    console.print(f"[green]uploaded[/] {len(labels)} labels to {target}")


def _labelled_endpoint(obj: CliContext, endpoint: str | None, stage_name: str | None) -> str:
    """The endpoint whose predictions the labels are for: ``--endpoint``, the monitored stage's
    (``--stage``), else the project's."""
    if stage_name is None:
        return endpoint or obj.settings.endpoint_name
    if endpoint is not None:
        raise CliError(
            f"--endpoint {endpoint} and --stage {stage_name} both name the endpoint",
            f"give one: --stage {stage_name} files the labels under its endpoint's name",
        )
    stage, monitored = obj.stage(stage_name), obj.settings.monitored_stage
    assert monitored is not None  # a stage is configured, so the last one is monitored
    if stage != monitored:
        raise CliError(
            f"--stage {stage.name}: only the last stage, {monitored.name}, is monitored for model "
            "quality; labels filed for another stage would never be read",
            f"use --stage {monitored.name} (or leave --stage out for the build account's endpoint)",
        )
    return obj.settings.stage_endpoint_name(stage)


def _csv_rows(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise CliError(f"{name} is empty", FILE_HINT, CliError.INVALID)
    return [(reader.line_num, row) for row in reader]


def _jsonl_rows(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CliError(
                f"{name} line {number}: not JSON ({err.msg})", FILE_HINT, CliError.INVALID
            ) from err
        except RecursionError as err:  # nested deeper than Python's parser goes
            raise CliError(f"{name} line {number}: nested too deeply", FILE_HINT, CliError.INVALID) from err
        if not isinstance(row, dict):
            raise CliError(f"{name} line {number}: not a JSON object", FILE_HINT, CliError.INVALID)
        rows.append((number, row))
    return rows


def _id_and_label(row: dict[str, Any], id_column: str, label_column: str) -> tuple[str, float | None]:
    """A Model Monitor ground-truth record, or a row with the two columns."""
    if isinstance(row.get("groundTruthData"), dict):
        meta = row["eventMetadata"] if isinstance(row.get("eventMetadata"), dict) else {}
        raw_id, raw_value = meta.get("eventId") or meta.get("inferenceId"), row["groundTruthData"].get("data")
    else:
        raw_id, raw_value = row.get(id_column), row.get(label_column)
    event_id = "" if raw_id is None or isinstance(raw_id, dict | list) else str(raw_id).strip()
    return event_id, _number(raw_value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def register(app: typer.Typer) -> None:
    labels = typer.Typer(help="Ground-truth labels for model-quality monitoring.", no_args_is_help=True)
    labels.command("upload")(upload)
    app.add_typer(labels, name="labels")
