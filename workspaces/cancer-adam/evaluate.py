"""The task's own evaluation (read-only): log loss (cross-entropy) of the probabilities in predictions.csv on the
held-out patients. Also records the accuracy of thresholding them at 0.5.

predictions.csv has columns id,prob (the predicted probability that the tumour is benign, label 1). Probabilities
are clipped to [1e-15, 1 - 1e-15], as scikit-learn's log_loss does. Writes results.json = {"metric": "log_loss",
"value": ..., "accuracy": ..., "n": ...} and prints "METRIC log_loss=<value>". Exits non-zero with a message when
predictions.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if not Path("predictions.csv").is_file():
    sys.exit("evaluate.py: predictions.csv not found (the experiment must write it: columns id,prob)")
try:
    predictions = pd.read_csv("predictions.csv")
except Exception as error:
    sys.exit(f"evaluate.py: predictions.csv is not a readable CSV ({error})")
if not {"id", "prob"} <= set(predictions.columns):
    sys.exit(f"evaluate.py: predictions.csv needs columns id,prob; found {list(predictions.columns)}")
if predictions["id"].duplicated().any():
    sys.exit("evaluate.py: predictions.csv has more than one row for some ids")
truth = pd.read_csv("data/test_labels.csv")
merged = truth.merge(predictions[["id", "prob"]], on="id", how="left")
prob = pd.to_numeric(merged["prob"], errors="coerce").to_numpy(dtype=float)
if not np.isfinite(prob).all():
    sys.exit(f"evaluate.py: predictions.csv lacks a finite prob for {int((~np.isfinite(prob)).sum())} of the "
             f"{len(truth)} test ids")
if (prob < 0).any() or (prob > 1).any():
    sys.exit("evaluate.py: prob must be a probability in [0, 1]")
label = merged["label"].to_numpy(dtype=float)
p = np.clip(prob, 1e-15, 1 - 1e-15)
loss = float(-np.mean(label * np.log(p) + (1 - label) * np.log(1 - p)))
accuracy = float(np.mean((prob >= 0.5) == (label == 1)))
Path("results.json").write_text(json.dumps({"metric": "log_loss", "value": loss, "accuracy": accuracy,
                                            "n": len(truth)}) + "\n")
print(f"METRIC log_loss={loss:.6f}")
