"""The one client factory: same code, real AWS or an emulator, by configuration alone."""

from __future__ import annotations

import pytest

from processing_scripts.aws_clients import ENDPOINT_ENV, AwsClients, AwsTarget


def test_endpoint_url_routes_every_client_and_fails_fast():
    clients = AwsClients(AwsTarget(region="eu-west-1", endpoint_url="http://127.0.0.1:5999"))
    for client in (clients.s3, clients.sagemaker, clients.cloudwatch):
        assert client.meta.endpoint_url == "http://127.0.0.1:5999"
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.config.retries["total_max_attempts"] == 1
    assert clients.client("s3") is clients.s3  # one client per service


def test_real_aws_keeps_standard_retries():
    clients = AwsClients(AwsTarget(region="us-east-1"))
    assert clients.sagemaker.meta.endpoint_url == "https://api.sagemaker.us-east-1.amazonaws.com"
    assert clients.sagemaker.meta.config.retries["mode"] == "standard"


def test_from_env_reads_the_standard_variables(monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    target = AwsTarget.from_env()
    assert target.endpoint_url == "http://127.0.0.1:5000" and target.region == "ap-southeast-2"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ValueError, match="no AWS region"):
        AwsTarget.from_env()
