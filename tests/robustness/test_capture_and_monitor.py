"""The capture parser (the drift engine on capture files) and the monitoring job, on generated
capture lines of every malformed class. Each generated line carries one request of one row, so the
contract is exact: rows used + lines counted malformed + rows counted with a wrong value count =
lines written. The job additionally runs against S3 (moto) as in production."""

from __future__ import annotations

import base64
import gzip
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from pipelines import settings as settings_module
from processing_scripts import contract
from processing_scripts import monitor as monitor_script
from processing_scripts.drift import engine, sources
from processing_scripts.drift.capture import TimeWindow, hour_folder
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.storage import Storage
from tests.processing_scripts.conftest import ABALONE, exit_message, run_in_process, sandbox_path
from tests.robustness.campaign import CAMPAIGN, judge, one_line, timed

SETTINGS = settings_module.load("dev")
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEATURES_CSV = [line.split(",", 1)[1].rsplit(",", 1)[0] for line in ABALONE.read_text().splitlines()[1:]]
# abalone.csv minus sex and rings: the numeric features, as the baseline below profiles them
HEADER = ABALONE.read_text().splitlines()[0].split(",")[1:-1]

LINE_KINDS = (
    "good", "good_json", "good_base64", "invalid_json", "non_object", "no_data", "data_not_string",
    "unknown_encoding", "bad_base64", "empty_payload", "space_payload", "open_quote", "missing_value",
    "extra_value", "text_value", "nan_value", "huge_value", "deep_json_line", "deep_json_payload",
    "other_content_type", "json_not_rows",
)  # fmt: skip


def _line(kind: str, values: str) -> str:
    data, encoding, ctype = values, "CSV", "text/csv"
    if kind == "invalid_json":
        return '{"captureData": {"endpointInput": '
    if kind == "non_object":
        return "null"
    if kind == "deep_json_line":
        return "[" * 5000 + "]" * 5000
    if kind == "good_json":
        data, encoding, ctype = json.dumps([float(v) for v in values.split(",")]), "JSON", "application/json"
    elif kind == "good_base64":
        data, encoding = base64.b64encode(values.encode()).decode(), "BASE64"
    elif kind == "bad_base64":
        data, encoding = "not base64!!", "BASE64"
    elif kind == "unknown_encoding":
        encoding = "XML"
    elif kind == "empty_payload":
        data = ""
    elif kind == "space_payload":
        data = "   "
    elif kind == "open_quote":
        data = '"' + values
    elif kind == "missing_value":
        data = values.rsplit(",", 1)[0]
    elif kind == "extra_value":
        data = values + ",1"
    elif kind == "text_value":
        data = "abc," + values.split(",", 1)[1]
    elif kind == "nan_value":
        data = "nan," + values.split(",", 1)[1]
    elif kind == "huge_value":
        data = "1e400," + values.split(",", 1)[1]
    elif kind == "deep_json_payload":
        data, encoding, ctype = "[" * 5000, "JSON", "application/json"
    elif kind == "other_content_type":
        ctype = "application/x-npy"
    elif kind == "json_not_rows":
        data, encoding, ctype = '"just text"', "JSON", "application/json"
    payload = {"observedContentType": ctype, "mode": "INPUT", "data": data, "encoding": encoding}
    if kind == "no_data":
        del payload["data"]
    if kind == "data_not_string":
        payload["data"] = 5
    out = {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "9.5", "encoding": "CSV"}
    return json.dumps(
        {"captureData": {"endpointInput": payload, "endpointOutput": out}, "eventMetadata": {"eventId": "e"}}
    )


capture_files = st.lists(
    st.tuples(
        st.lists(st.sampled_from(LINE_KINDS), min_size=1, max_size=12),
        st.sampled_from(["plain", "gz", "torn-gz"]),
    ),
    min_size=1,
    max_size=3,
)


def _write(folder: Path, files) -> int:
    """Write the files; returns how many outcomes (a row or a counted reason) they must produce."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = 0
    for number, (kinds, packing) in enumerate(files):
        text = (
            "\n".join(_line(kind, FEATURES_CSV[i % len(FEATURES_CSV)]) for i, kind in enumerate(kinds)) + "\n"
        )
        if packing == "plain":
            (folder / f"f{number}.jsonl").write_text(text)
            expected += len(kinds)
        else:
            packed = gzip.compress(text.encode())
            (folder / f"f{number}.jsonl.gz").write_bytes(packed if packing == "gz" else packed[:-12])
            expected += len(kinds) if packing == "gz" else 1  # a torn file is one counted reason
    return expected


def _accounted(reading: dict) -> int:
    return (
        reading["rows"]
        + reading["malformed_lines"]
        + reading["rows_with_wrong_value_count"]
        + reading["rows_in_unterminated_quotes"]
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> engine.Baseline:
    path = tmp_path_factory.mktemp("bl") / "features.csv"
    path.write_text(",".join(HEADER) + "\n" + "\n".join(FEATURES_CSV) + "\n")
    return engine.build_baseline(sources.open_source(Storage(), str(path)), MonitoringConfig())


@CAMPAIGN
@given(files=capture_files)
def test_capture_parser(baseline: engine.Baseline, files) -> None:
    entry = "capture parser"
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        root = Path(tmp)
        expected = _write(root / "AllTraffic" / hour_folder(END - timedelta(minutes=5)), files)
        try:
            source = sources.open_source(Storage(), str(root), window=TimeWindow.ending(END, 1))
            result = engine.run_check(baseline, source)
        except DriftInputError as err:
            judge(entry, "refused" if one_line(str(err)) else "unclear_message", str(err))
            return
        except Exception as err:
            judge(entry, "traceback", f"{type(err).__name__}: {err}")
            return
        accounted = _accounted(result.reading)
        if accounted != expected:
            judge(entry, "silent_drop", f"{expected} requests, {accounted} accounted: {result.reading}")
        else:
            judge(entry, "ok")


@pytest.fixture(scope="module")
def aws(baseline: engine.Baseline) -> Iterator[object]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=SETTINGS.region)
        for purpose in ("capture", "artifacts"):
            s3.create_bucket(Bucket=SETTINGS.bucket_name(purpose))
        for name, text in baseline.outputs().items():
            s3.put_object(
                Bucket=SETTINGS.bucket_name("artifacts"), Key=f"baseline/{name}", Body=text.encode()
            )
        yield s3


@CAMPAIGN
@given(files=capture_files, window=st.sampled_from(["1", "0.5", "24", "0", "-1", "nan", "inf", "1e9"]))
def test_monitoring_job(aws, files, window: str) -> None:
    entry = "monitoring job"
    s3 = boto3.client("s3", region_name=SETTINGS.region)
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        staging = Path(tmp) / "capture"
        expected = _write(staging, files)
        prefix = f"datacapture/fuzz-{next(_COUNTER)}"
        for path in staging.iterdir():
            key = f"{prefix}/AllTraffic/{hour_folder(END - timedelta(minutes=5))}/{path.name}"
            s3.put_object(Bucket=SETTINGS.bucket_name("capture"), Key=key, Body=path.read_bytes())
        opt_ml = Path(tmp) / "job"
        try:
            code = run_in_process(
                opt_ml, monitor_script.main,
                "--capture-uri", f"s3://{SETTINGS.bucket_name('capture')}/{prefix}",
                "--endpoint-name", SETTINGS.endpoint_name, "--window-hours", window,
                "--window-end", END.isoformat(), "--metric-namespace", "Fuzz", "--schedule-name", "fuzz",
                "--baseline-uri", f"s3://{SETTINGS.bucket_name('artifacts')}/baseline", "--no-report",
            )  # fmt: skip
        except (Exception, SystemExit) as err:
            if isinstance(err, SystemExit) and err.code == 2:  # argparse's usage error: one line on stderr
                judge(entry, "refused", "usage")
                return
            judge(entry, "traceback", f"{type(err).__name__}: {err}")
            return
        report = sandbox_path(opt_ml, contract.Monitor.REPORT) / contract.DRIFT_SUMMARY_FILE
        if code:
            message = exit_message(opt_ml)
            judge(entry, "refused" if one_line(message) else "unclear_message", message)
            return
        summary = json.loads(report.read_text())
        if window == "1" and _accounted(summary["reading"]) != expected:
            judge(entry, "silent_drop", f"{expected} requests, {summary['reading']}")
        else:
            judge(entry, "ok")


def _counter() -> Iterator[int]:
    number = 0
    while True:
        number += 1
        yield number


_COUNTER = _counter()
