"""Monitoring job: one time window of endpoint capture checked against the deployed model's baseline.

Runs on a schedule as ``python3 -m processing_scripts.monitor`` in the project's image. It reads the
window's capture files straight from S3 (only the window's hour folders are listed), finds the
baseline (given, or the one registered with the model package the endpoint serves), writes
``constraint_violations.json``, ``statistics.json``, ``drift_summary.json`` and ``report.html`` to the
job's output folder, and publishes CloudWatch metrics the drift alarm watches. With ground truth,
:mod:`processing_scripts.model_quality` then merges an older window's predictions with their labels
(``model_quality/`` in the output folder, metrics the quality alarm watches).

Exit status: 0 when the check ran (drift or not) and when there was nothing to check (no metrics are
published then): an empty window, and, with no ``--baseline-uri``, an endpoint not deployed yet or a
served model package without a registered baseline (the schedule runs from the stack's first deploy,
before any model: it must not alarm every hour until then). 1 with a one-line reason when the input
could not be checked (a given baseline that is missing or malformed, a capture URI that is not an
S3 URI or names a bucket that does not exist, a window outside the calendar, data that does not
match the baseline's features): the pipeline step fails visibly instead of reporting a verdict it
does not have.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from processing_scripts import contract, dataset, job, model_quality, s3_uri
from processing_scripts.aws_clients import AwsClients, AwsTarget
from processing_scripts.deployed_model import EndpointNotDeployed, served_model
from processing_scripts.drift import engine, metrics, sources
from processing_scripts.drift.capture import TimeWindow, parse_time
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.report_context import ReportContext
from processing_scripts.drift.storage import Storage
from processing_scripts.split_schema import PROBLEM_TYPES

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture-uri", required=True, help="s3://<capture bucket>/datacapture/<endpoint>")
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--window-hours", type=float, default=1.0)
    parser.add_argument("--window-end", default="", help="ISO 8601; empty means now")
    parser.add_argument(
        "--baseline-uri",
        default="",
        help="folder with the baseline files; empty: the endpoint's model package's",
    )
    parser.add_argument("--metric-namespace", required=True)
    parser.add_argument("--endpoint-dimension", default="Endpoint")
    parser.add_argument("--schedule-dimension", default="MonitoringSchedule")
    parser.add_argument("--schedule-name", required=True)
    parser.add_argument("--feature-metric-prefix", default="feature_baseline_drift_")
    parser.add_argument("--share-metric", default="drifted_feature_share")
    parser.add_argument("--violations-metric", default="constraint_violations")
    parser.add_argument("--problem-type", default=dataset.PROBLEM_TYPE, choices=PROBLEM_TYPES)
    parser.add_argument(
        "--share-threshold",
        type=float,
        default=None,
        help="the retrain alarm's threshold, shown in the report",
    )
    parser.add_argument("--execution-id", default="", help="the pipeline execution, shown in the report")
    parser.add_argument("--no-report", action="store_true", help="skip report.html (no matplotlib)")
    model_quality.add_arguments(parser)
    return parser.parse_args(argv)


class NothingToCheckYet(Exception):  # noqa: N818  (a verdict, not an error)
    """No endpoint, or no baseline for what it serves, yet: the schedule runs from the first deploy
    of the stack, before any model is deployed, and must not fail (alarm, email) every hour until then."""


class DeployedBaseline(NamedTuple):
    statistics: str
    constraints: str
    model_package: str  # named in the report: which model version the baseline belongs to


def deployed_baseline_uris(sagemaker: Any, endpoint: str) -> DeployedBaseline:
    """The statistics and constraints S3 URIs registered with the model package the endpoint serves."""
    try:
        served = served_model(sagemaker, endpoint)
    except EndpointNotDeployed as err:
        raise NothingToCheckYet(f"{err} (run the training pipeline first, or pass BaselineUri)") from err
    package = served.package_arn
    if not package:
        raise DriftInputError(
            f"endpoint {endpoint} serves model {served.model_name}, which was not created from a "
            "model package: pass --baseline-uri"
        )
    quality = (
        sagemaker.describe_model_package(ModelPackageName=package).get("DriftCheckBaselines") or {}
    ).get("ModelDataQuality") or {}
    try:
        return DeployedBaseline(quality["Statistics"]["S3Uri"], quality["Constraints"]["S3Uri"], package)
    except KeyError as err:
        raise NothingToCheckYet(
            f"model package {package} has no DriftCheckBaselines.ModelDataQuality statistics/constraints "
            "yet: register it with the baseline step's outputs, or pass --baseline-uri"
        ) from err


def _window(args: argparse.Namespace) -> TimeWindow:
    try:
        return TimeWindow.ending(parse_time(args.window_end) if args.window_end else None, args.window_hours)
    except (DriftInputError, ValueError, OverflowError) as err:
        reason = "it reaches outside the years 1-9999" if isinstance(err, OverflowError) else str(err)
        raise job.JobInputError(
            f"--window-end {args.window_end or '(now)'} --window-hours {args.window_hours:g}: {reason}"
        ) from err


def _check_capture_uri(uri: str) -> None:
    """A wrong capture URI is an error, never "nothing to check" (which an empty window is)."""
    try:
        s3_uri.split(uri)
    except s3_uri.S3UriError as err:
        raise job.JobInputError(f"--capture-uri {uri!r}: {err}") from err


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    clients = AwsClients(AwsTarget.from_env())
    storage = Storage(lambda: clients.s3)
    out_dir = Path(contract.host_path(contract.Monitor.REPORT))
    window = _window(args)
    _check_capture_uri(args.capture_uri)
    try:
        package = None
        if args.baseline_uri:
            baseline = engine.load_baseline(storage, args.baseline_uri)
            baseline_at = args.baseline_uri
        else:
            deployed = deployed_baseline_uris(clients.sagemaker, args.endpoint_name)
            baseline = engine.load_baseline_files(storage, deployed.statistics, deployed.constraints)
            baseline_at, package = deployed.statistics, deployed.model_package
        source = sources.open_source(storage, args.capture_uri, window=window)
        # Model quality is judged on an older window, once its labels had time to arrive (below).
        result = engine.run_check(baseline, source, problem_type=args.problem_type)
    except NothingToCheckYet as reason:
        summary = {"version": 1, "verdict": engine.NOTHING_TO_CHECK, "message": f"nothing to check: {reason}"}
        job.write_all_or_nothing({out_dir / contract.DRIFT_SUMMARY_FILE: json.dumps(summary, indent=2)})
        log.info("%s (no metrics published)", summary["message"])
        return
    except (DriftInputError, ValueError) as err:
        raise job.JobInputError(str(err)) from err
    except ClientError as err:  # a bucket that does not exist, or one this job may not read
        code = err.response.get("Error", {}).get("Code", "?")
        raise job.JobInputError(f"{err.operation_name} failed with {code}: {err}") from err

    context = ReportContext(
        endpoint=args.endpoint_name,
        data=args.capture_uri,
        baseline=baseline_at,
        model_package=package,
        execution=args.execution_id or None,
        share_threshold=args.share_threshold,
        # No wall-clock time: the window and the execution date the report, and the same inputs
        # give the same bytes (the container tests compare the job's outputs byte for byte).
    )
    files = engine.check_outputs(result, report=not args.no_report, context=context)
    job.write_all_or_nothing({out_dir / name: text for name, text in files.items()})
    names = metrics.MetricNames(
        args.metric_namespace, args.feature_metric_prefix, args.share_metric, args.violations_metric
    )
    dimensions = {args.endpoint_dimension: args.endpoint_name, args.schedule_dimension: args.schedule_name}
    data = metrics.metric_data(result, names, dimensions, window.end)
    calls = metrics.publish(clients.cloudwatch, args.metric_namespace, data)
    log.info("%s: %s (%d metrics in %d calls)", result.verdict, result.message, len(data), calls)
    model_quality.run(
        args, baseline=baseline, storage=storage, clients=clients, package=package,
        run_end=window.end, out_dir=out_dir,
    )  # fmt: skip
    if result.verdict not in (*engine.CHECKED, engine.NOTHING_TO_CHECK):
        raise job.JobInputError(result.message)


if __name__ == "__main__":
    job.exit_with(main)
