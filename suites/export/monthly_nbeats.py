"""Export four real monthly series for the suite task `monthly-nbeats`; the last 18 months of each are held out.

    /tmp/suite-venv/bin/python suites/export/monthly_nbeats.py
Series: `airline` (international airline passengers 1949-1960, Box & Jenkins; sktime's load_airline), `wineind`
(Australian wine sales by winemakers in bottles <= 1 litre, 1980-1994; pmdarima), `co2` (Mauna Loa atmospheric
CO2, ppm, monthly means of statsmodels' weekly co2 data, 1958-2001, gaps interpolated), `elnino` (monthly sea
surface temperatures of the El Nino region, 1950-2010; statsmodels). Writes data/history.csv (series, date,
value), data/horizon.csv (series, date: the 18 months to forecast) and data/horizon_truth.csv (hidden).
"""

from pathlib import Path

import pandas as pd
import pmdarima as pm
import statsmodels.api as sm
from sktime.datasets import load_airline

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "workspaces" / "monthly-nbeats" / "data"
HORIZON = 18


def monthly(values: pd.Series, start: str) -> pd.Series:
    return pd.Series(values.to_numpy(dtype=float), index=pd.period_range(start, periods=len(values), freq="M"))


def series() -> dict[str, pd.Series]:
    airline = load_airline()
    wine = pm.datasets.load_wineind(as_series=True)
    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    co2 = co2.resample("MS").mean().dropna()
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").stack()
    return {
        "airline": monthly(airline, str(airline.index[0])),
        "wineind": monthly(wine, "1980-01"),
        "co2": monthly(co2.round(3), str(co2.index[0].to_period("M"))),
        "elnino": monthly(elnino, "1950-01"),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    history, horizon = [], []
    for name, values in series().items():
        frame = pd.DataFrame({"series": name, "date": values.index.strftime("%Y-%m"), "value": values.to_numpy()})
        history.append(frame.iloc[:-HORIZON])
        horizon.append(frame.iloc[-HORIZON:])
        print(f"{name}: {len(frame)} months, {frame['date'].iloc[0]} .. {frame['date'].iloc[-1]}")
    pd.concat(history).to_csv(OUT / "history.csv", index=False)
    truth = pd.concat(horizon)
    truth[["series", "date"]].to_csv(OUT / "horizon.csv", index=False)
    truth.to_csv(OUT / "horizon_truth.csv", index=False)


if __name__ == "__main__":
    main()
