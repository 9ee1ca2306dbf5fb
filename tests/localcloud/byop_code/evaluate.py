"""Evaluate the built-in XGBoost model the way AWS's abalone example does: untar, pickle.load."""

import glob
import json
import os
import pickle
import tarfile

import numpy as np
import pandas as pd
import xgboost

if __name__ == "__main__":
    with tarfile.open("/opt/ml/processing/model/model.tar.gz") as tar:
        tar.extractall(path=".")
    with open("xgboost-model", "rb") as f:
        model = pickle.load(f)
    test = pd.concat(pd.read_csv(p, header=None) for p in sorted(glob.glob("/opt/ml/processing/test/*.csv")))
    labels = test.iloc[:, 0].to_numpy()
    predictions = model.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy()))
    mse = float(np.mean((labels - predictions) ** 2))
    os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
    with open("/opt/ml/processing/evaluation/evaluation.json", "w") as f:
        json.dump({"regression_metrics": {"mse": {"value": mse, "standard_deviation": "NaN"}}}, f)
    print(f"mse={mse}")
