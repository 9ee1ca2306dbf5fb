"""Preprocessing on the real abalone data, on shards, and on broken inputs (which must write nothing)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import settings as project_settings
from processing_scripts import contract, dataset, preprocess
from processing_scripts.drift.sources import read_schema
from processing_scripts.drift.storage import Storage
from processing_scripts.split_schema import SplitSchema
from tests.processing_scripts.conftest import (
    ABALONE,
    exit_message,
    output_files,
    place_raw,
    read_split,
    run_as_user,
    run_in_process,
    sandbox_path,
    split_file,
)

HEADER, *ROWS = ABALONE.read_text(encoding="utf-8").splitlines()
SPLITS = tuple(preprocess.SPLIT_DIRS)


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def all_outputs(opt_ml: Path) -> dict[str, bytes]:
    return {str(p.relative_to(opt_ml)): p.read_bytes() for p in output_files(opt_ml)}


# -- the real data, run as a user would ----------------------------------------------------------


def test_abalone_run_as_a_user_writes_label_first_headerless_splits(tmp_path: Path) -> None:
    place_raw(tmp_path, {"abalone.csv": ABALONE.read_bytes()})

    result = run_as_user(
        tmp_path,
        "preprocess",
        "--split-ratios",
        "0.8,0.1,0.1",
        "--seed",
        "42",
        "--data-snapshot",
        "2026-11-23",
    )

    assert result.returncode == 0, result.stderr
    assert "read 4177 rows" in result.stderr
    assert "(data snapshot 2026-11-23)" in result.stderr
    assert "train 3342, validation 417, test 418" in result.stderr
    assert [p.relative_to(tmp_path).as_posix() for p in output_files(tmp_path)] == [
        "processing/output/schema/schema.json",
        "processing/output/test/part-algo-1.csv",
        "processing/output/train/part-algo-1.csv",
        "processing/output/validation/part-algo-1.csv",
    ]
    splits = {name: read_split(split_file(tmp_path, name)) for name in SPLITS}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 3342,
        "validation": 417,
        "test": 418,
    }
    for rows in splits.values():  # no header: every line parsed as numbers; label + 10 features
        assert rows.shape[1] == 1 + len(dataset.feature_names())

    raw = pd.read_csv(ABALONE)
    everything = np.vstack(list(splits.values()))
    assert Counter(everything[:, 0].astype(int)) == Counter(raw["rings"])  # label first, nothing lost
    one_hot = everything[:, -3:]
    assert set(np.unique(one_hot)) == {0.0, 1.0} and (one_hot.sum(axis=1) == 1).all()
    counts = dict(zip(("F", "I", "M"), one_hot.sum(axis=0).astype(int), strict=True))
    assert counts == raw["sex"].value_counts().to_dict()

    schema_dir = sandbox_path(tmp_path, contract.Preprocess.SCHEMA)
    schema = json.loads((schema_dir / "schema.json").read_text())
    assert schema == {
        "label": "rings",
        "features": dataset.feature_names(),
        "problem_type": "regression",
        "data_snapshot": "2026-11-23",
    }
    # Every reader of schema.json takes the lineage key in its stride.
    assert SplitSchema.read(schema_dir).data_snapshot == "2026-11-23"
    assert read_schema(Storage(), str(schema_dir / "schema.json")) == (
        ["rings", *dataset.feature_names()],
        ("rings",),
    )


def test_rows_keep_their_values_through_encoding(abalone_splits: Path) -> None:
    """The first raw row (M, 0.455, ..., 15 rings) appears verbatim, one-hot encoded, in some split."""
    lines = {line for name in SPLITS for line in split_file(abalone_splits, name).read_text().splitlines()}
    assert "15,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,0,0,1" in lines


def test_same_seed_same_bytes_other_seed_other_split(tmp_path: Path, abalone_splits: Path) -> None:
    place_raw(tmp_path / "again", {"abalone.csv": ABALONE.read_bytes()})
    place_raw(tmp_path / "other", {"abalone.csv": ABALONE.read_bytes()})

    assert run_in_process(tmp_path / "again", preprocess.main, "--seed", "42") == 0
    assert run_in_process(tmp_path / "other", preprocess.main, "--seed", "7") == 0

    assert all_outputs(tmp_path / "again") == all_outputs(abalone_splits)
    train = split_file(tmp_path / "other", "train").read_bytes()
    assert train != split_file(abalone_splits, "train").read_bytes()


def test_defaults_are_the_pipeline_settings() -> None:
    """The pipeline passes settings.processing explicitly; a bare local run must behave the same."""
    args = preprocess.parse_args([])
    configured = project_settings.load("dev").processing
    assert args.split_ratios == configured.split_ratios
    assert args.seed == configured.split_seed
    assert args.data_snapshot == preprocess.UNSPECIFIED_SNAPSHOT


def test_two_shards_give_the_same_result_as_one_file(tmp_path: Path, abalone_splits: Path) -> None:
    half = len(ROWS) // 2
    place_raw(
        tmp_path,
        {
            "shards/part-0000.csv": csv_text(HEADER, ROWS[:half]),
            "shards/part-0001.csv": csv_text(HEADER, ROWS[half:]),
        },
    )

    assert run_in_process(tmp_path, preprocess.main) == 0

    assert all_outputs(tmp_path) == all_outputs(abalone_splits)


def test_each_instance_names_its_files_after_its_host(tmp_path: Path) -> None:
    config = sandbox_path(tmp_path, contract.ProcessingJob.RESOURCE_CONFIG)
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    place_raw(tmp_path, {"shard.csv": csv_text(HEADER, ROWS[:200])})

    assert run_in_process(tmp_path, preprocess.main) == 0

    for name in SPLITS:
        assert split_file(tmp_path, name, host="algo-2").is_file()
    assert not any("algo-1" in p.name for p in output_files(tmp_path))


def test_an_instance_without_a_shard_does_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = sandbox_path(tmp_path, contract.ProcessingJob.RESOURCE_CONFIG)
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"current_host": "algo-3", "hosts": ["algo-1", "algo-2", "algo-3"]}))
    place_raw(tmp_path, {})

    assert run_in_process(tmp_path, preprocess.main) == 0

    assert "algo-3 received no input shard" in caplog.text
    assert output_files(tmp_path) == []


def test_header_names_match_whatever_their_case_spacing_and_order(tmp_path: Path) -> None:
    columns = HEADER.split(",")
    order = [8, 0, 1, 2, 3, 4, 5, 6, 7]  # rings first
    messy = ",".join(f"  {columns[i].upper().replace(' ', '_')} " for i in order) + ",comment"
    rows = [",".join([r.split(",")[i] for i in order] + ["x"]) for r in ROWS[:100]]
    place_raw(tmp_path / "messy", {"a.csv": csv_text(messy, rows)})
    place_raw(tmp_path / "clean", {"a.csv": csv_text(HEADER, ROWS[:100])})

    assert run_in_process(tmp_path / "messy", preprocess.main) == 0
    assert run_in_process(tmp_path / "clean", preprocess.main) == 0

    assert list(all_outputs(tmp_path / "messy").values()) == list(all_outputs(tmp_path / "clean").values())


def test_rows_without_label_or_with_missing_features_and_duplicates_are_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = list(ROWS[:100])
    rows[3] = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,"  # no label
    rows[4] = "F,0.53,,0.135,0.677,0.2565,0.1415,0.21,9"  # no diameter
    rows[5] = ",0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9"  # no sex
    rows += [ROWS[0], ROWS[1]]  # exact duplicates
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, rows)})

    assert run_in_process(tmp_path, preprocess.main) == 0

    assert "dropped 1 row(s) with no 'rings' value" in caplog.text and "a.csv line 5" in caplog.text
    assert "dropped 2 row(s) with missing feature values (sex: 1, diameter: 1)" in caplog.text
    assert "dropped 2 exact duplicate row(s)" in caplog.text
    total = sum(len(read_split(split_file(tmp_path, name))) for name in SPLITS)
    assert total == 100 - 3


# -- bad input: a message naming file/row/column, and no output at all -------------------------------


def fails_cleanly(opt_ml: Path, *args: str) -> str:
    """Run preprocessing, expect exit 1 and no output files; return the exit message."""
    assert run_in_process(opt_ml, preprocess.main, *args) == 1
    assert output_files(opt_ml) == []
    return exit_message(opt_ml)


def test_missing_column_is_named(tmp_path: Path) -> None:
    header = HEADER.replace(",height", "")
    rows = [",".join(r.split(",")[:3] + r.split(",")[4:]) for r in ROWS[:20]]
    place_raw(tmp_path, {"a.csv": csv_text(header, rows)})

    message = fails_cleanly(tmp_path)

    assert "a.csv: missing column(s) 'height'" in message


def test_a_file_without_header_is_explained(tmp_path: Path) -> None:
    place_raw(tmp_path, {"a.csv": "\n".join(ROWS[:20]) + "\n"})

    assert "the first line must be a header row" in fails_cleanly(tmp_path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.integers(min_value=0, max_value=19),
    column=st.sampled_from([c for c, kind in dataset.schema().raw_columns.items() if kind != "category"]),
    # Starts with a letter so pandas cannot read it as one of its NA spellings ("#N/A", "-NaN", ...).
    junk=st.from_regex(r"[^\W\d_][^,\"\r\n\x00]{0,12}", fullmatch=True).filter(
        lambda s: s.strip().lower() not in {"nan", "inf", "infinity", "na", "n/a", "null", "none"}
    ),
)
def test_a_value_of_the_wrong_type_names_file_line_and_column(
    tmp_path_factory: pytest.TempPathFactory, row: int, column: str, junk: str
) -> None:
    opt_ml = tmp_path_factory.mktemp("wrong-type")
    position = list(dataset.schema().raw_columns).index(column)
    rows = [r.split(",") for r in ROWS[:20]]
    rows[row][position] = junk
    place_raw(opt_ml, {"data.csv": csv_text(HEADER, [",".join(r) for r in rows])})

    message = fails_cleanly(opt_ml)

    assert f"data.csv: line {row + 2}, column '{column}'" in message
    assert "is not a finite number" in message


def test_a_fractional_ring_count_is_refused(tmp_path: Path) -> None:
    rows = list(ROWS[:20])
    rows[6] = rows[6].rsplit(",", 1)[0] + ",9.5"
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, rows)})

    assert "line 8, column 'rings': '9.5' is not a whole number" in fails_cleanly(tmp_path)


def test_a_row_with_no_value_in_any_cell_is_counted_not_silently_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the robustness campaign: `,,,,,,,,` vanished without a word."""
    rows = list(ROWS[:30])
    rows.insert(5, ",,,,,,,,")
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, rows)})
    assert run_in_process(tmp_path, preprocess.main) == 0
    assert "dropped 1 row(s) with no value in any cell:" in caplog.text and "a.csv line(s) 7" in caplog.text


@pytest.mark.parametrize("label", ["1e19", "-9223372036854775809", "9007199254740993", "1e300"])
def test_a_ring_count_too_large_to_hold_exactly_is_refused(tmp_path_factory, label: str) -> None:
    """1e19 used to be written as -9223372036854775808 (the int64 cast wraps; issue 11, defect 5)."""
    opt_ml = tmp_path_factory.mktemp("huge-label")
    rows = list(ROWS[:20])
    rows[4] = rows[4].rsplit(",", 1)[0] + f",{label}"
    place_raw(opt_ml, {"a.csv": csv_text(HEADER, rows)})

    assert f"line 6, column 'rings': '{label}' is beyond ±9007199254740991" in fails_cleanly(opt_ml)


@settings(max_examples=15, deadline=None)
@given(
    category=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5)
)
def test_an_unknown_category_names_the_row(tmp_path_factory: pytest.TempPathFactory, category: str) -> None:
    if category in dataset.schema().categories["sex"]:
        return
    opt_ml = tmp_path_factory.mktemp("category")
    rows = list(ROWS[:20])
    rows[10] = category + rows[10][1:]
    place_raw(opt_ml, {"a.csv": csv_text(HEADER, rows)})

    message = fails_cleanly(opt_ml)

    assert f"line 12, column 'sex': unknown category {category!r}; allowed: F, I, M" in message


@pytest.mark.parametrize("token", ["None", "NA", "null", "NaN"])
def test_missing_value_words_are_values_not_silent_gaps(tmp_path: Path, token: str) -> None:
    rows = list(ROWS[:20])
    rows[10] = token + rows[10][1:]
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, rows)})

    assert f"line 12, column 'sex': unknown category {token!r}" in fails_cleanly(tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "a.csv: the file is empty"),
        (b"  \n\n", "a.csv: the file is empty"),
        ((HEADER + "\n").encode(), "a.csv: has a header but no data rows"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "a.csv: this is a binary file, not a CSV text file"),
        (csv_text(HEADER, ROWS[:3]).encode("utf-16"), "a.csv: this is a binary file"),
        (
            csv_text(HEADER, [*ROWS[:3], "M,0.5,0.4,0.1,0.5,0.2,0.1,0.15,7,\xe9"]).encode("latin-1"),
            "line 5 is not UTF-8",
        ),
        (csv_text(HEADER, [ROWS[0], '"M,0.5']).encode(), "a.csv: not a well-formed CSV file"),
    ],
)
def test_files_that_are_not_usable_csv_are_named(tmp_path: Path, content: bytes, expected: str) -> None:
    place_raw(tmp_path, {"a.csv": content})

    assert expected in fails_cleanly(tmp_path)


@settings(max_examples=20, deadline=None)
@given(noise=st.binary(min_size=1, max_size=300).map(lambda b: b + b"\0"))
def test_binary_noise_is_refused(tmp_path_factory: pytest.TempPathFactory, noise: bytes) -> None:
    opt_ml = tmp_path_factory.mktemp("binary")
    place_raw(opt_ml, {"blob.csv": noise})

    message = fails_cleanly(opt_ml)

    assert "blob.csv" in message
    assert "binary file" in message or "is empty" in message


def test_a_column_without_any_value_is_named(tmp_path: Path) -> None:
    rows = [",".join([*r.split(",")[:4], "", *r.split(",")[5:]]) for r in ROWS[:20]]
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, rows)})

    assert "a.csv: column 'whole weight' has no values in any of its 20 rows" in fails_cleanly(tmp_path)


def test_no_input_files_at_all(tmp_path: Path) -> None:
    place_raw(tmp_path, {".DS_Store": b"hidden files are not data"})

    assert "has no files; expected one or more CSV files" in fails_cleanly(tmp_path)
    assert f"{sandbox_path(tmp_path / 'x', contract.Preprocess.RAW)} does not exist" in fails_cleanly(
        tmp_path / "x"
    )


def test_one_bad_shard_means_no_output_from_the_good_one(tmp_path: Path) -> None:
    place_raw(
        tmp_path,
        {"1-good.csv": csv_text(HEADER, ROWS[:100]), "2-bad.csv": csv_text(HEADER, ["X" + ROWS[0][1:]])},
    )

    assert "2-bad.csv: line 2, column 'sex': unknown category 'X'" in fails_cleanly(tmp_path)


def test_too_few_rows_for_three_splits(tmp_path: Path) -> None:
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, ROWS[:4])})

    message = fails_cleanly(tmp_path)
    assert (
        "only 4 usable row(s) in " in message and "raw: too few to give the test split(s) any rows" in message
    )


@pytest.mark.parametrize("ratios", ["0.8,0.2", "0.5,0.5,0.5", "a,b,c", "1,0,0"])
def test_bad_split_ratios_are_refused_before_reading(
    tmp_path: Path, ratios: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_in_process(tmp_path, preprocess.main, "--split-ratios", ratios)

    assert exit_info.value.code == 2
    assert "--split-ratios" in capsys.readouterr().err
    assert output_files(tmp_path) == []


def test_a_failure_while_publishing_removes_what_was_already_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All-or-nothing holds even if the disk fails between two renames."""
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, ROWS[:100])})
    real_replace, calls = os.replace, []

    def failing_replace(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)

    with pytest.raises(OSError, match="No space left"):
        run_in_process(tmp_path, preprocess.main)

    assert len(calls) == 3
    assert output_files(tmp_path) == []


def test_a_binary_classification_dataset_needs_0_1_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = dataclasses.replace(dataset.schema(), problem_type="binary_classification")
    monkeypatch.setattr(dataset, "schema", lambda: binary)
    labelled = [f"{r.rsplit(',', 1)[0]},{int(int(r.rsplit(',', 1)[1]) > 9)}" for r in ROWS[:100]]
    place_raw(tmp_path / "raw-rings", {"a.csv": csv_text(HEADER, ROWS[:100])})
    place_raw(tmp_path / "labelled", {"a.csv": csv_text(HEADER, labelled)})

    assert "line 2, column 'rings': 15 is not 0 or 1" in fails_cleanly(tmp_path / "raw-rings")
    assert run_in_process(tmp_path / "labelled", preprocess.main) == 0
    schema = json.loads(
        (sandbox_path(tmp_path / "labelled", contract.Preprocess.SCHEMA) / "schema.json").read_text()
    )
    assert schema["problem_type"] == "binary_classification"


def test_an_unreadable_resource_config_is_named(tmp_path: Path) -> None:
    config = sandbox_path(tmp_path, contract.ProcessingJob.RESOURCE_CONFIG)
    config.parent.mkdir(parents=True)
    config.write_text("{not json")
    place_raw(tmp_path, {"a.csv": csv_text(HEADER, ROWS[:100])})

    assert "resourceconfig.json: cannot read 'current_host' from the resource config" in fails_cleanly(
        tmp_path
    )
