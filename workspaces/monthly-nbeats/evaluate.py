"""The task's own evaluation (read-only): sMAPE of forecast.csv over the 18 held-out months of each of the 4 series.

sMAPE as the M4 competition and the N-BEATS paper define it, in percent: 200/h * sum |y - f| / (|y| + |f|), averaged
over all series and horizon steps. Writes results.json = {"metric": "smape", "value": ..., "per_series": {...}} and
prints "METRIC smape=<value>". Exits non-zero with a message when forecast.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if not Path("forecast.csv").is_file():
    sys.exit("evaluate.py: forecast.csv not found (the experiment must write it: columns series,date,value)")
try:
    forecast = pd.read_csv("forecast.csv", dtype={"series": str, "date": str})
except Exception as error:
    sys.exit(f"evaluate.py: forecast.csv is not a readable CSV ({error})")
if not {"series", "date", "value"} <= set(forecast.columns):
    sys.exit(f"evaluate.py: forecast.csv needs columns series,date,value; found {list(forecast.columns)}")
if forecast.duplicated(["series", "date"]).any():
    sys.exit("evaluate.py: forecast.csv has more than one row for some (series, date)")
truth = pd.read_csv("data/horizon_truth.csv", dtype={"series": str, "date": str})
merged = truth.merge(forecast[["series", "date", "value"]], on=["series", "date"], how="left",
                     suffixes=("", "_pred"))
predicted = pd.to_numeric(merged["value_pred"], errors="coerce").to_numpy(dtype=float)
if not np.isfinite(predicted).all():
    sys.exit(f"evaluate.py: forecast.csv lacks a finite value for {int((~np.isfinite(predicted)).sum())} of the "
             f"{len(truth)} (series, date) rows to forecast")
actual = merged["value"].to_numpy(dtype=float)
denominator = np.abs(actual) + np.abs(predicted)
terms = np.where(denominator > 0, 200.0 * np.abs(actual - predicted) / np.where(denominator > 0, denominator, 1), 0.0)
merged["smape"] = terms
per_series = {name: float(group["smape"].mean()) for name, group in merged.groupby("series")}
smape = float(terms.mean())
Path("results.json").write_text(json.dumps({"metric": "smape", "value": smape, "per_series": per_series}) + "\n")
print(f"METRIC smape={smape:.6f}")
