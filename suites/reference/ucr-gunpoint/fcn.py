"""The paper's method (Wang, Yan & Oates 2017, FCN), as a researcher would write it in PyTorch for this task: three
convolution blocks (128/256/128 filters, kernels 8/5/3, batch norm, ReLU), global average pooling, softmax; Adam,
cross-entropy, z-normalised inputs. Epochs are cut to fit a CPU budget (the paper trains 2000). Kept outside the
workspace: it is the reference solution for tests/test_suite_tasks.py, never shown to the agent."""

import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(2)
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 150
train, test = pd.read_csv("data/train.csv"), pd.read_csv("data/test.csv")
columns = [c for c in train.columns if c.startswith("t")]
labels = np.sort(train["label"].unique())
x = train[columns].to_numpy(np.float32)
x_test = test[columns].to_numpy(np.float32)
mean, std = x.mean(), x.std()
x, x_test = (x - mean) / std, (x_test - mean) / std
y = np.searchsorted(labels, train["label"].to_numpy())


def block(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, k, padding="same"), nn.BatchNorm1d(cout), nn.ReLU())


model = nn.Sequential(block(1, 128, 8), block(128, 256, 5), block(256, 128, 3), nn.AdaptiveAvgPool1d(1),
                      nn.Flatten(), nn.Linear(128, len(labels)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
xt, yt = torch.tensor(x).unsqueeze(1), torch.tensor(y)
batch = 16
started = time.time()
for _ in range(epochs):
    model.train()
    order = torch.randperm(len(xt))
    for i in range(0, len(xt), batch):
        idx = order[i:i + batch]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        loss.backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    predicted = model(torch.tensor(x_test).unsqueeze(1)).argmax(1).numpy()
pd.DataFrame({"id": test["id"], "label": labels[predicted]}).to_csv("predictions.csv", index=False)
print(f"{epochs} epochs in {time.time() - started:.0f} s")
