"""The real synthesized dev training pipeline, end to end on the abalone data: registered, deployed,
and reused from the step cache when run again with the same inputs.

That a new data snapshot of the same ``InputDataUrl`` reruns every job step (no cache hit, a new
model, the snapshot in the package's metadata) is proven by the demo's retraining (test_loop.py),
which is that run; running it here too cost ~6 s for no assertion of its own.
"""

from __future__ import annotations

import json

import pytest

from localcloud import ExecutionStatus, LocalPipelineRunner, StepStatus
from pipelines import settings as settings_module
from processing_scripts import s3_uri

SETTINGS = settings_module.load("dev")
# Evaluate is cached too, but its arguments name the execution: only a retry of the same one hits.
CACHED_STEPS = ("Preprocess", "Train", "Baseline")


@pytest.mark.slow
def test_synthesized_training_pipeline_registers_deploys_and_reruns_from_cache(local_aws, tmp_path):
    from pipelines.synth import render_pipelines

    name = SETTINGS.training_pipeline_name
    definition = json.loads(render_pipelines(SETTINGS)[name])
    runner = LocalPipelineRunner(SETTINGS, local_aws, tmp_path / "runs")

    first = runner.run(definition, {"GitCommit": "e2e-test"}, pipeline_name=name)

    assert first.status == ExecutionStatus.SUCCEEDED, first.failure_reason
    assert first.warnings == []  # the definition matches this checkout (image tag, XGBoost version)
    assert first.steps["QualityGateFailed"].status == StepStatus.SKIPPED
    sagemaker = local_aws.clients.sagemaker
    package = sagemaker.describe_model_package(ModelPackageName=first.model_package_arn)
    assert package["ModelPackageGroupName"] == SETTINGS.model_package_group
    assert package["ModelApprovalStatus"] == SETTINGS.model_approval_status
    assert package["CustomerMetadataProperties"]["GitCommit"] == "e2e-test"
    assert package["CustomerMetadataProperties"]["PipelineExecutionArn"] == first.execution_arn
    statistics = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert statistics.endswith("/statistics.json")
    evaluation_uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = s3_uri.split(evaluation_uri)
    evaluation = json.loads(local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert evaluation["regression_metrics"]["rmse"]["value"] <= SETTINGS.quality_gate.threshold
    assert first.steps["Deploy"].properties["OutputParameters"]["endpoint_name"] == SETTINGS.endpoint_name
    assert sagemaker.describe_endpoint(EndpointName=SETTINGS.endpoint_name)["EndpointName"]

    pending = {"GitCommit": "e2e-test", "ModelApprovalStatus": "PendingManualApproval"}
    second = runner.run(definition, pending, pipeline_name=name)

    assert second.status == ExecutionStatus.SUCCEEDED, second.failure_reason
    assert all(second.steps[step].cache_hit for step in CACHED_STEPS)
    assert second.model_package_arn != first.model_package_arn  # registration is never cached
    assert second.steps["Deploy"].status == StepStatus.SKIPPED  # not approved: not deployed

    # The evaluation report names its execution and compares with what the endpoint served then:
    # nothing before the first deploy, the first run's model (and its registered evaluation) after.
    first_report, second_report = (evaluation_report(local_aws, record) for record in (first, second))
    assert first.execution_arn in first_report and second.execution_arn in second_report
    assert f"no model deployed yet (endpoint {SETTINGS.endpoint_name} does not exist)" in first_report
    assert f"<td>{first.model_package_arn}</td>" in second_report
    assert f"<td>{evaluation_uri}</td>" in second_report
    rmse = evaluation["regression_metrics"]["rmse"]["value"]
    assert (
        f'<tr><td>rmse</td><td class="number">{rmse:.6g}</td><td class="number">{rmse:.6g}</td>'
        in second_report
    )


def evaluation_report(local_aws, record) -> str:
    """The report.html the execution's Evaluate job uploaded."""
    [output] = record.steps["Evaluate"].properties["ProcessingOutputConfig"]["Outputs"]
    bucket, key = s3_uri.split(s3_uri.join(output["S3Output"]["S3Uri"], "report.html"))
    return local_aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
