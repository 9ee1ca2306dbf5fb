"""Evidently's DataDriftPreset (reference vs current, pandas DataFrames, its default tests)."""

import pandas as pd
from common import arguments, report
from evidently import Report
from evidently.presets import DataDriftPreset

args = arguments(__doc__)
reference, current = pd.read_csv(args.reference), pd.read_csv(args.current)
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
drifted = []
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type") != "evidently:metric_v2:ValueDrift":
        continue
    # p-value methods drift below the threshold, distance methods at or above it.
    p_value = "p_value" in config["method"]
    value, threshold = metric["value"], config["threshold"]
    if (value < threshold) if p_value else (value >= threshold):
        drifted.append(config["column"])
report(drifted)
