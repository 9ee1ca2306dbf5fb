"""Abalone-like benchmark data: a reference file and a drifted copy at each size.

Rows are bootstrap resamples of the real abalone data (``data/abalone.csv``) with a little Gaussian
jitter, so distributions are realistic and every size has the same shape. The drifted copy changes
exactly three features and injects nulls into a fourth:

* ``length`` shifted up by half its standard deviation,
* ``shell weight`` scaled by 1.3,
* ``sex``: the category mix changes (M 60%, F 20%, I 20%),
* ``height``: 5% of values set to null (a completeness problem, not a distribution change).

A correct drift check flags exactly ``DRIFTED`` and no other feature.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
FEATURES = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole weight",
    "shucked weight",
    "viscera weight",
    "shell weight",
]
DRIFTED = {"length", "shell weight", "sex"}
NULLS_IN = "height"
CHUNK = 500_000  # rows generated and written at a time (bounded memory for 5M rows)


def generate(rows: int, drifted: bool, seed: int, out: Path) -> None:
    source = pacsv.read_csv(REPO / "data" / "abalone.csv")
    rng = np.random.default_rng(seed)
    numeric = {name: source.column(name).to_numpy().astype(np.float64) for name in FEATURES[1:]}
    sex = np.asarray(source.column("sex").to_pylist())
    writer = None
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            pick = rng.integers(0, source.num_rows, n)
            columns: dict[str, pa.Array] = {}
            if drifted:
                columns["sex"] = pa.array(rng.choice(["M", "F", "I"], n, p=[0.6, 0.2, 0.2]))
            else:
                columns["sex"] = pa.array(sex[pick])
            for name, values in numeric.items():
                column = np.round(values[pick] + rng.normal(0, 0.002, n), 4).clip(0)
                if drifted and name == "length":
                    column = column + 0.5 * values.std()
                if drifted and name == "shell weight":
                    column = column * 1.3
                column = np.round(column, 4)
                mask = rng.random(n) < 0.05 if drifted and name == NULLS_IN else None
                columns[name] = pa.array(column, mask=mask)
            table = pa.table(columns)
            if writer is None:
                writer = pacsv.CSVWriter(out, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", required=True)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for rows in args.rows:
        for drifted, name in ((False, "reference"), (True, "drifted")):
            path = args.out / f"{name}_{rows}.csv"
            if not path.exists():
                generate(rows, drifted, seed=rows + drifted, out=path)
                print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
