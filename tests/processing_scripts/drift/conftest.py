"""Data shared by the drift-engine tests: the real abalone file and small tables written on demand."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ABALONE = Path(__file__).resolve().parents[3] / "data" / "abalone.csv"


@pytest.fixture(scope="session")
def abalone_csv() -> Path:
    return ABALONE


@pytest.fixture(scope="session")
def abalone() -> pa.Table:
    return pacsv.read_csv(ABALONE)


def write_csv(table: pa.Table, path: Path, header: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=header, quoting_style="none"))
    return path
