"""Baseline for the monthly series: the seasonal naive forecast (each month gets the value of the same month a year
earlier), the M4 competition's sNaive benchmark.

Reads data/history.csv (series, date, value) and data/horizon.csv (series, date: the 18 months to forecast per
series); writes forecast.csv (series, date, value).
"""

import pandas as pd

history = pd.read_csv("data/history.csv")
horizon = pd.read_csv("data/horizon.csv")

rows = []
for name, dates in horizon.groupby("series", sort=False)["date"]:
    last_year = history.loc[history["series"] == name, "value"].to_numpy()[-12:]
    for step, date in enumerate(dates):
        rows.append({"series": name, "date": date, "value": last_year[step % 12]})

pd.DataFrame(rows).to_csv("forecast.csv", index=False)
print(f"seasonal naive forecast for {horizon['series'].nunique()} series, {len(rows)} rows")
