"""Baseline for the daily sales task: the mean forecast, written as a regression on features of the date.

Reads data/history.csv (date, sales) and data/horizon.csv (the dates to forecast); writes forecast.csv (date, sales).
The starter's features() tells the model nothing about the date (one constant column), so every forecast day gets
the mean of the history.
"""

import pandas as pd
from sklearn.linear_model import LinearRegression

history = pd.read_csv("data/history.csv", parse_dates=["date"])
horizon = pd.read_csv("data/horizon.csv", parse_dates=["date"])


def features(dates: pd.Series) -> pd.DataFrame:
    """The model's inputs, one row per date, computed from the dates alone (the same way for history and horizon)."""
    return pd.DataFrame({"constant": 1.0}, index=dates.index)


model = LinearRegression()
model.fit(features(history["date"]), history["sales"])
predictions = model.predict(features(horizon["date"]))

forecast = pd.DataFrame({"date": horizon["date"].dt.strftime("%Y-%m-%d"), "sales": predictions})
forecast.to_csv("forecast.csv", index=False)
print(f"{len(history)} days of history up to {history['date'].max():%Y-%m-%d}; forecast {len(forecast)} days")
