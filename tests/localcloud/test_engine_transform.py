"""Transform steps: the SDK's Model + Transform steps run a batch transform job on abalone data."""

from __future__ import annotations

import copy
import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given
from hypothesis import strategies as st

from localcloud import ExecutionStatus
from localcloud.sagemaker.executor.steps.transform import preflight_problems
from localcloud.sagemaker.executor.steps.transform_records import (
    TransformError,
    filter_record,
    join,
    mini_batches,
    select,
    split_records,
)
from processing_scripts import inference, s3_uri

REPO = Path(__file__).parents[2]
FIXTURE = REPO / "tests" / "pipelines" / "fixtures" / "sdk2" / "abalone.json"
SEX = {"M": 0.0, "F": 1.0, "I": 2.0}


def _abalone() -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """(features, rings, the raw rows as text) of data/abalone.csv, sex encoded as a number."""
    rows = list(csv.reader((REPO / "data" / "abalone.csv").read_text().splitlines()))[1:]
    features = np.array([[SEX[r[0]], *map(float, r[1:-1])] for r in rows])
    return features, np.array([float(r[-1]) for r in rows]), rows


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    features, rings, _ = _abalone()
    return xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(features, label=rings), num_boost_round=10)


def _upload(local_aws, uri: str, body: bytes) -> None:
    bucket, key = s3_uri.split(uri)
    local_aws.clients.s3.put_object(Bucket=bucket, Key=key, Body=body)


def _read(local_aws, uri: str) -> str:
    bucket, key = s3_uri.split(uri)
    return local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def _archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sdk_steps(pipeline, model_uri: str, input_uri: str, **transform: Any) -> dict[str, Any]:
    """The SDK's Model and Transform steps from the abalone fixture, pointed at this test's data."""
    steps = {}
    for step in json.loads(FIXTURE.read_text())["Steps"]:
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Type"]] = copy.deepcopy(inner)
    model, job = steps["Model"], steps["Transform"]
    model["Arguments"]["PrimaryContainer"]["ModelDataUrl"] = model_uri
    job["Arguments"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = input_uri
    job["Arguments"]["TransformOutput"]["S3OutputPath"] = f"{pipeline.bucket}/transform-out"
    for key, value in transform.items():
        section, _, field = key.partition("__")
        if field:
            job["Arguments"].setdefault(section, {})[field] = value
        else:
            job["Arguments"][section] = value
    pipeline.add(model)
    pipeline.add(job)
    return job


@pytest.mark.slow  # a fresh interpreter importing xgboost: seconds on a busy machine
def test_builtin_xgboost_predicts_each_line_like_the_real_container(runner, pipeline, local_aws, booster):
    features, _, _ = _abalone()
    raw = booster.save_raw("ubj")
    _upload(local_aws, f"{pipeline.bucket}/models/model.tar.gz", _archive({"xgboost-model": bytes(raw)}))
    lines = "\n".join(",".join(map(str, row)) for row in features[:50]) + "\n"
    _upload(local_aws, f"{pipeline.bucket}/batch/input.csv", lines.encode())
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/model.tar.gz",
        f"{pipeline.bucket}/batch/input.csv",
        TransformInput__SplitType="Line",
        TransformOutput__AssembleWith="Line",
        MaxPayloadInMB=1,
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    job = record.steps["AbaloneTransform"].properties
    assert job["TransformJobStatus"] == "Completed" and job["BatchStrategy"] == "MultiRecord"
    assert job["ModelName"] == record.steps["CreateAbaloneModel-CreateModel"].properties["ModelName"]
    output = _read(local_aws, f"{pipeline.bucket}/transform-out/input.csv.out").splitlines()
    expected = booster.predict(xgb.DMatrix(features[:50]))
    assert output == [str(p) for p in expected.tolist()]  # str() of each float, as serve.py writes


@pytest.mark.slow  # a fresh interpreter importing xgboost: seconds on a busy machine
def test_join_and_filters_keep_an_id_column_next_to_the_prediction(runner, pipeline, local_aws, booster):
    features, _, _ = _abalone()
    _upload(
        local_aws,
        f"{pipeline.bucket}/models/model.tar.gz",
        _archive({"xgboost-model": bytes(booster.save_raw("ubj"))}),
    )
    # An id column first, as AWS's guide does: the model must not see it, the output must keep it.
    lines = "".join(f"id-{i}," + ",".join(map(str, row)) + "\n" for i, row in enumerate(features[:20]))
    _upload(local_aws, f"{pipeline.bucket}/batch/ids/part-1.csv", lines.encode())
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/model.tar.gz",
        f"{pipeline.bucket}/batch/ids",
        TransformInput__SplitType="Line",
        TransformOutput__AssembleWith="Line",
        BatchStrategy="SingleRecord",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    rows = [
        line.split(",")
        for line in _read(local_aws, f"{pipeline.bucket}/transform-out/part-1.csv.out").splitlines()
    ]
    expected = booster.predict(xgb.DMatrix(features[:20]))
    assert [r[0] for r in rows] == [f"id-{i}" for i in range(20)]
    assert [float(r[1]) for r in rows] == pytest.approx(expected.tolist())


@pytest.mark.slow  # a fresh interpreter importing xgboost: seconds on a busy machine
def test_a_record_over_max_payload_fails_the_job_with_a_clear_reason(runner, pipeline, local_aws, booster):
    _upload(
        local_aws,
        f"{pipeline.bucket}/models/model.tar.gz",
        _archive({"xgboost-model": bytes(booster.save_raw("ubj"))}),
    )
    _upload(local_aws, f"{pipeline.bucket}/batch/big.csv", b"1," * 600_000 + b"1\n")
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/model.tar.gz",
        f"{pipeline.bucket}/batch/big.csv",
        TransformInput__SplitType="Line",
        MaxPayloadInMB=1,
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")
    assert record.status == ExecutionStatus.FAILED
    assert "big.csv: record 1 is 1200001 bytes, more than MaxPayloadInMB allows" in record.failure_reason


def test_a_framework_model_runs_the_users_inference_script(runner, pipeline, local_aws, booster):
    script = b"""
import json, os
import numpy as np
def model_fn(model_dir):
    return {"scale": float(open(os.path.join(model_dir, "scale.txt")).read())}
def input_fn(body, content_type):
    assert content_type == "application/json", content_type
    return np.array(json.loads(body)["values"])
def predict_fn(data, model):
    return data.sum() * model["scale"]
def output_fn(prediction, accept):
    return json.dumps({"total": float(prediction)})
"""
    # As the SDK deploys a framework model: the script in its own sourcedir.tar.gz, named by the
    # model's SAGEMAKER_SUBMIT_DIRECTORY; the model archive holds the artifacts only.
    _upload(local_aws, f"{pipeline.bucket}/models/script.tar.gz", _archive({"scale.txt": b"2"}))
    _upload(local_aws, f"{pipeline.bucket}/code/sourcedir.tar.gz", _archive({"serve.py": script}))
    _upload(local_aws, f"{pipeline.bucket}/batch/json/a.jsonl", b'{"values": [1, 2]}\n{"values": [3]}\n')
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/script.tar.gz",
        f"{pipeline.bucket}/batch/json",
        TransformInput__SplitType="Line",
        TransformInput__ContentType="application/json",
        TransformOutput__AssembleWith="Line",
        TransformOutput__Accept="application/json",
        DataProcessing={"JoinSource": "Input"},
    )
    pipeline.steps[-2]["Arguments"]["PrimaryContainer"]["Environment"] = {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": f"{pipeline.bucket}/code/sourcedir.tar.gz",
    }
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    output = [
        json.loads(line)
        for line in _read(local_aws, f"{pipeline.bucket}/transform-out/a.jsonl.out").splitlines()
    ]
    assert output == [
        {"values": [1, 2], "SageMakerOutput": {"total": 6.0}},
        {"values": [3], "SageMakerOutput": {"total": 6.0}},
    ]


@pytest.mark.slow  # a fresh interpreter importing xgboost: seconds on a busy machine
def test_the_projects_image_is_served_by_its_inference_module(runner, pipeline, local_aws):
    features, rings, rows = _abalone()
    # The project's layout: the numeric columns, then sex one-hot encoded (dataset.feature_names()).
    project = np.column_stack([features[:, 1:], *[[float(r[0] == s) for r in rows] for s in "FIM"]])
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(project, label=rings), num_boost_round=5)
    _upload(
        local_aws,
        f"{pipeline.bucket}/models/project.tar.gz",
        _archive({"xgboost-model": bytes(booster.save_raw("ubj"))}),
    )
    body = "".join(",".join(map(str, row)) + "\n" for row in project[:30])
    _upload(local_aws, f"{pipeline.bucket}/batch/project.csv", body.encode())
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/project.tar.gz",
        f"{pipeline.bucket}/batch/project.csv",
        TransformInput__SplitType="Line",
        BatchStrategy="MultiRecord",
    )
    pipeline.steps[-2]["Arguments"]["PrimaryContainer"]["Image"] = pipeline.settings.processing_image_uri
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    assert (
        _read(local_aws, f"{pipeline.bucket}/transform-out/project.csv.out")
        == inference.predict_csv(booster, body.encode()).decode()
    )


def test_what_cannot_run_locally_is_known_before_the_run():
    step = json.loads(FIXTURE.read_text())["Steps"][-1]["Arguments"]["IfSteps"][-1]
    assert preflight_problems(step) == []
    arguments = step["Arguments"]
    arguments["TransformInput"]["SplitType"] = "RecordIO"
    arguments["DataProcessing"] = {"InputFilter": "features"}
    assert preflight_problems(step) == [
        "TransformInput.SplitType 'RecordIO' cannot run locally (supported: None, Line)",
        "DataProcessing.InputFilter 'features' must start with '$' (a JSONPath expression)",
    ]


@given(st.lists(st.integers(), min_size=1, max_size=8), st.integers(-8, 8), st.integers(-8, 8))
def test_index_filters_select_like_python_slices(columns, start, end):
    assert select(f"$[{start}:{end}]", columns) == columns[start:end]
    assert select(f"$[{start}:]", columns) == columns[start:]
    if -len(columns) <= start < len(columns):
        assert select(f"$[{start},{start}:]", columns) == [columns[start], *columns[start:]]
    else:
        with pytest.raises(TransformError, match="the record has"):
            select(f"$[{start}]", columns)


@given(
    st.lists(st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip()), max_size=30),
    st.sampled_from(["MultiRecord", "SingleRecord"]),
    st.integers(40, 200),
)
def test_mini_batches_keep_every_record_in_order_within_the_payload(records, strategy, limit):
    batches = list(mini_batches(records, strategy, limit, "input.csv"))
    assert [r for batch in batches for r in batch] == records
    assert all(len(b"\n".join(batch)) <= limit for batch in batches)
    if strategy == "SingleRecord":
        assert all(len(batch) == 1 for batch in batches)
    assert split_records(b"\n".join(records) + b"\n", "Line") == records


def test_json_records_are_filtered_by_name_and_joined_under_sagemaker_output():
    record = b'{"id": 7, "features": [1.5, 2]}'
    assert filter_record(record, "$.features", "application/jsonlines") == b"[1.5,2]"
    joined = join(record, b"0.25\n", "application/jsonlines")
    assert json.loads(joined) == {"id": 7, "features": [1.5, 2], "SageMakerOutput": 0.25}
    assert filter_record(joined, "$['id','SageMakerOutput']", "application/jsonlines") == b"[7,0.25]"
    assert join(b"[1, 2]", b"3", "application/json") == b"[1,2,3]"
    assert join(b"a,1,2", b"3\n", "text/csv") == b"a,1,2,3"
    with pytest.raises(TransformError, match="selects nothing"):
        filter_record(record, "$.missing", "application/jsonlines")


@pytest.mark.slow  # a fresh interpreter importing xgboost: seconds on a busy machine
def test_data_capture_writes_input_and_output_manifests_in_the_hour_folder(
    runner, pipeline, local_aws, booster
):
    features, _, _ = _abalone()
    _upload(
        local_aws,
        f"{pipeline.bucket}/models/model.tar.gz",
        _archive({"xgboost-model": bytes(booster.save_raw("ubj"))}),
    )
    for part in ("a", "b"):
        lines = "\n".join(",".join(map(str, row)) for row in features[:5]) + "\n"
        _upload(local_aws, f"{pipeline.bucket}/batch/in/{part}.csv", lines.encode())
    capture = f"{pipeline.bucket}/capture/my-endpoint"
    _sdk_steps(
        pipeline,
        f"{pipeline.bucket}/models/model.tar.gz",
        f"{pipeline.bucket}/batch/in/",
        TransformInput__SplitType="Line",
        TransformOutput__AssembleWith="Line",
        DataCaptureConfig={"DestinationS3Uri": capture},
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    bucket, prefix = s3_uri.split(capture)
    keys = [o["Key"] for o in local_aws.clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    hour = record.started_at.strftime("%Y/%m/%d/%H")
    by_mode = {key.split("/")[len(prefix.split("/"))]: key for key in keys}
    assert sorted(by_mode) == ["input", "output"] and all(f"/{hour}/" in key for key in keys)
    assert json.loads(_read(local_aws, s3_uri.build(bucket, by_mode["input"]))) == [
        {"prefix": f"{pipeline.bucket}/batch/in/"},
        "a.csv",
        "b.csv",
    ]
    assert json.loads(_read(local_aws, s3_uri.build(bucket, by_mode["output"]))) == [
        {"prefix": f"{pipeline.bucket}/transform-out/"},
        "a.csv.out",
        "b.csv.out",
    ]
