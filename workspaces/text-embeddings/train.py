"""Baseline for the support-intent task: TF-IDF word features and logistic regression.

Reads data/train.csv (id, text, label) and data/test.csv (id, text); writes predictions.csv (id, label).
"""

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")

# Features: TF-IDF weights of word unigrams, fitted on the training messages.
vectorizer = TfidfVectorizer()
X_train = vectorizer.fit_transform(train["text"])
X_test = vectorizer.transform(test["text"])

classifier = LogisticRegression(C=1.0, max_iter=1000)
classifier.fit(X_train, train["label"])

pd.DataFrame({"id": test["id"], "label": classifier.predict(X_test)}).to_csv("predictions.csv", index=False)
print(f"trained on {len(train)} messages in {train['label'].nunique()} intents, predicted {len(test)}")
