"""The demo tasks' held-out answers cannot be rebuilt from what an experiment can read (issue 17, finding 6):
tabular-digits' test labels matched from scikit-learn's bundled digits (it scored 1.0), forecast-sales' and
text-embeddings' truth regenerated from scripts/make_demo_data.py (RMSE 0.0). Each attack runs as an experiment
through `ExecutionLoop.measure`, in a sandbox set up as `copilot.app.run` sets it up (`bind_task`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from copilot.execution.attempt import Attempt
from copilot.execution.loop import ExecutionLoop
from copilot.execution.snapshots import clean_copy
from copilot.feedback.auto import AutoFeedback
from copilot.rundir import RunDir
from copilot.sandbox.local import LocalSandbox
from copilot.task import load_task

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_demo_data.py"

# The digits in test.csv are rows of scikit-learn's bundled copy: matching the pixels gives every label. If the
# bundled copy cannot be read, fall back to any file on the interpreter's paths that looks like it; else guess 0.
DIGITS_LEAK = """import glob, gzip, os, sys
import numpy as np, pandas as pd
test = pd.read_csv("data/test.csv")
pixels = test[[c for c in test.columns if c.startswith("pixel_")]].to_numpy()
labels = np.zeros(len(test), dtype=int)
try:
    from sklearn.datasets import load_digits
    digits = load_digits()
    table = {tuple(row): label for row, label in zip(digits.data, digits.target)}
    labels = np.array([table.get(tuple(row), 0) for row in pixels])
    print("matched through load_digits")
except Exception as error:
    print("load_digits failed:", type(error).__name__)
    for root in sys.path:
        for path in glob.glob(os.path.join(root, "**", "*digits*.csv*"), recursive=True):
            try:
                data = np.loadtxt(gzip.open(path) if path.endswith(".gz") else path, delimiter=",")
                table = {tuple(row[:-1]): int(row[-1]) for row in data}
                labels = np.array([table.get(tuple(row), 0) for row in pixels])
                print("matched through", path)
            except Exception as error:
                print("unreadable:", path, type(error).__name__)
pd.DataFrame({"id": test["id"], "label": labels}).to_csv("predictions.csv", index=False)
"""

# forecast-sales and text-embeddings: run the generator's code, without writing its files, for the held-out truth.
REGENERATE = f"""import importlib.util, subprocess, sys
spec = importlib.util.spec_from_file_location("make_demo_data", {str(SCRIPT)!r})
try:
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except Exception as error:
    shown = subprocess.run(["git", "-C", {str(REPO)!r}, "show", "HEAD:scripts/make_demo_data.py"],
                           capture_output=True, text=True)
    sys.exit(f"the generator is not readable ({{type(error).__name__}}); git show: {{shown.returncode}}")
"""
FORECAST_LEAK = REGENERATE + """import tempfile
from pathlib import Path
import pandas as pd
module.ROOT = Path(tempfile.mkdtemp())  # the generator writes its files there instead
module.forecast_sales()
truth = pd.read_csv(module.ROOT / "workspaces" / "forecast-sales" / "data" / "horizon_truth.csv")
truth[["date", "sales"]].to_csv("forecast.csv", index=False)
"""
TEXT_LEAK = REGENERATE + """import pandas as pd
train, test = module.support_corpus()
test.insert(0, "id", range(len(test)))
test[["id", "label"]].to_csv("predictions.csv", index=False)
"""


def measure(task_name: str, tmp_path: Path, code: str) -> Attempt:
    task = load_task(task_name, REPO / "problems", REPO / "workspaces")
    workspace = clean_copy(task.workspace, None, tmp_path / "run" / "workspace", hidden=task.spec.hidden)
    sandbox = LocalSandbox(timeout_s=300, python=sys.executable)
    sandbox.bind_task(task)  # as copilot.app.run does
    loop = ExecutionLoop(task, RunDir(tmp_path / "run"), workspace, sandbox, AutoFeedback(announce=False))
    if "bubblewrap" not in (sandbox.run("true", workspace) and sandbox.describe()):
        pytest.skip("bubblewrap cannot run here: the repository is then readable (see the sandbox's notice)")
    (workspace / "attack.py").write_text(code)
    return loop.measure(Attempt(id="a001", kind="improve", command="python attack.py"), workspace)


def test_tabular_digits_labels_are_not_rebuilt_from_scikit_learns_bundled_copy(tmp_path):
    attempt = measure("tabular-digits", tmp_path, DIGITS_LEAK)
    assert "matched through" not in attempt.run.stdout_tail, attempt.run.stdout_tail
    assert "load_digits failed" in attempt.run.stdout_tail
    assert attempt.status == "ok" and attempt.metric < 0.2, attempt  # all zeros: one class of ten


@pytest.mark.parametrize(("task_name", "code"), [("forecast-sales", FORECAST_LEAK),
                                                  ("text-embeddings", TEXT_LEAK)])
def test_the_generator_of_the_demo_data_is_not_readable(tmp_path, task_name, code):
    attempt = measure(task_name, tmp_path, code)
    assert attempt.status == "failed" and attempt.measurement is None
    assert "the generator is not readable (FileNotFoundError); git show: " in attempt.error, attempt.error
    assert "git show: 0" not in attempt.error
