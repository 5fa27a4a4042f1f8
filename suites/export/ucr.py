"""Export the UCR GunPoint set bundled with sktime to the CSV files of the suite task `ucr-gunpoint`.

Run with an interpreter that has sktime (not the project's .venv; see suites/README.md):
    /tmp/suite-venv/bin/python suites/export/ucr.py
Writes workspaces/ucr-gunpoint/data/{train.csv,test.csv,test_labels.csv}: the archive's own train/test split,
one row per series (id, label for train; id only for test), values t000..t149 as the archive stores them.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sktime.datasets import load_UCR_UEA_dataset

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "workspaces" / "ucr-gunpoint" / "data"


def frame(values: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    columns = [f"t{i:03d}" for i in range(values.shape[1])]
    table = pd.DataFrame(np.round(values, 6), columns=columns)
    table.insert(0, "id", ids)
    return table


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x_train, y_train = load_UCR_UEA_dataset("GunPoint", split="train", return_type="numpy2d")
    x_test, y_test = load_UCR_UEA_dataset("GunPoint", split="test", return_type="numpy2d")
    train = frame(x_train, np.arange(len(x_train)))
    train.insert(1, "label", y_train.astype(int))
    test_ids = np.arange(len(x_test)) + 1000
    train.to_csv(OUT / "train.csv", index=False)
    frame(x_test, test_ids).to_csv(OUT / "test.csv", index=False)
    pd.DataFrame({"id": test_ids, "label": y_test.astype(int)}).to_csv(OUT / "test_labels.csv", index=False)
    print(f"train {x_train.shape}, test {x_test.shape} -> {OUT}")


if __name__ == "__main__":
    main()
