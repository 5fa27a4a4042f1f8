"""The paper's method on this task (reference solution for the suite tests, never shown to the agent): the starter's
network and budget, trained with Adam (Kingma & Ba, Algorithm 1) at the paper's default settings
(alpha = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) in place of plain SGD.

Reads data/train.csv (30 features, label) and data/test.csv (id, features); writes predictions.csv (id, prob: the
predicted probability of label 1, benign).
"""

import numpy as np
import pandas as pd

EPOCHS, BATCH, HIDDEN = 5, 32, 32
ALPHA, BETA1, BETA2, EPSILON = 0.001, 0.9, 0.999, 1e-8
rng = np.random.default_rng(0)

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
features = [c for c in train.columns if c != "label"]
mean, std = train[features].mean(), train[features].std()
x = ((train[features] - mean) / std).to_numpy()
y = train["label"].to_numpy(dtype=float)
x_test = ((test[features] - mean) / std).to_numpy()

w1 = rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], HIDDEN))
b1 = np.zeros(HIDDEN)
w2 = rng.normal(0, 1 / np.sqrt(HIDDEN), HIDDEN)
b2 = 0.0


def forward(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hidden = np.tanh(inputs @ w1 + b1)
    return hidden, 1 / (1 + np.exp(-(hidden @ w2 + b2)))


params = [w1, b1, w2, np.zeros(())]
moments = [np.zeros_like(p) for p in params]
squares = [np.zeros_like(p) for p in params]
t = 0
for epoch in range(EPOCHS):
    order = rng.permutation(len(x))
    for start in range(0, len(x), BATCH):
        batch = order[start:start + BATCH]
        hidden, prob = forward(x[batch])
        error = (prob - y[batch]) / len(batch)  # gradient of the mean cross-entropy w.r.t. the logit
        grad_w2, grad_b2 = hidden.T @ error, error.sum()
        back = np.outer(error, w2) * (1 - hidden**2)
        grad_w1, grad_b1 = x[batch].T @ back, back.sum(axis=0)
        t += 1
        for param, grad, m, v in zip(params, (grad_w1, grad_b1, grad_w2, grad_b2), moments, squares, strict=True):
            m[...] = BETA1 * m + (1 - BETA1) * grad
            v[...] = BETA2 * v + (1 - BETA2) * grad**2
            param -= ALPHA * (m / (1 - BETA1**t)) / (np.sqrt(v / (1 - BETA2**t)) + EPSILON)
        b2 = float(params[3])
    _, prob = forward(x)
    loss = -np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))
    print(f"epoch {epoch + 1}: training log loss {loss:.4f}")

_, prob_test = forward(x_test)
pd.DataFrame({"id": test["id"], "prob": prob_test}).to_csv("predictions.csv", index=False)
