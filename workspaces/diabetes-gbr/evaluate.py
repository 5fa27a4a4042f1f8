"""The task's own evaluation (read-only): mean squared error of predictions.csv on the 88 held-out patients.

Writes results.json = {"metric": "mse", "value": ..., "rmse": ..., "n": ...} and prints "METRIC mse=<value>".
Exits non-zero with a message when predictions.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if not Path("predictions.csv").is_file():
    sys.exit("evaluate.py: predictions.csv not found (the experiment must write it: columns id,target)")
try:
    predictions = pd.read_csv("predictions.csv")
except Exception as error:
    sys.exit(f"evaluate.py: predictions.csv is not a readable CSV ({error})")
if not {"id", "target"} <= set(predictions.columns):
    sys.exit(f"evaluate.py: predictions.csv needs columns id,target; found {list(predictions.columns)}")
if predictions["id"].duplicated().any():
    sys.exit("evaluate.py: predictions.csv has more than one row for some ids")
truth = pd.read_csv("data/holdout_target.csv")
merged = truth.merge(predictions[["id", "target"]], on="id", how="left", suffixes=("", "_pred"))
predicted = pd.to_numeric(merged["target_pred"], errors="coerce").to_numpy(dtype=float)
if not np.isfinite(predicted).all():
    sys.exit(f"evaluate.py: predictions.csv lacks a finite target for {int((~np.isfinite(predicted)).sum())} of "
             f"the {len(truth)} held-out ids")
mse = float(np.mean((predicted - merged["target"].to_numpy(dtype=float)) ** 2))
Path("results.json").write_text(json.dumps({"metric": "mse", "value": mse, "rmse": mse ** 0.5, "n": len(truth)}) + "\n")
print(f"METRIC mse={mse:.6f}")
