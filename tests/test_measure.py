"""Numbers are measured, never narrated: an attempt's metric comes only from the task's own read-only evaluation,
run by the loop after the experiment. Unit cases for messy evaluation output, then the loop on the real
tabular-digits task with experiment scripts that try to report a number without earning it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from copilot.execution.loop import ExecutionLoop
from copilot.execution.measure import MeasurementError, read_measurement
from copilot.execution.search import NextStep
from copilot.execution.snapshots import clean_copy
from copilot.feedback.auto import AutoFeedback
from copilot.rundir import RunDir
from copilot.sandbox.base import RunResult
from copilot.sandbox.local import LocalSandbox
from copilot.task import MetricSpec, load_task

REPO = Path(__file__).resolve().parent.parent
ACCURACY = MetricSpec(name="accuracy", direction="maximize")


def evaluation(stdout: str = "", exit_code: int = 0) -> RunResult:
    return RunResult(command="python evaluate.py", exit_code=exit_code, duration_s=0.1, stdout_tail=stdout)


@pytest.mark.parametrize(("results", "stdout", "value", "source"), [
    ({"metric": "accuracy", "value": 0.91, "n": 360}, "", 0.91, "results.json"),
    ({"metric": "Accuracy", "value": 1}, "", 1.0, "results.json"),
    (None, "epoch 1 loss=0.3\nMETRIC accuracy=0.5\nMETRIC accuracy=0.75\ndone", 0.75, "stdout"),
    (None, "  METRIC accuracy = 8.5e-1  ", 0.85, "stdout"),
])
def test_what_the_evaluation_reports_is_read(tmp_path, results, stdout, value, source):
    if results is not None:
        (tmp_path / "results.json").write_text(json.dumps(results))
    measured = read_measurement(tmp_path, "results.json", ACCURACY, evaluation(stdout))
    assert measured.value == pytest.approx(value) and measured.source == source


@pytest.mark.parametrize(("results", "stdout", "exit_code", "reason"), [
    (None, "", 0, "wrote no results.json and printed no 'METRIC accuracy=<value>' line"),
    (None, "accuracy: 0.99", 0, "printed no 'METRIC accuracy"),
    (None, "METRIC f1=0.9", 0, "the task measures 'accuracy'"),
    (None, "METRIC accuracy=0.9", 1, "exit code 1"),
    ('{"metric": "accuracy", "value": NaN}', "", 0, "not a finite number"),
    ('{"metric": "accuracy", "value": "0.9"}', "", 0, "must be a number"),
    ('{"metric": "accuracy", "value": true}', "", 0, "must be a number"),
    ('{"metric": "accuracy"}', "", 0, "has no 'value'"),
    ('{"metric": "loss", "value": 0.1}', "", 0, "reports metric 'loss'"),
    ("[0.9]", "", 0, "must hold a JSON object"),
    ('{"metric": "accuracy", "value": 0.9', "", 0, "not valid JSON"),
    (b"\xff\xfe{}", "", 0, "not valid JSON"),
])
def test_anything_else_is_no_measurement(tmp_path, results, stdout, exit_code, reason):
    if isinstance(results, bytes):
        (tmp_path / "results.json").write_bytes(results)
    elif results is not None:
        (tmp_path / "results.json").write_text(results)
    with pytest.raises(MeasurementError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        read_measurement(tmp_path, "results.json", ACCURACY, evaluation(stdout, exit_code))


GOOD = """import pandas as pd
from sklearn.linear_model import LogisticRegression
train, test = pd.read_csv("data/train.csv"), pd.read_csv("data/test.csv")
features = [c for c in train.columns if c.startswith("pixel_")]
model = LogisticRegression(max_iter=2000).fit(train[features], train["label"])
pd.DataFrame({"id": test["id"], "label": model.predict(test[features])}).to_csv("predictions.csv", index=False)
"""
CHEATS = {
    "prints nothing": "pass\n",
    "prints a METRIC line": "print('METRIC accuracy=0.999')\n",
    "plants results.json": "import json\nresult = {'metric': 'accuracy', 'value': 0.999}\n"
                           "json.dump(result, open('results.json', 'w'))\n",
    "overwrites the evaluation": "import os; os.chmod('evaluate.py', 0o644)\n"
                                 "open('evaluate.py', 'w').write('print(\"METRIC accuracy=0.999\")')\n",
    "forges the test labels": "import os, pandas as pd\nos.chmod('data/test_labels.csv', 0o644)\n"
                              "t = pd.read_csv('data/test.csv')\npd.DataFrame({'id': t['id'], 'label': 0})"
                              ".to_csv('data/test_labels.csv', index=False)\n"
                              "pd.DataFrame({'id': t['id'], 'label': 0}).to_csv('predictions.csv', index=False)\n",
}


@pytest.fixture
def loop(tmp_path) -> ExecutionLoop:
    task = load_task("tabular-digits", REPO / "problems", REPO / "workspaces")
    run = RunDir(tmp_path / "run")
    workspace = clean_copy(task.workspace, None, tmp_path / "run" / "workspace")
    return ExecutionLoop(task, run, workspace, LocalSandbox(timeout_s=120, python=sys.executable),
                         AutoFeedback(announce=False))


def implement_with(loop: ExecutionLoop, code: str, claim: float | None = 0.999):
    def implement(instruction, kind, parent):
        (loop.workspace / "train.py").write_text(code)
        return "replaced the model", claim
    return implement


@pytest.mark.slow
def test_only_the_evaluation_gives_an_attempt_its_number(loop):
    baseline = loop.run_baseline()
    assert baseline.status == "ok" and baseline.metric == pytest.approx(0.5778, abs=1e-3)
    for name, code in CHEATS.items():
        attempt = loop.run_attempt(NextStep(kind="improve", parent=baseline.id), name, implement_with(loop, code))
        assert attempt is not None and attempt.measurement is None, name
        assert attempt.status in ("failed", "invalid"), name
        assert attempt.claimed_metric == 0.999  # recorded as a claim, never as the metric
    forged = next(a for a in loop.attempts if a.instruction == "forges the test labels")
    assert forged.status == "invalid" and "data/test_labels.csv" in forged.error
    assert (loop.workspace / "evaluate.py").read_bytes() == (loop.task.workspace / "evaluate.py").read_bytes()
    honest = loop.run_attempt(NextStep(kind="improve", parent=baseline.id), "logistic regression",
                              implement_with(loop, GOOD, claim=0.999))
    assert honest.status == "ok" and honest.measurement.source == "results.json"
    assert 0.9 < honest.metric < 0.999  # what the evaluation measured, not what the agent claimed
    assert loop.best().id == honest.id
