"""nannyml's UnivariateDriftCalculator with the same tests and thresholds as the engine's defaults:
Kolmogorov-Smirnov statistic > 0.1 for numbers, L-infinity > 0.1 for categories, one chunk per file
(so one verdict per feature; nannyml's default thresholds need several reference chunks)."""

import pandas as pd
from common import arguments, report
from nannyml.drift.univariate import UnivariateDriftCalculator
from nannyml.thresholds import ConstantThreshold

args = arguments(__doc__)
reference, current = pd.read_csv(args.reference), pd.read_csv(args.current)
columns = list(reference.columns)
calculator = UnivariateDriftCalculator(
    column_names=columns,
    continuous_methods=["kolmogorov_smirnov"],
    categorical_methods=["l_infinity"],
    thresholds={
        "kolmogorov_smirnov": ConstantThreshold(upper=0.1),
        "l_infinity": ConstantThreshold(upper=0.1),
    },
    chunk_number=1,
)
results = calculator.fit(reference).calculate(current).filter(period="analysis").to_df()
drifted = [
    column
    for column in columns
    for method in ("kolmogorov_smirnov", "l_infinity")
    if (column, method, "alert") in results.columns and bool(results[(column, method, "alert")].iloc[0])
]
report(drifted)
