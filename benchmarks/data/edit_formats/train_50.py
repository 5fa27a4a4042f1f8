"""Digits classification experiment: a decision tree on the 8x8 pixel features.

Reads data/train.csv (64 pixel columns and label) and data/test.csv (the pixels and id); writes predictions.csv
(id, label) for the task's evaluation and report.json with the validation accuracy.
"""

import json

import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

SEED = 0
VALID_SHARE = 0.2


def load_data(folder="data"):
    train = pd.read_csv(f"{folder}/train.csv")
    test = pd.read_csv(f"{folder}/test.csv")
    features = [c for c in train.columns if c.startswith("pixel_")]
    return train, test, features


def build_model():
    return DecisionTreeClassifier(max_depth=4, random_state=SEED)


def main():
    train, test, features = load_data()
    fit_part, valid_part = train_test_split(train, test_size=VALID_SHARE, random_state=SEED,
                                            stratify=train["label"])
    model = build_model()
    model.fit(fit_part[features], fit_part["label"])
    valid_accuracy = accuracy_score(valid_part["label"], model.predict(valid_part[features]))
    print(f"validation accuracy: {valid_accuracy:.4f}")

    model = build_model()
    model.fit(train[features], train["label"])
    predictions = model.predict(test[features])
    pd.DataFrame({"id": test["id"], "label": predictions}).to_csv("predictions.csv", index=False)
    with open("report.json", "w") as fh:
        json.dump({"validation_accuracy": valid_accuracy, "rows": len(train)}, fh, indent=2)
    print(f"trained on {len(train)} rows, predicted {len(test)}")


if __name__ == "__main__":
    main()
