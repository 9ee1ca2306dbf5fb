"""The synthesized monitoring pipeline with ``monitoring.instance_count`` 3, run by the local executor:
three profile instances and a merge write the same files as the one-instance pipeline on the same
capture window."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from localcloud import ExecutionStatus, LocalPipelineRunner
from pipelines import settings as settings_module
from pipelines.monitoring import MONITOR, PROFILE
from processing_scripts import contract, s3_uri
from processing_scripts.drift import engine, sources
from processing_scripts.drift.capture import hour_folder
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.storage import Storage
from tests.processing_scripts.conftest import ABALONE

SETTINGS = settings_module.load("dev")
SHARDED = dataclasses.replace(SETTINGS, monitoring=dataclasses.replace(SETTINGS.monitoring, instance_count=3))
START = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)  # the executions' start: the window's end
BASELINE = f"s3://{SETTINGS.bucket_name('artifacts')}/sharded-test/baseline"


def _capture_line(row: str, event: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": row,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "9.5",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event},
        }
    )


@pytest.fixture(scope="module")
def capture_and_baseline(local_aws):
    """The abalone baseline, and 7 capture files of abalone rows (length shifted, a short row) in the window."""
    s3 = local_aws.clients.s3
    baseline = engine.build_baseline(sources.open_source(Storage(), str(ABALONE)), MonitoringConfig())
    for name, text in baseline.outputs().items():
        bucket, key = s3_uri.split(f"{BASELINE}/{name}")
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    lines = ABALONE.read_text().splitlines()[1:1401]
    rows = [
        ",".join([r.split(",")[0], f"{float(r.split(',')[1]) + 0.12:.4f}", *r.split(",")[2:]]) for r in lines
    ]
    rows[300] = "M,0.5"  # a row with too few values: counted and left out by every shard alike
    for number in range(7):
        hour = START - timedelta(minutes=10 if number % 2 else 50)
        key = f"datacapture/{SETTINGS.endpoint_name}/AllTraffic/{hour_folder(hour)}/part-{number}.jsonl"
        body = "\n".join(
            _capture_line(r, f"e{number}-{i}") for i, r in enumerate(rows[number * 200 : (number + 1) * 200])
        )
        s3.put_object(Bucket=SETTINGS.bucket_name("capture"), Key=key, Body=(body + "\n").encode())


def _run(local_aws, tmp_path, settings):
    from pipelines.synth import render_pipelines

    name = settings.monitoring_pipeline_name
    definition = json.loads(render_pipelines(settings)[name])
    runner = LocalPipelineRunner(settings, local_aws, tmp_path / "runs", clock=lambda: START)
    record = runner.run(definition, {"BaselineUri": BASELINE, "WindowHours": "2"}, pipeline_name=name)
    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    return record, definition


def _outputs(local_aws, record) -> dict[str, bytes]:
    s3 = local_aws.clients.s3
    uri = record.steps[MONITOR].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, prefix = s3_uri.split(uri)
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")["Contents"]
    return {
        o["Key"].rsplit("/", 1)[-1]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in found
    }


@pytest.mark.slow  # two pipeline runs, four monitoring jobs and two reports (~15 s)
def test_three_instances_and_a_merge_write_what_one_instance_writes(
    capture_and_baseline, local_aws, tmp_path
):
    one, single_definition = _run(local_aws, tmp_path / "single", SETTINGS)
    many, definition = _run(local_aws, tmp_path / "sharded", SHARDED)

    assert [s["Name"] for s in single_definition["Steps"]] == [MONITOR]
    assert [s["Name"] for s in definition["Steps"]] == [PROFILE, MONITOR]
    assert many.steps[PROFILE].properties["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    expected, merged = _outputs(local_aws, one), _outputs(local_aws, many)
    summary = json.loads(expected[contract.DRIFT_SUMMARY_FILE])
    assert summary["verdict"] == engine.DRIFT and summary["reading"]["files"] == 7
    assert summary["reading"]["rows"] == 1399 and summary["reading"]["rows_with_wrong_value_count"] == 1
    for name in (contract.STATISTICS_FILE, contract.VIOLATIONS_FILE, contract.DRIFT_SUMMARY_FILE):
        assert merged[name] == expected[name], name
    # The report names its execution; everything else on it is the same.
    report = merged[contract.REPORT_FILE].decode().replace(many.execution_id, one.execution_id)
    assert report == expected[contract.REPORT_FILE].decode()
