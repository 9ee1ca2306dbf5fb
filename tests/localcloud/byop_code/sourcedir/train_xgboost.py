"""Script-mode training for the XGBoost framework image."""

import argparse
import os

import pandas as pd
import xgboost as xgb

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int)
    parser.add_argument("--objective", type=str)
    parser.add_argument("--max_depth", type=int)
    args = parser.parse_args()
    train = pd.read_csv(
        os.path.join(os.environ["SM_CHANNEL_TRAIN"], os.listdir(os.environ["SM_CHANNEL_TRAIN"])[0]),
        header=None,
    )
    matrix = xgb.DMatrix(train.iloc[:, 1:], label=train.iloc[:, 0])
    booster = xgb.train({"objective": args.objective, "max_depth": args.max_depth}, matrix, args.num_round)
    booster.save_model(os.path.join("/opt/ml/model", "xgboost-model.json"))
    print(f"trained {booster.num_boosted_rounds()} rounds")
