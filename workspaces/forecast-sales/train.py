"""Baseline for the daily sales task: the naive forecast, every future day equals the last observed day.

Reads data/history.csv (date, sales) and data/horizon.csv (the dates to forecast); writes forecast.csv (date, sales).
"""

import pandas as pd

history = pd.read_csv("data/history.csv", parse_dates=["date"])
horizon = pd.read_csv("data/horizon.csv", parse_dates=["date"])

last = history["sales"].iloc[-1]
forecast = pd.DataFrame({"date": horizon["date"].dt.strftime("%Y-%m-%d"), "sales": last})
forecast.to_csv("forecast.csv", index=False)
print(f"{len(history)} days of history up to {history['date'].max():%Y-%m-%d}; forecast {len(forecast)} days")
