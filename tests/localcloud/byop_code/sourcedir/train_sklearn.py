"""Script-mode training for the scikit-learn image: hyperparameters as arguments, paths from SM_*."""

import argparse
import glob
import json
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestRegressor


def read(directory):
    return pd.concat(pd.read_csv(p, header=None) for p in sorted(glob.glob(f"{directory}/*.csv")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=10)
    parser.add_argument("--max_depth", type=int, default=None)
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--validation", default=os.environ["SM_CHANNEL_VALIDATION"])
    args, _ = parser.parse_known_args()
    train, validation = read(args.train), read(args.validation)
    model = RandomForestRegressor(n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=0)
    model.fit(train.iloc[:, 1:], train.iloc[:, 0])
    rmse = float(((model.predict(validation.iloc[:, 1:]) - validation.iloc[:, 0]) ** 2).mean() ** 0.5)
    print(f"validation-rmse: {rmse}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    seen = {k: v for k, v in os.environ.items() if k.startswith("SM_") or k == "TRAINING_JOB_NAME"}
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "training.json"), "w") as f:
        json.dump({"args": vars(args), "environment": seen, "cwd": os.getcwd()}, f)
