"""`run-local --cdk-out`: a job's own AWS calls run as its RoleArn, under the templates' policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.iam import CALLS_FILE
from pipelines.settings import JOB_ROLE
from tests.pipelines.cli_runner import run

PUBLISH = """
from processing_scripts.aws_clients import AwsClients, AwsTarget
cloudwatch = AwsClients(AwsTarget.from_env()).cloudwatch
cloudwatch.put_metric_data(Namespace=sys.argv[1], MetricData=[{"MetricName": "m", "Value": 1.0}])
print("published to", sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("allowed", [True, False])
def test_a_job_publishes_only_to_the_namespaces_its_role_may(
    allowed: bool, pipeline, deployed_artifacts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The execution role's PutMetricData grant is limited by a ``cloudwatch:namespace`` condition;
    the job's request carries the namespace, and the local cloud evaluates it as IAM would."""
    namespace = pipeline.settings.monitoring.metric_namespace if allowed else "SomeoneElse"
    pipeline.processing("Publish", PUBLISH, arguments=[namespace])
    definition = tmp_path / "publish.json"
    definition.write_text(json.dumps(pipeline.definition()))

    code, _, err = run(
        capsys,
        "run-local",
        str(definition),
        "--cdk-out",
        str(deployed_artifacts.cdk_out),
        "--runs-dir",
        str(tmp_path / "runs"),
    )

    calls = json.loads((tmp_path / "runs" / CALLS_FILE).read_text())["calls"]
    (publish,) = [c for c in calls if c["action"] == "cloudwatch:PutMetricData"]
    assert publish["principal"] == pipeline.settings.role_arn(JOB_ROLE)
    assert publish["allowed"] is allowed
    if allowed:
        assert code == 0, err
    else:
        assert code == 5
        assert "not authorized to perform: cloudwatch:PutMetricData on resource: *" in " ".join(err.split())
