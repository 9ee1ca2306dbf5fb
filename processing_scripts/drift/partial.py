"""Partial profiles: a check split over several instances, and merged back into one.

Why: a capture window too large for one instance is split by S3 key between the instances of one
processing job (``--mode profile``). The instances of a job cannot talk to each other, so each writes
its shard's profiles to a *partial profile* file, and a second, single-instance job (``--mode merge``)
merges them and judges the window exactly as one instance would have.

Which shard reads which files: every instance lists the window the same way and takes a contiguous
run of the sorted keys (instance ``i`` of ``n`` takes keys ``[i*N//n, (i+1)*N//n)``). Contiguous,
rather than every n-th key as SageMaker's ``ShardedByS3Key`` input does, because merging shards in
order then replays the files in the order one pass reads them: the first examples of malformed lines,
the order of categories with equal counts and the floating-point order of the moments all come out
the same, so the merged files are byte-identical to one instance's.

What merges exactly and what does not:

* counts (rows read, rows refused by reason, missing values, type mismatches, category counts, the
  current values at or below each baseline sketch point that the drift distances are computed
  from): summed, exact. So are min and max, and so every distance, violation and verdict.
* mean, sum and standard deviation: exact, because each profile keeps its batches' moments and the
  merge replays them in file order (the same additions, in the same order, as one pass).
* the current data's quantile sketch (``statistics.json``'s ``distribution.kll``): exact while the
  feature has at most ``sketch.EXACT_LIMIT`` values in the window (the sketch is then the data);
  beyond that the merged KLL sketch keeps other items than one pass would, within KLL's rank error
  (see :meth:`QuantileSketch.merge`). It is reported, not used for the verdict.
* category counts beyond ``profile.CATEGORY_TRACKING_LIMIT`` distinct values: each shard and the
  merge fold the rarest away, so the folded remainder can differ from one pass.

The file is JSON (``FORMAT``, ``VERSION``); a reader refuses any other version rather than guess.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import parse_json
from processing_scripts.drift.profile import Profile, StringProfile
from processing_scripts.drift.sketch import QuantileSketch
from processing_scripts.drift.storage import StoredFile
from processing_scripts.drift.tabular import ReadStats, RowCountIssues

FORMAT = "drift-partial-profile"
VERSION = 1
FILE_NAME = "partial-{host}.json"


def shard_files(files: Sequence[StoredFile], index: int, count: int) -> list[StoredFile]:
    """Instance ``index`` of ``count``'s contiguous run of the listed files (see the module doc)."""
    return list(files[index * len(files) // count : (index + 1) * len(files) // count])


def listing_digest(files: Sequence[StoredFile]) -> str:
    """What every shard listed: shards that saw different files cannot be merged (:class:`ListingMismatchError`)."""
    return hashlib.sha256("\n".join(f.uri for f in files).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BaselineRef:
    """Which baseline the shards checked against: the merge loads the same one, even when the
    endpoint was redeployed with another model in between."""

    statistics: str
    constraints: str
    shown_as: str  # where the report says the baseline is
    model_package: str | None


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    host: str
    listed: int  # files in the window, over all shards
    digest: str


def partial_json(
    shard: Shard,
    *,
    check: dict[str, Any],
    baseline: BaselineRef | None,
    stats: ReadStats,
    seen_columns: set[str],
    profiles: dict[str, Profile],
    nothing_to_check: str | None = None,
) -> dict[str, Any]:
    """The partial-profile document of one shard; ``check`` names what was checked (capture URI,
    window) and must be the same in every shard."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "shard": vars(shard),
        "check": check,
        "baseline": None if baseline is None else vars(baseline),
        "nothing_to_check": nothing_to_check,
        "reading": _stats_json(stats),
        "seen_columns": sorted(seen_columns),
        "features": [_profile_json(p) for p in profiles.values()],
    }


def partial_text(doc: dict[str, Any]) -> str:
    """Compact strict JSON: Python writes each float's shortest repr, which reads back as the same
    float, so nothing is lost between a shard and the merge."""
    return json.dumps(doc, allow_nan=False, separators=(",", ":"))


@dataclass
class Merged:
    """All shards as one: what :func:`engine.check_result` needs besides the baseline."""

    check: dict[str, Any]
    baseline: BaselineRef | None
    nothing_to_check: str | None
    stats: ReadStats
    seen_columns: set[str]

    def fold_into(self, profiles: dict[str, Profile], partials: list[dict[str, Any]]) -> None:
        """Add every shard's feature profiles, in shard order, to the (empty) ``profiles``."""
        for doc in partials:
            for feature in doc["features"]:
                target = profiles.get(feature["name"])
                if target is None:
                    raise DriftInputError(
                        f"shard {doc['shard']['index']} profiled '{feature['name']}', which the baseline lacks"
                    )
                _absorb(target, feature)


class ListingMismatchError(DriftInputError):
    """The shards listed different files (capture arrived in between), so their contiguous runs may
    overlap or leave a gap: the merge cannot add them up, and checks the window in one pass instead."""

    def __init__(self, message: str, baseline: BaselineRef | None) -> None:
        super().__init__(message)
        self.baseline = baseline  # the one every shard used (checked before the listings)


def read_partials(named: dict[str, bytes]) -> tuple[Merged, list[dict[str, Any]]]:
    """Parse and check the partial files (name -> bytes), ordered by shard; refuse a missing,
    repeated or foreign shard with one line naming it."""
    if not named:
        raise DriftInputError("no partial profiles found: did the profile step write any?")
    docs = []
    for name, raw in sorted(named.items()):
        doc = parse_json(raw, name)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise DriftInputError(f"{name}: not a partial profile (format {FORMAT!r} expected)")
        if doc.get("version") != VERSION:
            raise DriftInputError(
                f"{name}: partial profile version {doc.get('version')!r}; this merge reads version {VERSION}"
            )
        docs.append(doc)
    docs.sort(key=lambda d: d["shard"]["index"])
    first = docs[0]
    count = first["shard"]["count"]
    indexes = [d["shard"]["index"] for d in docs]
    if indexes != list(range(count)):
        raise DriftInputError(f"expected shards 0..{count - 1} once each, found {indexes}")
    for doc in docs[1:]:
        for key in ("check", "baseline"):
            if doc[key] != first[key]:
                raise DriftInputError(
                    f"shard {doc['shard']['index']} checked {key} {doc[key]} but shard 0 {first[key]}"
                )
        if doc["shard"]["count"] != count:
            raise DriftInputError(
                f"shard {doc['shard']['index']} is one of {doc['shard']['count']}, shard 0 of {count}"
            )
        if doc["shard"]["digest"] != first["shard"]["digest"]:
            raise ListingMismatchError(
                f"shard {doc['shard']['index']} listed {doc['shard']['listed']} capture files and shard 0 "
                f"{first['shard']['listed']} (files arrived while they listed the window)",
                None if first["baseline"] is None else BaselineRef(**first["baseline"]),
            )
    stats = ReadStats()
    for doc in docs:
        _merge_stats(stats, doc["reading"])
    nothing = next((d["nothing_to_check"] for d in docs if d["nothing_to_check"]), None)
    baseline = None if first["baseline"] is None else BaselineRef(**first["baseline"])
    seen = {name for doc in docs for name in doc["seen_columns"]}
    return Merged(first["check"], baseline, nothing, stats, seen), docs


# -- reading statistics ----------------------------------------------------------------------------
def _pairs(counter: Counter[Any]) -> list[list[Any]]:
    """A Counter as [key, count] pairs in insertion order (the order reports list them in)."""
    return [[key, count] for key, count in counter.items()]


def _stats_json(stats: ReadStats) -> dict[str, Any]:
    issues = stats.column_issues
    return {
        "files": stats.files,
        "records": stats.records,
        "rows": stats.rows,
        "malformed": _pairs(stats.malformed),
        "examples": stats.examples,
        "column_issues": {
            "expected": issues.expected,
            "by_count": _pairs(issues.by_count),
            "examples": issues.examples,
            "in_open_quote": issues.in_open_quote,
        },
        "unknown_fields": _pairs(stats.unknown_fields),
        "content_types": _pairs(stats.content_types),
    }


def _merge_stats(stats: ReadStats, doc: dict[str, Any]) -> None:
    """Add one shard's reading to ``stats``: counts add up, the first examples stay first."""
    stats.files += doc["files"]
    stats.records += doc["records"]
    stats.rows += doc["rows"]
    stats.malformed.update(dict(doc["malformed"]))
    stats.examples += doc["examples"][: max(0, 5 - len(stats.examples))]
    issues = doc["column_issues"]
    stats.column_issues.expected = stats.column_issues.expected or issues["expected"]
    stats.column_issues.merge(
        RowCountIssues(
            issues["expected"], Counter(dict(issues["by_count"])), issues["examples"], issues["in_open_quote"]
        )
    )
    stats.unknown_fields.update(dict(doc["unknown_fields"]))
    stats.content_types.update(dict(doc["content_types"]))


# -- feature profiles ------------------------------------------------------------------------------
def _profile_json(profile: Profile) -> dict[str, Any]:
    if isinstance(profile, StringProfile):
        return {
            "name": profile.name,
            "kind": "string",
            "rows": profile.rows,
            "missing": profile.missing,
            "counts": _pairs(profile.counts),
            "folded": profile.folded,
        }
    sketch = profile.sketch
    return {
        "name": profile.name,
        "kind": "numeric",
        "rows": profile.rows,
        "missing": profile.missing,
        "not_numbers": profile.not_numbers,
        "not_whole": profile.not_whole,
        "negative": profile.negative,
        "min": profile.min if profile.count else None,
        "max": profile.max if profile.count else None,
        "batch_moments": [list(m) for m in profile.batch_moments],
        # Levels as accumulated (unsorted): an exact sketch merged in order equals one pass's.
        "sketch": {
            "k": sketch.k,
            "c": sketch.c,
            "exact": sketch.exact,
            "levels": [lv.tolist() for lv in sketch.levels],
        },
        "at_or_below": profile.at_or_below.tolist(),
        "below": profile.below.tolist(),
    }


def _absorb(profile: Profile, doc: dict[str, Any]) -> None:
    """Add one shard's profile of a feature (``doc``) to ``profile``."""
    profile.rows += doc["rows"]
    profile.missing += doc["missing"]
    if isinstance(profile, StringProfile):
        if doc["kind"] != "string":
            raise DriftInputError(
                f"'{profile.name}' is a String feature; a shard profiled it as {doc['kind']}"
            )
        profile.merge_counts(dict(doc["counts"]))
        profile.folded += doc["folded"]
        profile.truncated = profile.truncated or bool(doc["folded"])
        return
    if doc["kind"] != "numeric" or len(doc["at_or_below"]) != profile.at_or_below.size:
        raise DriftInputError(
            f"'{profile.name}': a shard's profile does not match the baseline's sketch points"
        )
    profile.not_numbers += doc["not_numbers"]
    profile.not_whole += doc["not_whole"]
    profile.negative += doc["negative"]
    if doc["min"] is not None:
        profile.min = min(profile.min, doc["min"])
        profile.max = max(profile.max, doc["max"])
    for n, mean, m2, total in doc["batch_moments"]:
        profile.add_moments(n, mean, m2, total)
    sketch = doc["sketch"]
    profile.sketch.merge(
        QuantileSketch.from_levels(
            sketch["levels"], k=int(sketch["k"]), c=float(sketch["c"]), exact=bool(sketch["exact"])
        )
    )
    profile.at_or_below += np.asarray(doc["at_or_below"], dtype=np.int64)
    profile.below += np.asarray(doc["below"], dtype=np.int64)
