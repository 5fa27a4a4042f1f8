"""Baseline for the support-intent task: TF-IDF word features and logistic regression.

Reads data/train.csv (id, text, label) and data/test.csv (id, text); writes predictions.csv (id, label).
"""

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")

model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
model.fit(train["text"], train["label"])

pd.DataFrame({"id": test["id"], "label": model.predict(test["text"])}).to_csv("predictions.csv", index=False)
print(f"trained on {len(train)} messages in {train['label'].nunique()} intents, predicted {len(test)}")
