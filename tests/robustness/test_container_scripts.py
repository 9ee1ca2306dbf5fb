"""The container scripts (preprocess, baseline, evaluate) against generated malformed inputs.

Each input ends in success with every row used or counted (a preprocess drop is logged with its
count; a baseline row left out is in baseline_reading.json), or in exit 1 with a one-line message
naming the file, line or column and no output at all; never a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing_scripts import baseline, contract, evaluate, preprocess
from tests.processing_scripts.conftest import (
    ABALONE,
    exit_message,
    output_files,
    place_raw,
    run_in_process,
    sandbox_path,
    split_file,
    stage_evaluation,
)
from tests.robustness.campaign import CAMPAIGN, judge, one_line, timed
from tests.robustness.mutations import mutate_csv, mutations

RAW_LINES = ABALONE.read_text(encoding="utf-8").splitlines()[:41]  # header + 40 rows
_DROPPED = re.compile(r"dropped (\d+) ")
# What a refusal must name: a file, a line or row, or a column/field.
_NAMES_A_PLACE = re.compile(r"\.csv|\.json|line \d|row \d|column|field|xgboost-model|model\.tar\.gz|/input/")


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _run(opt_ml: Path, main, *args: str) -> tuple[int | None, str, list[str]]:
    """(exit status or None if it raised, the exception or exit message, the log lines)."""
    handler = _Logged()
    logging.getLogger().addHandler(handler)
    try:
        code = run_in_process(opt_ml, main, *args)
    except Exception as err:  # the contract's "traceback": anything but a JobInputError escaping
        return None, f"{type(err).__name__}: {err}", handler.lines
    finally:
        logging.getLogger().removeHandler(handler)
    return code, exit_message(opt_ml) if code else "", handler.lines


def _refusal(entry: str, opt_ml: Path, message: str, outputs: list[Path]) -> None:
    if outputs:
        judge(entry, "silent_drop", f"partial output after a refusal: {outputs}")
    elif not one_line(message) or not _NAMES_A_PLACE.search(message):
        judge(entry, "unclear_message", message)
    else:
        judge(entry, "refused", message)


def _data_rows(raw: bytes, header: bool, *, whitespace_is_blank: bool = True) -> int:
    """Rows a reader must account for: lines with text (pandas strips cells, so a line of spaces
    is blank to preprocess; pyarrow skips only empty lines, so to the baseline it is a row)."""
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [
        line for line in re.split(r"\r\n|\n|\r", text) if (line.strip() if whitespace_is_blank else line)
    ]
    return len(lines) - (1 if header and lines else 0)


@CAMPAIGN
@given(drawn=mutations)
def test_preprocess(drawn) -> None:
    entry = "preprocess"
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        opt_ml = Path(tmp)
        raw = mutate_csv(RAW_LINES, drawn, header=True)
        place_raw(opt_ml, {"data.csv": raw})
        code, message, log = _run(opt_ml, preprocess.main)
        if code is None:
            judge(entry, "traceback", message)
        elif code:
            _refusal(entry, opt_ml, message, output_files(opt_ml))
        else:
            written = sum(
                len(split_file(opt_ml, split).read_text().splitlines()) for split in preprocess.SPLIT_DIRS
            )
            dropped = sum(int(m.group(1)) for line in log for m in _DROPPED.finditer(line))
            expected = _data_rows(raw, header=True)
            if written + dropped != expected:
                judge(entry, "silent_drop", f"{expected} rows in, {written} written, {dropped} counted")
            else:
                judge(entry, "ok")


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    opt_ml = tmp_path_factory.mktemp("campaign-splits")
    place_raw(opt_ml, {"abalone.csv": ABALONE.read_bytes()})
    assert run_in_process(opt_ml, preprocess.main) == 0
    return opt_ml


def _schema(splits: Path) -> Path:
    return sandbox_path(splits, contract.Preprocess.SCHEMA) / contract.Preprocess.SCHEMA_FILE


@CAMPAIGN
@given(drawn=mutations, schema_kind=st.sampled_from(["good", "bom", "folder", "not-json", "no-features"]))
def test_baseline(splits: Path, drawn, schema_kind: str) -> None:
    entry = "baseline"
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        opt_ml = Path(tmp)
        lines = split_file(splits, "train").read_text().splitlines()[:60]
        train = mutate_csv(lines, drawn, header=False)
        train_dir = sandbox_path(opt_ml, contract.Baseline.TRAIN)
        train_dir.mkdir(parents=True)
        (train_dir / "part-algo-1.csv").write_bytes(train)
        schema_path = sandbox_path(opt_ml, contract.Baseline.SCHEMA) / contract.Preprocess.SCHEMA_FILE
        schema_path.parent.mkdir(parents=True)
        schema = _schema(splits).read_bytes()
        if schema_kind == "folder":
            schema_path.mkdir()
        else:
            variants = {
                "bom": b"\xef\xbb\xbf" + schema,
                "not-json": schema[:-3],
                "no-features": b'{"label": "x"}',
            }
            schema_path.write_bytes(variants.get(schema_kind, schema))
        code, message, _ = _run(opt_ml, baseline.main)
        out = sandbox_path(opt_ml, contract.Baseline.BASELINE)
        if code is None:
            judge(entry, "traceback", message)
        elif code:
            _refusal(entry, opt_ml, message, output_files(opt_ml))
        else:
            statistics = json.loads((out / contract.STATISTICS_FILE).read_text())
            reading = json.loads((out / contract.BASELINE_READING_FILE).read_text())
            used, left_out = statistics["dataset"]["item_count"], reading["rows_left_out"]
            expected = _data_rows(train, header=False, whitespace_is_blank=False)
            if used + left_out != expected:
                judge(entry, "silent_drop", f"{expected} rows in, {used} used, {left_out} counted")
            else:
                judge(entry, "ok")


@CAMPAIGN
@given(
    drawn=mutations,
    model_kind=st.sampled_from(["good", "empty", "noise", "json-garbage"]),
    noise=st.binary(min_size=1, max_size=64),
)
def test_evaluate(splits: Path, regression_model, drawn, model_kind: str, noise: bytes) -> None:
    entry = "evaluate"
    with tempfile.TemporaryDirectory() as tmp, timed(entry):
        opt_ml = Path(tmp)
        model = {
            "good": bytes(regression_model.save_raw("json")),
            "empty": b"",
            "noise": noise,
            "json-garbage": b'{"learner": 5}',
        }[model_kind]
        stage_evaluation(opt_ml, splits, model)
        test_file = next(sandbox_path(opt_ml, contract.Evaluate.TEST).iterdir())
        test_file.write_bytes(mutate_csv(test_file.read_text().splitlines()[:50], drawn, header=False))
        code, message, _ = _run(opt_ml, evaluate.main)
        if code is None:
            judge(entry, "traceback", message)
        elif code:
            _refusal(entry, opt_ml, message, output_files(opt_ml))
        else:
            judge(entry, "ok")  # evaluate refuses any row it cannot score: success used every row


@pytest.fixture(scope="module")
def regression_model(splits: Path):
    from tests.processing_scripts.conftest import read_split, train_booster

    return train_booster(read_split(split_file(splits, "train")))


def teardown_module() -> None:
    shutil.rmtree(Path(tempfile.gettempdir()) / "campaign", ignore_errors=True)
