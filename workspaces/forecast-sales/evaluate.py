"""The task's own evaluation (read-only): root-mean-square error of forecast.csv over the 60 held-out days.

Writes results.json = {"metric": "rmse", "value": ..., "mae": ..., "n": ...} and prints "METRIC rmse=<value>".
Exits non-zero with a message when forecast.csv is missing or malformed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if not Path("forecast.csv").is_file():
    sys.exit("evaluate.py: forecast.csv not found (the experiment must write it: columns date,sales)")
try:
    forecast = pd.read_csv("forecast.csv", dtype={"date": str})
except Exception as error:
    sys.exit(f"evaluate.py: forecast.csv is not a readable CSV ({error})")
if not {"date", "sales"} <= set(forecast.columns):
    sys.exit(f"evaluate.py: forecast.csv needs columns date,sales; found {list(forecast.columns)}")
forecast["date"] = pd.to_datetime(forecast["date"], errors="coerce").dt.strftime("%Y-%m-%d")
if forecast["date"].isna().any():
    sys.exit("evaluate.py: forecast.csv has dates that are not YYYY-MM-DD")
if forecast["date"].duplicated().any():
    sys.exit("evaluate.py: forecast.csv has more than one row for some dates")
forecast["sales"] = pd.to_numeric(forecast["sales"], errors="coerce")
truth = pd.read_csv("data/horizon_truth.csv", dtype={"date": str})
merged = truth.merge(forecast[["date", "sales"]], on="date", how="left", suffixes=("", "_pred"))
missing = int(merged["sales_pred"].isna().sum())
if missing:
    sys.exit(f"evaluate.py: forecast.csv lacks a finite number for {missing} of the {len(truth)} dates to forecast")
if not np.isfinite(merged["sales_pred"]).all():
    sys.exit("evaluate.py: forecast.csv has infinite sales values")
errors = merged["sales_pred"].to_numpy() - merged["sales"].to_numpy()
rmse = float(np.sqrt(np.mean(errors**2)))
mae = float(np.mean(np.abs(errors)))
Path("results.json").write_text(json.dumps({"metric": "rmse", "value": rmse, "mae": mae, "n": len(truth)}) + "\n")
print(f"METRIC rmse={rmse:.6f}")
