"""Test-wide safety: no test can reach real AWS, and the SDK and CDK stay offline and quiet."""

from __future__ import annotations

import os

# Set before any test module imports boto3, the sagemaker SDK or aws_cdk.
_OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "MLOPS_ENV": "dev",
}
os.environ.update(_OFFLINE_ENV)
for _var in (
    "AWS_PROFILE",
    "MLOPS_ACCOUNT",
    "MLOPS_REGION",
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "MLOPS_AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "MLOPS_NOTIFICATION_EMAIL",
):
    os.environ.pop(_var, None)

# Property tests explore new random examples on developer machines, where a surprise is a bug to
# fix; under CI they replay a fixed sequence, so a landing never fails by the luck of the draw.
from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis.load_profile("ci")
