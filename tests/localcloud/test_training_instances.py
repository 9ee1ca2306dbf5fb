"""``ResourceConfig.InstanceCount > 1``: one process per host, each with its own /opt/ml,
resourceconfig.json and share of a ``ShardedByS3Key`` channel; the model is algo-1's."""

from __future__ import annotations

import io
import json
import tarfile

from localcloud import ExecutionStatus
from processing_scripts import s3_uri
from tests.localcloud.conftest import SETTINGS

# What each host saw, written where SageMaker archives the model (only algo-1's is kept).
REPORT_HOST = """
import json, os
from processing_scripts import contract
config = json.loads(contract.host_path("/opt/ml/input/config/resourceconfig.json").read_text())
channel = contract.host_path("/opt/ml/input/data/train")
seen = {"config": config, "files": sorted(p.name for p in channel.iterdir())}
model = contract.host_path("/opt/ml/model")
model.mkdir(parents=True, exist_ok=True)
(model / "host.json").write_text(json.dumps(seen))
print("host", config["current_host"], "of", config["hosts"], "read", seen["files"])
"""


def _model_members(aws, uri: str) -> dict[str, bytes]:
    bucket, key = s3_uri.split(uri, key_required=True)
    body = aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_each_host_runs_with_its_own_config_and_shard_and_the_model_is_algo_1s(runner, pipeline, local_aws):
    bucket, _ = s3_uri.split(pipeline.bucket)
    for part in ("a.csv", "b.csv"):
        local_aws.clients.s3.put_object(Bucket=bucket, Key=f"shards/{part}", Body=b"1,2\n")
    job = pipeline.training_job({"train": f"{pipeline.bucket}/shards/"}, {})
    job["AlgorithmSpecification"] = {
        "TrainingImage": SETTINGS.processing_image_uri,
        "TrainingInputMode": "File",
        "ContainerEntrypoint": ["python3", "-c", REPORT_HOST],
    }
    job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    job["ResourceConfig"]["InstanceCount"] = 2
    pipeline.add({"Name": "Train", "Type": "Training", "Arguments": job})

    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    step = record.steps["Train"]
    kept = json.loads(
        _model_members(local_aws, step.properties["ModelArtifacts"]["S3ModelArtifacts"])["host.json"]
    )
    hosts = ["algo-1", "algo-2"]
    assert kept == {
        "config": {
            "current_host": "algo-1",
            "current_instance_type": "ml.m5.large",
            "current_group_name": "homogeneousCluster",
            "hosts": hosts,
            "instance_groups": [
                {"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.large", "hosts": hosts}
            ],
            "network_interface_name": "eth0",
        },
        "files": ["a.csv"],
    }
    log = (record.run_dir / step.log_file).read_text()
    assert "[algo-2] host algo-2 of ['algo-1', 'algo-2'] read ['b.csv']" in log
