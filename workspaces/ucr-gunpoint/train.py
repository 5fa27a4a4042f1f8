"""Baseline for GunPoint: the UCR archive's reference classifier, one nearest neighbour under Euclidean distance.

Reads data/train.csv (id, label, t000..t149) and data/test.csv (id, t000..t149); writes predictions.csv (id, label).
"""

import numpy as np
import pandas as pd

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
columns = [c for c in train.columns if c.startswith("t")]
x_train = train[columns].to_numpy()
x_test = test[columns].to_numpy()

distances = ((x_test[:, None, :] - x_train[None, :, :]) ** 2).sum(axis=2)
nearest = distances.argmin(axis=1)
labels = train["label"].to_numpy()[nearest]

pd.DataFrame({"id": test["id"], "label": labels}).to_csv("predictions.csv", index=False)
print(f"1-NN (Euclidean) on {len(train)} training series, predicted {len(test)}")
