"""A check split into shards and merged from partial profiles equals the one-pass check.

The files are real abalone rows (numeric and String features, with values missing); each shard
profiles a contiguous run of the files, its profile goes through the partial-profile JSON, and the
merge's output files are compared byte for byte with one pass over all the files.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing_scripts.drift import engine, partial, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.sketch import EXACT_LIMIT, QuantileSketch
from processing_scripts.drift.storage import Storage, StoredFile
from processing_scripts.drift.tabular import ReadStats
from tests.processing_scripts.drift.conftest import write_csv

STORAGE = Storage()


@pytest.fixture(scope="module")
def baseline(abalone_csv) -> engine.Baseline:
    return engine.build_baseline(sources.open_source(STORAGE, str(abalone_csv)), MonitoringConfig())


def one_pass(baseline: engine.Baseline, folder: Path) -> dict[str, str]:
    result = engine.run_check(baseline, sources.open_source(STORAGE, str(folder)))
    return engine.check_outputs(result, report=False)


def sharded(baseline: engine.Baseline, folder: Path, shards: int) -> dict[str, str]:
    """Each shard profiled on its own, written as partial-profile text, read back and merged."""
    listed = sources.open_source(STORAGE, str(folder)).files
    texts = {}
    for index in range(shards):
        source = sources.open_source(STORAGE, str(folder))
        source.files = partial.shard_files(listed, index, shards)
        profiles = engine.profile_check(baseline, source)
        shard = partial.Shard(index, shards, f"algo-{index + 1}", len(listed), partial.listing_digest(listed))
        doc = partial.partial_json(
            shard,
            check={"data": str(folder)},
            baseline=None,
            stats=source.stats,
            seen_columns=source.seen_columns,
            profiles=profiles,
        )
        texts[f"partial-algo-{index + 1}.json"] = partial.partial_text(doc).encode()
    merged, docs = partial.read_partials(texts)
    profiles = engine.check_profiles(baseline)
    merged.fold_into(profiles, docs)
    source = sources.Source(
        STORAGE, str(folder), "csv", [], stats=merged.stats, seen_columns=merged.seen_columns
    )
    return engine.check_outputs(engine.check_result(baseline, source, profiles), report=False)


def write_files(table: pa.Table, cuts: list[int], folder: Path) -> None:
    """``table`` split at ``cuts`` into part-000.csv, part-001.csv, ... (sorted as they are listed)."""
    bounds = [0, *sorted(cuts), table.num_rows]
    for number, (start, end) in enumerate(itertools.pairwise(bounds)):
        write_csv(table.slice(start, end - start), folder / f"part-{number:03d}.csv")


def with_gaps(table: pa.Table, every: int) -> pa.Table:
    """Every ``every``-th value of ``length`` and ``sex`` missing (completeness counts must merge)."""
    mask = pa.array(np.arange(table.num_rows) % every == 0)
    for name in ("length", "sex"):
        column = table.column(name)
        nulls = pa.nulls(table.num_rows, column.type)
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.compute.if_else(mask, nulls, column)
        )
    return table


CASES = st.fixed_dictionaries(
    {
        "rows": st.integers(min_value=1, max_value=1500),
        "cuts": st.lists(st.integers(min_value=0, max_value=1500), max_size=6),
        "shards": st.integers(min_value=1, max_value=4),
        "gaps": st.integers(min_value=2, max_value=50),
        "seed": st.integers(min_value=0, max_value=2**16),
    }
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASES)
def test_any_split_into_files_and_shards_merges_to_the_one_pass_files(baseline, abalone, case):
    rows = case["rows"]
    sample = abalone.take(pa.array(np.random.default_rng(case["seed"]).integers(0, abalone.num_rows, rows)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(with_gaps(sample, case["gaps"]), [c for c in case["cuts"] if c < rows], folder)
        assert sharded(baseline, folder, case["shards"]) == one_pass(baseline, folder)


def test_drift_violations_and_wrong_rows_merge_to_the_same_files(baseline, abalone, tmp_path):
    """Drift in two features and rows with a value missing, spread over five files and three shards."""
    current = abalone.take(pa.array(np.random.default_rng(3).integers(0, abalone.num_rows, 3000)))
    current = current.set_column(1, "length", pa.compute.add(current.column("length"), 0.08))
    current = current.set_column(0, "sex", pa.array(np.where(np.arange(3000) % 10 < 8, "M", "F")))
    write_files(current, [500, 1200, 2000, 2600], tmp_path)
    short = tmp_path / "part-002.csv"
    short.write_text(short.read_text() + "M,0.5\nF,0.4\n")
    expected = one_pass(baseline, tmp_path)
    assert json.loads(expected["drift_summary.json"])["verdict"] == engine.DRIFT
    assert json.loads(expected["drift_summary.json"])["reading"]["rows_with_wrong_value_count"] == 2
    assert sharded(baseline, tmp_path, 3) == expected


def test_beyond_the_exact_limit_the_merged_sketch_is_within_kll_rank_error():
    """The one part that is not exact: >EXACT_LIMIT values make each KLL sketch keep a sample, and
    merged shards keep another sample than one pass. Both stay within 0.5% of the true rank (KLL's
    error for k=2048 is about 0.1% here); the drift distances do not use this sketch."""
    values = np.random.default_rng(11).lognormal(size=9 * EXACT_LIMIT)
    batches = np.array_split(values, 30)
    one = QuantileSketch()
    shards = [QuantileSketch() for _ in range(3)]
    for number, batch in enumerate(batches):
        one.update(np.sort(batch))
        shards[number * 3 // len(batches)].update(np.sort(batch))
    merged = shards[0]
    for other in shards[1:]:
        merged.merge(other)
    ordered = np.sort(values)
    true_rank = np.arange(1, values.size + 1) / values.size
    assert merged.total_weight == one.total_weight == values.size
    assert np.abs(merged.cdf().at(ordered) - true_rank).max() < 0.005
    assert np.abs(one.cdf().at(ordered) - true_rank).max() < 0.005


def test_exact_sketches_merge_to_the_one_pass_sketch():
    values = np.random.default_rng(5).normal(size=EXACT_LIMIT)
    one, left, right = QuantileSketch(), QuantileSketch(), QuantileSketch()
    one.update(values)
    left.update(values[:1000])
    right.update(values[1000:])
    left.merge(right)
    assert left.exact and left.to_json() == one.to_json()


def _partial(index: int, count: int, **changes) -> bytes:
    shard = partial.Shard(index, count, f"algo-{index + 1}", 4, "d")
    doc = partial.partial_json(
        shard,
        check={"capture_uri": "s3://b/c"},
        baseline=None,
        stats=ReadStats(),
        seen_columns=set(),
        profiles={},
    )
    return json.dumps(doc | changes).encode()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, "no partial profiles found"),
        ({"a.json": b"{}"}, "not a partial profile"),
        ({"a.json": _partial(0, 1, version=2)}, "partial profile version 2; this merge reads version 1"),
        (
            {"a.json": _partial(0, 3), "b.json": _partial(2, 3)},
            "expected shards 0..2 once each, found [0, 2]",
        ),
        (
            {"a.json": _partial(0, 2), "b.json": _partial(0, 2)},
            "expected shards 0..1 once each, found [0, 0]",
        ),
        (
            {"a.json": _partial(0, 2), "b.json": _partial(1, 2, check={"capture_uri": "s3://b/other"})},
            "shard 1 checked check",
        ),
    ],
)
def test_partials_that_do_not_make_one_check_are_refused_in_one_line(files, expected):
    with pytest.raises(DriftInputError) as err:
        partial.read_partials(files)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_shards_that_listed_different_files_cannot_be_added_up():
    doc = json.loads(_partial(1, 2))
    doc["shard"] = dataclasses.asdict(partial.Shard(1, 2, "algo-2", 5, "other"))
    with pytest.raises(partial.ListingMismatchError, match="shard 1 listed 5 capture files and shard 0 4"):
        partial.read_partials({"a.json": _partial(0, 2), "b.json": json.dumps(doc).encode()})


@given(files=st.integers(min_value=0, max_value=50), count=st.integers(min_value=1, max_value=8))
def test_shards_cover_every_listed_file_once_in_order(files, count):
    listed = [f"s3://b/{n:03d}.jsonl" for n in range(files)]
    stored = [StoredFile(uri, 1) for uri in listed]
    assert [f.uri for i in range(count) for f in partial.shard_files(stored, i, count)] == listed


def test_a_shard_that_reread_its_files_as_text_merges_to_the_same_files(baseline, abalone, tmp_path):
    """A non-number in a numeric feature makes that shard (and one pass) read every column as text."""
    write_files(abalone.slice(0, 900), [300, 600], tmp_path)
    path = tmp_path / "part-002.csv"
    lines = path.read_text().splitlines()
    values = lines[5].split(",")
    lines[5] = ",".join([values[0], "abc", *values[2:]])
    path.write_text("\n".join(lines) + "\n")
    expected = one_pass(baseline, tmp_path)
    types = {f["name"]: f["inferred_type"] for f in json.loads(expected["statistics.json"])["features"]}
    assert types["length"] == "String"  # the non-number was seen (read as text), not dropped
    assert sharded(baseline, tmp_path, 3) == expected
