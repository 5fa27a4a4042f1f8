"""Export the Breast Cancer Wisconsin (Diagnostic) data bundled with scikit-learn for the suite task `cancer-adam`.

    /tmp/suite-venv/bin/python suites/export/cancer_adam.py
A stratified 80/20 split with a fixed seed: data/train.csv (30 features, label: 1 = benign, 0 = malignant, as
scikit-learn codes it), data/test.csv (id and features) and data/test_labels.csv (hidden from the experiment).
"""

from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "workspaces" / "cancer-adam" / "data"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    bunch = load_breast_cancer()
    columns = [name.replace(" ", "_") for name in bunch.feature_names]
    frame = pd.DataFrame(bunch.data, columns=columns)
    frame["label"] = bunch.target
    train, test = train_test_split(frame, test_size=0.2, random_state=2015, stratify=frame["label"])
    train.to_csv(OUT / "train.csv", index=False, float_format="%.10g")
    test = test.reset_index(drop=True)
    test.insert(0, "id", range(len(test)))
    test.drop(columns="label").to_csv(OUT / "test.csv", index=False, float_format="%.10g")
    test[["id", "label"]].to_csv(OUT / "test_labels.csv", index=False)
    print(f"train {len(train)}, test {len(test)} -> {OUT}")


if __name__ == "__main__":
    main()
