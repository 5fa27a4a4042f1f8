"""Export scikit-learn's diabetes data (Efron et al. 2004, bundled with scikit-learn) for the suite task `diabetes-gbr`.

    /tmp/suite-venv/bin/python suites/export/diabetes_gbr.py
The 442 patients are shuffled with a fixed seed; 88 (a fifth) are held out: their ten features go to data/holdout.csv
(with an id) and their targets to data/holdout_target.csv (hidden from the experiment). The other 354 rows are
data/diabetes.csv (the ten features as `load_diabetes()` returns them, then `target`), which the starter splits
90/10 itself, as the scikit-learn example does.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "workspaces" / "diabetes-gbr" / "data"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    bunch = load_diabetes()
    frame = pd.DataFrame(bunch.data, columns=bunch.feature_names)
    frame["target"] = bunch.target
    order = np.random.default_rng(2004).permutation(len(frame))
    held = order[: len(frame) // 5]
    kept = np.sort(order[len(frame) // 5:])
    frame.iloc[kept].to_csv(OUT / "diabetes.csv", index=False, float_format="%.10g")
    holdout = frame.iloc[np.sort(held)].reset_index(drop=True)
    holdout.insert(0, "id", np.arange(len(holdout)))
    holdout.drop(columns="target").to_csv(OUT / "holdout.csv", index=False, float_format="%.10g")
    holdout[["id", "target"]].to_csv(OUT / "holdout_target.csv", index=False, float_format="%.10g")
    print(f"{len(kept)} rows for the experiment, {len(holdout)} held out -> {OUT}")


if __name__ == "__main__":
    main()
