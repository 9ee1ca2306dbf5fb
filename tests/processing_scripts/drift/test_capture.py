"""Endpoint capture: payload encodings, malformed lines counted (never dropped silently), rows with
the wrong number of values reported as column violations, time windows, and model quality."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from processing_scripts.drift import engine, sources
from processing_scripts.drift.capture import Labels, TimeWindow, hour_folder
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.ground_truth import merged_quality
from processing_scripts.drift.storage import Storage
from processing_scripts.split_schema import BINARY_CLASSIFICATION
from tests.processing_scripts.drift.conftest import write_csv

STORAGE = Storage()
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def features_table(abalone) -> pa.Table:
    return abalone.drop_columns(["rings"])


@pytest.fixture(scope="module")
def baseline(features_table, tmp_path_factory) -> engine.Baseline:
    path = write_csv(features_table, tmp_path_factory.mktemp("bl") / "features.csv")
    return engine.build_baseline(sources.open_source(STORAGE, str(path)), MonitoringConfig())


def csv_rows(table: pa.Table, start: int, count: int) -> list[str]:
    rows = table.slice(start, count).to_pylist()
    return [",".join(str(v) for v in row.values()) for row in rows]


def line(
    data: str, *, encoding: str = "CSV", ctype: str = "text/csv", event: str = "e", output: str = "9"
) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": ctype,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": output,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event, "inferenceTime": "2026-03-01T11:30:00Z"},
            "eventVersion": "0",
        }
    )


def place(root: Path, hour: datetime, name: str, lines: list[str], variant: str = "AllTraffic") -> Path:
    path = root / variant / hour_folder(hour) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def check(baseline, root: Path, hours: float = 1, **kwargs) -> engine.CheckResult:
    source = sources.open_source(STORAGE, str(root), window=TimeWindow.ending(END, hours))
    return engine.run_check(baseline, source, **kwargs)


def test_every_encoding_decodes_to_the_same_rows(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 400)
    lines = [line("\n".join(rows[:100]))]  # one request carrying 100 rows
    lines += [line(r) for r in rows[100:200]]
    lines += [line(base64.b64encode(r.encode()).decode(), encoding="BASE64") for r in rows[200:300]]
    records = features_table.slice(300, 100).to_pylist()
    lines += [
        line(
            json.dumps({"instances": [list(r.values()) for r in records[:50]]}),
            encoding="JSON",
            ctype="application/json",
        )
    ]
    json_b64 = base64.b64encode(json.dumps(records[50:]).encode()).decode()  # named rows, base64
    lines.append(line(json_b64, encoding="BASE64", ctype="application/json"))
    place(tmp_path, END - timedelta(minutes=30), "a.jsonl", lines)
    result = check(baseline, tmp_path)
    assert result.reading["rows"] == 400 and result.reading["malformed_lines"] == 0
    assert result.verdict == engine.NO_DRIFT, result.message
    expected = features_table.slice(0, 400)
    stats = result.statistics.by_name()
    assert stats["length"].numeric.sum == pytest.approx(sum(expected.column("length").to_pylist()))
    assert stats["sex"].categories == {k: v for k, v in _counts(expected.column("sex").to_pylist()).items()}


def _counts(values: list[str]) -> dict[str, int]:
    return {v: values.count(v) for v in set(values)}


def test_malformed_lines_are_counted_with_file_and_line(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 50)
    lines = [line(r) for r in rows]
    lines[3] = '{"captureData": {"endpointInput": '  # truncated write
    lines[7] = json.dumps({"captureData": {"endpointInput": {"encoding": "CSV"}}})  # no data
    lines[9] = line(rows[9], encoding="XML")
    lines[11] = line("not base64!!", encoding="BASE64")
    lines[13] = line(rows[13], ctype="application/x-npy", encoding="JSON")
    path = place(tmp_path, END - timedelta(minutes=5), "b.jsonl", lines)
    result = check(baseline, tmp_path)
    reading = result.reading
    assert reading["capture_records"] == 50
    assert reading["malformed_lines"] == 5
    assert reading["rows"] == 45
    assert reading["malformed_by_reason"]["not valid JSON"] == 1
    assert reading["malformed_by_reason"]["no captureData.endpointInput.data"] == 1
    assert any("unknown encoding 'XML'" in e for e in reading["malformed_examples"])
    assert f"{path} line 4: not valid JSON" in reading["malformed_examples"]
    assert result.verdict == engine.NO_DRIFT  # the good lines are still checked


def test_wrong_value_counts_are_column_violations_not_a_crash(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 300)
    lines = [line(r) for r in rows[:280]]
    lines += [line(r.rsplit(",", 1)[0]) for r in rows[280:290]]  # shell weight missing
    lines += [line(r + ",1,2") for r in rows[290:]]  # two extra values
    place(tmp_path, END - timedelta(minutes=5), "c.jsonl", lines)
    result = check(baseline, tmp_path)
    kinds = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert ("shell weight", "missing_column_check") in kinds
    assert ("_c8", "extra_column_check") in kinds
    assert result.reading["rows"] == 280 and result.reading["rows_with_wrong_value_count"] == 20
    assert result.verdict == engine.NO_DRIFT


def test_capture_from_another_model_is_a_mismatch(baseline, tmp_path):
    place(tmp_path, END - timedelta(minutes=5), "d.jsonl", [line("1,2,3")] * 20)
    result = check(baseline, tmp_path)
    assert result.verdict == engine.BASELINE_MISMATCH
    assert result.reading["wrong_value_counts"] == {"3": 20}


def test_only_the_window_hours_are_read_and_an_empty_window_is_nothing_to_check(
    baseline, features_table, tmp_path
):
    rows = csv_rows(features_table, 0, 30)
    place(tmp_path, END - timedelta(minutes=10), "in.jsonl", [line(r) for r in rows[:10]])
    place(tmp_path, END - timedelta(hours=2, minutes=10), "old.jsonl", [line(r) for r in rows[10:20]])
    place(tmp_path, END + timedelta(minutes=10), "future.jsonl", [line(r) for r in rows[20:]])
    place(tmp_path, END - timedelta(minutes=10), "other.jsonl", [line(r) for r in rows[:5]], variant="Canary")
    assert check(baseline, tmp_path).reading["rows"] == 15  # both variants, this hour only
    assert check(baseline, tmp_path, hours=3).reading["rows"] == 25
    empty = engine.run_check(
        baseline,
        sources.open_source(STORAGE, str(tmp_path), window=TimeWindow.ending(END - timedelta(hours=10), 1)),
    )
    assert empty.verdict == engine.NOTHING_TO_CHECK and "nothing to check" in empty.message
    assert json.loads(engine.check_outputs(empty, report=False)["constraint_violations.json"]) == {
        "violations": []
    }


def test_model_quality_merges_ground_truth_by_event_id(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 40)
    rng = np.random.default_rng(0)
    predictions = rng.normal(10, 2, 40)
    labels = predictions + rng.normal(0, 1, 40)
    lines = [
        line(r, event=f"id-{i}", output=f"{p:.6f}")
        for i, (r, p) in enumerate(zip(rows, predictions, strict=True))
    ]
    place(tmp_path / "capture", END - timedelta(minutes=5), "q.jsonl", lines)
    truth_lines = [
        json.dumps(
            {
                "groundTruthData": {"data": f"{y:.6f}", "encoding": "CSV"},
                "eventMetadata": {"eventId": f"id-{i}"},
                "eventVersion": "0",
            }
        )
        for i, y in enumerate(labels[:30])  # 10 inferences have no label yet
    ]
    truth = tmp_path / "truth" / "2026" / "03" / "01" / "12" / "gt.jsonl"
    truth.parent.mkdir(parents=True)
    truth.write_text("\n".join(truth_lines) + "\n")
    result = check(baseline, tmp_path / "capture", ground_truth=STORAGE.list_files(str(tmp_path / "truth")))
    quality = result.quality.to_json()
    assert (quality["matched"], quality["unmatched_predictions"], quality["unmatched_labels"]) == (30, 10, 0)
    rmse = float(np.sqrt(np.mean(np.square(predictions[:30].round(6) - labels[:30].round(6)))))
    assert quality["regression_metrics"]["rmse"]["value"] == pytest.approx(rmse)
    assert (
        json.loads(engine.check_outputs(result, report=False)["drift_summary.json"])["model_quality"][
            "matched"
        ]
        == 30
    )


def test_binary_model_quality_uses_probabilities_at_the_decision_threshold():
    predictions, labels = Labels(), Labels()
    ids = pa.array(["a", "b", "c", "d"])
    predictions.extend(ids, np.zeros(4, dtype=np.int64), np.array([0.9, 0.2, 0.6, 0.4]))
    labels.extend(ids, np.zeros(4, dtype=np.int64), np.array([1.0, 0.0, 0.0, 1.0]))
    quality = merged_quality(predictions, labels, BINARY_CLASSIFICATION).to_json()
    metrics = quality["binary_classification_metrics"]
    assert quality["matched"] == 4 and quality["missing_label_or_prediction"] == 0
    assert metrics["accuracy"]["value"] == 0.5  # a and b right, c and d wrong at 0.5
    assert metrics["precision"]["value"] == 0.5 and metrics["recall"]["value"] == 0.5
    assert metrics["auc"]["value"] == 0.75


@pytest.mark.parametrize("bad_line", ["null", "[1, 2]", '"text"', "5", "true"])
def test_a_line_that_is_not_a_json_object_is_counted_and_never_kills_the_job(
    baseline, features_table, tmp_path, bad_line
):
    """pyarrow's JSON reader with a schema segfaulted on a first line `null` (issue 11, defect 1)."""
    rows = csv_rows(features_table, 0, 20)
    lines = [bad_line, *(line(r) for r in rows)]
    path = place(tmp_path, END - timedelta(minutes=5), "n.jsonl", lines)
    reading = check(baseline, tmp_path).reading
    assert (reading["capture_records"], reading["rows"], reading["malformed_lines"]) == (21, 20, 1)
    assert any(example.startswith(f"{path} line 1: ") for example in reading["malformed_examples"])


def test_a_ground_truth_file_with_a_non_object_line_is_counted_not_fatal(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 10)
    place(
        tmp_path / "capture",
        END - timedelta(minutes=5),
        "q.jsonl",
        [line(r, event=f"id-{i}") for i, r in enumerate(rows)],
    )
    truth = tmp_path / "truth" / "2026" / "03" / "01" / "12" / "gt.jsonl"
    truth.parent.mkdir(parents=True)
    truth.write_text(
        "null\n"
        + json.dumps(
            {"groundTruthData": {"data": "1.0", "encoding": "CSV"}, "eventMetadata": {"eventId": "id-0"}}
        )
        + "\n"
    )
    result = check(baseline, tmp_path / "capture", ground_truth=STORAGE.list_files(str(tmp_path / "truth")))
    assert any("line 1 is not a JSON object" in e for e in result.reading["malformed_examples"])


def test_an_unterminated_quote_in_one_request_never_swallows_the_requests_after_it(
    baseline, features_table, tmp_path
):
    """Payloads were joined into one CSV text: a quote opened in request 3 ate every later request
    (issue 11, defect 3). Now that request is counted alone and the rest are read."""
    rows = csv_rows(features_table, 0, 40)
    lines = [line(r) for r in rows]
    lines[2] = line('"' + rows[2])
    lines[5] = line("")
    lines[6] = line("  \t ")
    path = place(tmp_path, END - timedelta(minutes=5), "q.jsonl", lines)
    reading = check(baseline, tmp_path).reading
    assert (reading["capture_records"], reading["rows"], reading["malformed_lines"]) == (40, 37, 3)
    assert reading["malformed_by_reason"]["empty CSV payload (no values)"] == 2
    assert f'{path} line 3: CSV payload with an unterminated quote (")' in reading["malformed_examples"]


def test_a_row_with_the_wrong_value_count_names_its_request_line(baseline, features_table, tmp_path):
    rows = csv_rows(features_table, 0, 10)
    lines = [line(r) for r in rows[:4]] + [line("\n".join(rows[4:6]) + "\n1,2")] + [line(r) for r in rows[6:]]
    path = place(tmp_path, END - timedelta(minutes=5), "w.jsonl", lines)
    reading = check(baseline, tmp_path).reading
    assert (reading["rows"], reading["rows_with_wrong_value_count"]) == (10, 1)
    assert reading["row_examples"] == [f"{path} line 5: a row with 2 values"]


def test_a_corrupt_gzip_file_or_a_deeply_nested_line_is_counted_not_a_failed_job(
    baseline, features_table, tmp_path
):
    """Both raised out of the job (EOFError, RecursionError) and failed it (issue 11, defect 4)."""
    import gzip

    rows = csv_rows(features_table, 0, 30)
    hour = END - timedelta(minutes=5)
    place(tmp_path, hour, "good.jsonl", [line(r) for r in rows[:10]])
    nested = line("[" * 100_000, ctype="application/json", encoding="JSON")
    place(
        tmp_path, hour, "deep.jsonl", ["[" * 100_000 + "]" * 100_000, nested, *(line(r) for r in rows[10:20])]
    )
    folder = tmp_path / "AllTraffic" / hour_folder(hour)
    (folder / "torn.jsonl.gz").write_bytes(gzip.compress("\n".join(map(line, rows[20:])).encode())[:-20])
    (folder / "ok.jsonl.gz").write_bytes(gzip.compress("\n".join(map(line, rows[20:])).encode()))
    result = check(baseline, tmp_path)
    reading = result.reading
    assert reading["rows"] == 30 and reading["malformed_lines"] == 3
    assert reading["malformed_by_reason"]["JSON nested too deeply to read"] == 2
    assert any("torn.jsonl.gz: not a readable gzip file" in e for e in reading["malformed_examples"])
    assert result.verdict == engine.NO_DRIFT


def test_a_file_whose_every_csv_payload_is_unusable_is_counted_not_a_failed_check(
    baseline, features_table, tmp_path
):
    """Found by the robustness campaign: with no usable payload left, pyarrow's "Empty CSV file"
    failed the whole check."""
    hour = END - timedelta(minutes=5)
    place(tmp_path, hour, "bad.jsonl", [line(""), line('"1,2')])
    place(tmp_path, hour, "good.jsonl", [line(r) for r in csv_rows(features_table, 0, 5)])
    reading = check(baseline, tmp_path).reading
    assert (reading["rows"], reading["malformed_lines"]) == (5, 2)
