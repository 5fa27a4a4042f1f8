"""The task's own evaluation (read-only): accuracy of predictions.csv against the held-out labels.

Writes results.json = {"metric": "accuracy", "value": ...} and prints "METRIC accuracy=<value>".
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
truth = pd.read_csv("data/test_labels.csv")
if not {"id", "label"} <= set(predictions.columns):
    sys.exit(f"evaluate.py: predictions.csv needs columns id,label; found {list(predictions.columns)}")
merged = truth.merge(predictions[["id", "label"]], on="id", how="left", suffixes=("", "_pred"))
missing = int(merged["label_pred"].isna().sum())
if missing:
    sys.exit(f"evaluate.py: predictions.csv lacks {missing} of {len(truth)} test ids")
accuracy = float((merged["label"] == merged["label_pred"]).mean())
Path("results.json").write_text(json.dumps({"metric": "accuracy", "value": accuracy, "n": len(truth)}) + "\n")
print(f"METRIC accuracy={accuracy:.6f}")
