"""What IAM enforcement costs a local run: reading the policies, and one evaluation.

Reads the policies of a cloud assembly (default: the demo's ``build/loop/cdk.out``), then evaluates
the calls a run makes most (an object write by the job role, a denied call, an S3 call's KMS side
call, the resources of ``sagemaker:CreateEndpoint``) many times each and prints the mean per call.
Then, in the emulator, the job role reads an object of the encrypted data bucket ``--requests``
times: the median time the whole check of one request takes (action, resources, context, the two
evaluations, the log) against the median request.
Run: ``.venv/bin/python bench/iam_evaluation.py [--cdk-out DIR] [--calls 20000] [--requests 300]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud.account import LocalAws  # noqa: E402
from localcloud.cloudformation import TemplateSet  # noqa: E402
from localcloud.iam import AccessControl, reference  # noqa: E402
from localcloud.iam.evaluator import Principal, evaluate  # noqa: E402
from localcloud.iam.store import PolicyStore  # noqa: E402
from pipelines.settings import JOB_ROLE, Settings, load  # noqa: E402
from processing_scripts import s3_uri  # noqa: E402


def _per_call(label: str, calls: int, call: Callable[[], object]) -> None:
    call()  # warm: compiled patterns, the per-role action index
    started = time.perf_counter()
    for _ in range(calls):
        call()
    print(f"{label:55} {(time.perf_counter() - started) / calls * 1e6:7.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=REPO_ROOT / "build" / "loop" / "cdk.out")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    settings = load("dev")
    started = time.perf_counter()
    store = PolicyStore.from_templates(TemplateSet.load(settings, args.cdk_out))
    print(
        f"{'reading the policies of ' + str(args.cdk_out):55} {(time.perf_counter() - started) * 1e3:7.1f} ms"
    )
    job = Principal(role_arn=settings.role_arn(JOB_ROLE), session="SageMaker")
    context = {"aws:securetransport": ["true"]}
    artifacts = f"arn:aws:s3:::{settings.bucket_name('artifacts')}"
    key = next(iter(store.bucket_keys.values()))
    via_s3 = context | {"kms:viaservice": [f"s3.{settings.region}.amazonaws.com"]}
    pseudo = {"Partition": "aws", "Region": settings.region, "Account": settings.account}
    create_endpoint = reference.action("sagemaker:CreateEndpoint")
    endpoint = {"EndpointName": settings.endpoint_name, "EndpointConfigName": f"{settings.endpoint_name}-v1"}
    n = args.calls
    _per_call(
        "s3:PutObject by the job role (allowed)",
        n,
        lambda: evaluate(store, job, "s3:PutObject", f"{artifacts}/a/b.csv", context),
    )
    _per_call(
        "sagemaker:DeleteEndpoint by the job role (denied)",
        n,
        lambda: evaluate(store, job, "sagemaker:DeleteEndpoint", "arn:aws:sagemaker:x", context),
    )
    _per_call(
        "kms:GenerateDataKey via S3 (key policy + IAM)",
        n,
        lambda: evaluate(store, job, "kms:GenerateDataKey", key, via_s3),
    )
    _per_call(
        "resources of sagemaker:CreateEndpoint (reference)",
        n,
        lambda: reference.resources_of(create_endpoint, endpoint, pseudo),
    )
    _per_request(settings, store, args.requests)


def _per_request(settings: Settings, store: PolicyStore, requests: int) -> None:
    checks: list[float] = []
    check = AccessControl.check_request

    def timed(self: AccessControl, response: object, resource: str) -> None:
        started = time.perf_counter()
        try:
            check(self, response, resource)
        finally:
            checks.append(time.perf_counter() - started)

    AccessControl.check_request = timed  # type: ignore[method-assign]
    bucket, key = s3_uri.split(settings.raw_data_uri, key_required=True)
    durations = []
    with LocalAws(settings) as aws, AccessControl(aws, store) as control:
        s3 = control.clients_for(settings.role_arn(JOB_ROLE), "SageMaker").s3
        for _ in range(requests):
            started = time.perf_counter()
            s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            durations.append(time.perf_counter() - started)
    print(f"{'first checked request (loads the reference)':55} {checks[0] * 1e3:7.1f} ms")
    print(
        f"{'check of one request in the emulator (median)':55} {statistics.median(checks[1:]) * 1e6:7.1f} µs"
    )
    print(f"{'the request itself (median)':55} {statistics.median(durations[1:]) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
