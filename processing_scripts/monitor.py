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

With ``--stage prod`` the endpoint (``--endpoint-name``) is a deployment stage's, in the stage's
account: the job cannot describe it, so the served version is the one the build account's registry
records as deployed there last (``--stage-deployed-key`` in the package's metadata), and the metrics
carry the stage schedule's name (docs/multi-account.md#how-prod-is-monitored). Nothing recorded
yet is nothing to check.

With ``--mode profile`` and ``--mode merge`` the check runs sharded over several instances, as two
jobs: see ``processing_scripts/monitor_sharded.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from processing_scripts import contract, dataset, job, model_quality, s3_uri
from processing_scripts.aws_clients import AwsClients, AwsTarget
from processing_scripts.deployed_model import (
    EndpointNotDeployed,
    StageNotDeployed,
    served_model,
    stage_served_package,
)
from processing_scripts.drift import engine, metrics, sources
from processing_scripts.drift.capture import TimeWindow, parse_time
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.partial import BaselineRef
from processing_scripts.drift.report_context import ReportContext
from processing_scripts.drift.storage import Storage, join
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
    parser.add_argument("--problem-type", default=dataset.schema().problem_type, choices=PROBLEM_TYPES)
    parser.add_argument(
        "--share-threshold",
        type=float,
        default=None,
        help="the retrain alarm's threshold, shown in the report",
    )
    parser.add_argument("--execution-id", default="", help="the pipeline execution, shown in the report")
    parser.add_argument(
        "--stage",
        default="",
        help="a deployment stage whose endpoint (--endpoint-name, in another account) is checked; "
        "empty: an endpoint of this account",
    )
    parser.add_argument("--monitored-stage", default="", help="the one stage --stage may name (the last)")
    parser.add_argument("--model-package-group", default="", help="the registry records what a stage serves")
    parser.add_argument(
        "--stage-deployed-key",
        default="",
        help="the CustomerMetadataProperties key with the time a version was deployed to the stage",
    )
    parser.add_argument(
        "--stage-schedule-name", default="", help="the schedule dimension of the stage's metrics"
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html (no matplotlib)")
    model_quality.add_arguments(parser)
    parser.add_argument(
        "--mode",
        choices=(contract.Monitor.SINGLE_MODE, contract.Monitor.PROFILE_MODE, contract.Monitor.MERGE_MODE),
        default=contract.Monitor.SINGLE_MODE,
        help="single: the whole check; profile: this instance's shard to a partial profile; "
        "merge: the partial profiles to the check's files and metrics (see drift/partial.py)",
    )
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
    return package_baseline_uris(sagemaker, package)


def stage_baseline_uris(sagemaker: Any, args: argparse.Namespace) -> DeployedBaseline:
    """The baseline of the version the registry records as deployed to ``args.stage`` last: the
    stage's endpoint is in the stage's account, which this job does not describe."""
    try:
        package = stage_served_package(sagemaker, args.model_package_group, args.stage_deployed_key)
    except StageNotDeployed as err:
        raise NothingToCheckYet(f"{err}: nothing is deployed to {args.stage} yet") from err
    return package_baseline_uris(sagemaker, package)


def package_baseline_uris(sagemaker: Any, package: str) -> DeployedBaseline:
    """The statistics and constraints S3 URIs registered with ``package``."""
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


def _check_stage(args: argparse.Namespace) -> None:
    """``--stage`` names the monitored stage of a pipeline synthesized with stages, or nothing."""
    if not args.stage:
        return
    if not args.monitored_stage:
        raise job.JobInputError(
            f"--stage {args.stage}: this monitoring pipeline was synthesized without deployment "
            "stages (MLOPS_STAGES); leave Stage empty, or synthesize and deploy with the stages"
        )
    if args.stage != args.monitored_stage:
        raise job.JobInputError(
            f"--stage {args.stage}: only the last stage, {args.monitored_stage}, is monitored "
            "(the others see only the staging test's synthetic traffic); use Stage="
            f"{args.monitored_stage} or leave it empty"
        )
    needed = {
        "--model-package-group": args.model_package_group,
        "--stage-deployed-key": args.stage_deployed_key,
        "--stage-schedule-name": args.stage_schedule_name,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise job.JobInputError(f"--stage {args.stage} needs {', '.join(missing)}")


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
    window = _window(args)
    _check_capture_uri(args.capture_uri)
    _check_stage(args)
    if args.mode != contract.Monitor.SINGLE_MODE:
        from processing_scripts import monitor_sharded  # imports this module: only when sharded

        return monitor_sharded.run(args, clients, storage, window)
    try:
        with input_errors():
            baseline, used = resolve_baseline(args, clients, storage)
            source = sources.open_source(storage, args.capture_uri, window=window)
            # Model quality is judged on an older window, once its labels had time to arrive (publish).
            result = engine.run_check(baseline, source, problem_type=args.problem_type)
    except NothingToCheckYet as reason:
        write_nothing_to_check(str(reason))
        return
    publish(args, clients, storage, result=result, baseline=baseline, used=used, window=window)


def resolve_baseline(
    args: argparse.Namespace, clients: AwsClients, storage: Storage
) -> tuple[engine.Baseline, BaselineRef]:
    """The baseline to check against: the given folder's, or the deployed model package's."""
    if args.baseline_uri:
        used = BaselineRef(
            join(args.baseline_uri, contract.STATISTICS_FILE),
            join(args.baseline_uri, contract.CONSTRAINTS_FILE),
            shown_as=args.baseline_uri,
            model_package=None,
        )
    else:
        deployed = (
            stage_baseline_uris(clients.sagemaker, args)
            if args.stage
            else deployed_baseline_uris(clients.sagemaker, args.endpoint_name)
        )
        used = BaselineRef(
            deployed.statistics, deployed.constraints, deployed.statistics, deployed.model_package
        )
    return engine.load_baseline_files(storage, used.statistics, used.constraints), used


@contextmanager
def input_errors() -> Iterator[None]:
    """Input the check cannot use becomes one line (exit 1), not a traceback."""
    try:
        yield
    except (DriftInputError, ValueError) as err:
        raise job.JobInputError(str(err)) from err
    except ClientError as err:  # a bucket that does not exist, or one this job may not read
        code = err.response.get("Error", {}).get("Code", "?")
        raise job.JobInputError(f"{err.operation_name} failed with {code}: {err}") from err


def write_nothing_to_check(reason: str) -> None:
    """The summary of a check that had nothing to check yet; no metrics are published."""
    out_dir = Path(contract.host_path(contract.Monitor.REPORT))
    summary = {"version": 1, "verdict": engine.NOTHING_TO_CHECK, "message": f"nothing to check: {reason}"}
    job.write_all_or_nothing({out_dir / contract.DRIFT_SUMMARY_FILE: json.dumps(summary, indent=2)})
    log.info("%s (no metrics published)", summary["message"])


def publish(
    args: argparse.Namespace,
    clients: AwsClients,
    storage: Storage,
    *,
    result: engine.CheckResult,
    baseline: engine.Baseline,
    used: BaselineRef,
    window: TimeWindow,
) -> None:
    """Write the check's files and publish its metrics (one instance's check, or the merged shards'),
    then judge model quality (one instance: every prediction meets its label in one place)."""
    out_dir = Path(contract.host_path(contract.Monitor.REPORT))
    context = ReportContext(
        endpoint=args.endpoint_name,
        data=args.capture_uri,
        baseline=used.shown_as,
        model_package=used.model_package,
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
    schedule = args.stage_schedule_name if args.stage else args.schedule_name
    dimensions = {args.endpoint_dimension: args.endpoint_name, args.schedule_dimension: schedule}
    data = metrics.metric_data(result, names, dimensions, window.end)
    calls = metrics.publish(clients.cloudwatch, args.metric_namespace, data)
    log.info("%s: %s (%d metrics in %d calls)", result.verdict, result.message, len(data), calls)
    model_quality.run(
        args, baseline=baseline, storage=storage, clients=clients, package=used.model_package,
        run_end=window.end, out_dir=out_dir,
    )  # fmt: skip
    if result.verdict not in (*engine.CHECKED, engine.NOTHING_TO_CHECK):
        raise job.JobInputError(result.message)


if __name__ == "__main__":
    job.exit_with(main)
