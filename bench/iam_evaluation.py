"""What IAM enforcement costs a local run: reading the policies, and one evaluation.

Reads the policies of a cloud assembly (default: the demo's ``build/loop/cdk.out``), then evaluates
the calls a run makes most (an object write by the job role, a denied call, an S3 call's KMS side
call, the resources of ``sagemaker:CreateEndpoint``) many times each and prints the mean per call.
Run: ``.venv/bin/python bench/iam_evaluation.py [--cdk-out DIR] [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud.cloudformation import TemplateSet  # noqa: E402
from localcloud.iam import reference  # noqa: E402
from localcloud.iam.evaluator import Principal, evaluate  # noqa: E402
from localcloud.iam.store import PolicyStore  # noqa: E402
from pipelines.settings import load  # noqa: E402


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
    args = parser.parse_args()
    settings = load("dev")
    started = time.perf_counter()
    store = PolicyStore.from_templates(TemplateSet.load(settings, args.cdk_out))
    print(
        f"{'reading the policies of ' + str(args.cdk_out):55} {(time.perf_counter() - started) * 1e3:7.1f} ms"
    )
    job = Principal(role_arn=settings.role_arn("sagemaker-execution"), session="SageMaker")
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


if __name__ == "__main__":
    main()
