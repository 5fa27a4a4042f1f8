"""Export the demo tasks' data from datasets that ship with scikit-learn (no download), with fixed seeds.

    python scripts/make_demo_data.py            # writes workspaces/*/data and the read-only held-out labels
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent


def tabular_digits() -> None:
    """8x8 handwritten digits as 64 pixel columns; 70/30 stratified split."""
    digits = load_digits(as_frame=True)
    frame = digits.frame.rename(columns={"target": "label"})
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["label"])
    data = ROOT / "workspaces" / "tabular-digits" / "data"
    data.mkdir(parents=True, exist_ok=True)
    train.to_csv(data / "train.csv", index=False)
    test.drop(columns=["label"]).assign(id=range(len(test))).to_csv(data / "test.csv", index=False)
    pd.DataFrame({"id": range(len(test)), "label": test["label"].to_numpy()}).to_csv(data / "test_labels.csv",
                                                                                  index=False)


def forecast_sales() -> None:
    """Three years of daily sales with trend, weekly and yearly seasonality and noise; the last 60 days held out."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2021-01-01", periods=3 * 365, freq="D")
    t = np.arange(len(days))
    weekly = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.5, 1.3])[days.day_of_week]
    yearly = 1 + 0.25 * np.sin(2 * np.pi * (days.day_of_year - 80) / 365.25)
    sales = (200 + 0.15 * t) * weekly * yearly + rng.normal(0, 12, len(t))
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "sales": sales.round(2)})
    data = ROOT / "workspaces" / "forecast-sales" / "data"
    data.mkdir(parents=True, exist_ok=True)
    frame.iloc[:-60].to_csv(data / "history.csv", index=False)
    frame.iloc[-60:][["date"]].to_csv(data / "horizon.csv", index=False)
    frame.iloc[-60:].to_csv(data / "horizon_truth.csv", index=False)


if __name__ == "__main__":
    tabular_digits()
    forecast_sales()
