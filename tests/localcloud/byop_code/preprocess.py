"""Split abalone into train/validation/test, one share of the rows per processing instance."""

import json
import os

import numpy as np
import pandas as pd

BASE = "/opt/ml/processing"

if __name__ == "__main__":
    with open("/opt/ml/config/resourceconfig.json") as f:
        cluster = json.load(f)
    host, hosts = cluster["current_host"], cluster["hosts"]
    position = hosts.index(host)
    frame = pd.read_csv(f"{BASE}/input/abalone.csv")
    frame = frame.drop(columns=["sex"])
    frame = frame[["rings"] + [c for c in frame.columns if c != "rings"]]  # label first
    rows = frame.iloc[position :: len(hosts)].to_numpy()
    np.random.default_rng(0).shuffle(rows)
    train, validation, test = np.split(rows, [int(0.7 * len(rows)), int(0.85 * len(rows))])
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        os.makedirs(f"{BASE}/{name}", exist_ok=True)
        pd.DataFrame(part).to_csv(f"{BASE}/{name}/{name}-{host}.csv", header=False, index=False)
    print(f"{host}: {len(rows)} rows of {len(frame)}")
