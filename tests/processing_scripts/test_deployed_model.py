"""Which version a deployment stage serves, read from the build account's registry (moto): the most
recent ``<stage>-deployed-at``, whatever the versions' order or the records' ISO 8601 spelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from processing_scripts.deployed_model import StageNotDeployed, StageRecordError, stage_served_package

GROUP = "abalone-mlops-dev-models"
KEY = "prod-deployed-at"
SPEC = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
# The same instant spelled as AWS SDKs and people write it: +00:00, Z, or another offset.
spellings = st.sampled_from(
    [
        lambda t: t.isoformat(),
        lambda t: t.isoformat().replace("+00:00", "Z"),
        lambda t: t.astimezone(timezone(timedelta(hours=-5))).isoformat(),
    ]
)


def _registry(records: list[dict[str, str]]) -> tuple[object, list[str]]:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            InferenceSpecification=SPEC,
            ModelApprovalStatus="Approved",
            **({"CustomerMetadataProperties": record} if record else {}),
        )["ModelPackageArn"]
        for record in records
    ]
    return sagemaker, arns


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.tuples(times, spellings)), min_size=1, max_size=5), st.data())
def test_the_most_recent_deployment_record_wins(recorded, data) -> None:
    with mock_aws():
        records = [{} if r is None else {KEY: r[1](r[0])} for r in recorded]
        sagemaker, arns = _registry(records)
        deployed = [(r[0], arn) for r, arn in zip(recorded, arns, strict=True) if r is not None]
        if not deployed:
            with pytest.raises(StageNotDeployed, match=f"records {KEY} yet"):
                stage_served_package(sagemaker, GROUP, KEY)
            return
        newest = max(at for at, _ in deployed)
        assert stage_served_package(sagemaker, GROUP, KEY) in {arn for at, arn in deployed if at == newest}


@pytest.mark.parametrize("recorded", ["2026-02-28", "2026-02-28T09:00:00", "28/02/2026 09:00 UTC"])
def test_a_record_without_a_utc_offset_is_refused_naming_the_package(recorded: str) -> None:
    with mock_aws():
        sagemaker, (arn,) = _registry([{KEY: recorded}])
        with pytest.raises(
            StageRecordError, match=f"model package {arn}: {KEY} '.*' is not an ISO 8601 time"
        ):
            stage_served_package(sagemaker, GROUP, KEY)
