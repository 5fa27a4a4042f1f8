"""The task's own evaluation (read-only): test error rate of predictions.csv on the UCR GunPoint test split.

The error rate (share of test series whose predicted class is wrong) is the number the UCR archive and the paper
report. Writes results.json = {"metric": "error_rate", "value": ..., "n": ...} and prints "METRIC error_rate=<value>".
Exits non-zero with a message when predictions.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import pandas as pd

if not Path("predictions.csv").is_file():
    sys.exit("evaluate.py: predictions.csv not found (the experiment must write it: columns id,label)")
try:
    predictions = pd.read_csv("predictions.csv")
except Exception as error:
    sys.exit(f"evaluate.py: predictions.csv is not a readable CSV ({error})")
if not {"id", "label"} <= set(predictions.columns):
    sys.exit(f"evaluate.py: predictions.csv needs columns id,label; found {list(predictions.columns)}")
if predictions["id"].duplicated().any():
    sys.exit("evaluate.py: predictions.csv has more than one row for some ids")
truth = pd.read_csv("data/test_labels.csv")
merged = truth.merge(predictions[["id", "label"]], on="id", how="left", suffixes=("", "_pred"))
missing = int(merged["label_pred"].isna().sum())
if missing:
    sys.exit(f"evaluate.py: predictions.csv lacks {missing} of {len(truth)} test ids")
predicted = pd.to_numeric(merged["label_pred"], errors="coerce")
error_rate = float((merged["label"] != predicted).mean())
Path("results.json").write_text(json.dumps({"metric": "error_rate", "value": error_rate, "n": len(truth)}) + "\n")
print(f"METRIC error_rate={error_rate:.6f}")
