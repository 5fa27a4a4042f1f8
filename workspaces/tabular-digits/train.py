"""Baseline for the digits task: a shallow decision tree on raw pixels.

Reads data/train.csv (64 pixel columns + label) and data/test.csv (pixels + id), writes predictions.csv (id, label).
"""

import pandas as pd
from sklearn.tree import DecisionTreeClassifier

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
features = [c for c in train.columns if c.startswith("pixel_")]

model = DecisionTreeClassifier(max_depth=4, random_state=0)
model.fit(train[features], train["label"])

pd.DataFrame({"id": test["id"], "label": model.predict(test[features])}).to_csv("predictions.csv", index=False)
print(f"trained on {len(train)} rows, predicted {len(test)}")
