"""The monitoring check sharded over several instances: ``monitor --mode profile`` then ``--mode merge``.

Why two jobs: the instances of one processing job cannot talk to each other, and the check's verdict
needs every shard's counts. So the profile job (``MonitoringSettings.instance_count`` instances)
writes one partial profile per instance, and a one-instance merge job reads them all and writes the
same ``statistics.json``, ``constraint_violations.json``, ``drift_summary.json``, ``report.html``
and CloudWatch metrics as one instance checking the whole window (``drift/partial.py`` says what is
exact). The merge loads the baseline the shards used (recorded in each partial), not the one
deployed when it runs, so a deploy in between cannot mix two baselines.

Each instance lists the window itself and takes its share of the keys from the cluster description
SageMaker gives every instance (``/opt/ml/config/resourceconfig.json``): the capture is read straight
from S3, only the window's hour folders, so no ``ProcessingInput`` copies months of capture.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from processing_scripts import contract, job
from processing_scripts import monitor as single
from processing_scripts.aws_clients import AwsClients
from processing_scripts.drift import engine, partial, sources
from processing_scripts.drift.capture import TimeWindow
from processing_scripts.drift.storage import Storage
from processing_scripts.drift.tabular import ReadStats

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, clients: AwsClients, storage: Storage, window: TimeWindow) -> None:
    if args.mode == contract.Monitor.PROFILE_MODE:
        profile_shard(args, clients, storage, window)
    else:
        merge_shards(args, clients, storage, window)


def _check(args: argparse.Namespace, window: TimeWindow) -> dict[str, object]:
    """What the shards and the merge must agree on having checked."""
    return {"capture_uri": args.capture_uri, "window": window.to_json()}


def profile_shard(
    args: argparse.Namespace, clients: AwsClients, storage: Storage, window: TimeWindow
) -> None:
    """Profile this instance's share of the window's capture files into its partial profile."""
    cluster = job.cluster()
    index, count = cluster.hosts.index(cluster.current_host), len(cluster.hosts)
    out = Path(contract.host_path(contract.Monitor.PARTIALS)) / partial.FILE_NAME.format(
        host=cluster.current_host
    )
    try:
        with single.input_errors():
            baseline, used = single.resolve_baseline(args, clients, storage)
            source = sources.open_source(storage, args.capture_uri, window=window)
            listed = source.files
            source.files = partial.shard_files(listed, index, count)
            profiles = engine.profile_check(baseline, source)
    except single.NothingToCheckYet as reason:
        shard = partial.Shard(index, count, cluster.current_host, 0, partial.listing_digest([]))
        doc = partial.partial_json(
            shard,
            check=_check(args, window),
            baseline=None,
            stats=ReadStats(),
            seen_columns=set(),
            profiles={},
            nothing_to_check=str(reason),
        )
    else:
        shard = partial.Shard(index, count, cluster.current_host, len(listed), partial.listing_digest(listed))
        doc = partial.partial_json(
            shard,
            check=_check(args, window),
            baseline=used,
            stats=source.stats,
            seen_columns=source.seen_columns,
            profiles=profiles,
        )
    job.write_all_or_nothing({out: partial.partial_text(doc)})
    rows = doc["reading"]["rows"]
    log.info("shard %d of %d: %d rows (%d files in the window)", index + 1, count, rows, shard.listed)


def merge_shards(args: argparse.Namespace, clients: AwsClients, storage: Storage, window: TimeWindow) -> None:
    """Merge every shard's partial profile and publish the check as one instance would."""
    folder = Path(contract.host_path(contract.Monitor.PARTIALS_INPUT))
    named = {str(p): p.read_bytes() for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}
    with single.input_errors():
        try:
            merged, docs = partial.read_partials(named)
        except partial.ListingMismatchError as mismatch:
            if mismatch.baseline is None:
                raise
            # Rare (capture landing in the window's last hour while the shards listed it) and never
            # wrong: the merge instance checks the whole window itself, as the single job would.
            log.warning("%s: checking the window in one pass instead", mismatch)
            used = mismatch.baseline
            baseline = engine.load_baseline_files(storage, used.statistics, used.constraints)
            result = engine.run_check(baseline, sources.open_source(storage, args.capture_uri, window=window))
        else:
            if merged.check != _check(args, window):
                raise job.JobInputError(f"the shards checked {merged.check}, not {_check(args, window)}")
            if merged.nothing_to_check or merged.baseline is None:
                single.write_nothing_to_check(merged.nothing_to_check or "no shard had a baseline")
                return
            used = merged.baseline
            baseline = engine.load_baseline_files(storage, used.statistics, used.constraints)
            profiles = engine.check_profiles(baseline)
            merged.fold_into(profiles, docs)
            source = sources.Source(
                storage,
                args.capture_uri,
                "capture",
                [],
                window=window,
                stats=merged.stats,
                seen_columns=merged.seen_columns,
            )
            result = engine.check_result(baseline, source, profiles)
    # Model quality joins every prediction with its label in one place: the merge instance.
    single.publish(args, clients, storage, result=result, baseline=baseline, used=used, window=window)
