"""The task's own evaluation (read-only): macro-averaged F1 of predictions.csv against the held-out intents.

Writes results.json = {"metric": "macro_f1", "value": ..., "accuracy": ..., "n": ...} and prints
"METRIC macro_f1=<value>". Exits non-zero with a message when predictions.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

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
predicted = merged["label_pred"].astype(str)
intents = sorted(truth["label"].unique())
macro_f1 = float(f1_score(merged["label"], predicted, labels=intents, average="macro", zero_division=0))
accuracy = float(accuracy_score(merged["label"], predicted))
results = {"metric": "macro_f1", "value": macro_f1, "accuracy": accuracy, "n": len(truth)}
Path("results.json").write_text(json.dumps(results) + "\n")
print(f"METRIC macro_f1={macro_f1:.6f}")
