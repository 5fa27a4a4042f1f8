"""Numbers are measured, never narrated: an attempt's metric comes only from the task's own read-only evaluation,
run by the loop after the experiment. Unit cases for messy evaluation output, then the loop on the real
tabular-digits task with experiment scripts that try to report a number without earning it, and on a small task whose
hidden answers must reach the evaluation and nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from copilot.execution.attempt import Attempt
from copilot.execution.loop import ExecutionLoop, attempt_id
from copilot.execution.measure import MeasurementError, read_measurement
from copilot.execution.policies.base import NextStep
from copilot.execution.snapshots import clean_copy
from copilot.experiment.agent import EpisodeResult
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


def test_a_failed_evaluation_says_what_both_of_its_streams_said(tmp_path):
    """mcts-implement: the evaluation's stderr said only "pytest could not run test_mcts.py against mcts.py (exit code
    2)"; the cause, an import the rewritten mcts.py no longer provided, was in pytest's report on stdout."""
    report = "E   ImportError: cannot import name 'MCTS' from 'mcts' (mcts.py)\n1 error in 0.98s"
    failed = RunResult(command="python evaluate.py", exit_code=1, duration_s=0.1, stdout_tail=report,
                       stderr_tail="evaluate.py: pytest could not run test_mcts.py against mcts.py (exit code 2)")
    with pytest.raises(MeasurementError) as raised:
        read_measurement(tmp_path, "results.json", ACCURACY, failed)
    message = str(raised.value)
    assert "cannot import name 'MCTS'" in message and message.endswith("(exit code 2)")
    long = RunResult(command="python evaluate.py", exit_code=1, duration_s=0.1, stdout_tail="x" * 5000 + report,
                     stderr_tail="y" * 5000 + " the end")
    with pytest.raises(MeasurementError) as raised:
        read_measurement(tmp_path, "results.json", ACCURACY, long)
    assert str(raised.value).endswith(" the end") and len(str(raised.value)) < 1300
    assert "cannot import name 'MCTS'" in str(raised.value), "the end of stdout is kept"


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
    "forges the test inputs": "import os, pandas as pd\nos.chmod('data/test.csv', 0o644)\n"
                              "t = pd.read_csv('data/test.csv').head(1)\nt.to_csv('data/test.csv', index=False)\n"
                              "pd.DataFrame({'id': t['id'], 'label': 0}).to_csv('predictions.csv', index=False)\n",
    "copies the held-out labels": "import pandas as pd\n"
                                  "pd.read_csv('data/test_labels.csv').to_csv('predictions.csv', index=False)\n",
    "reads the labels in the starter folder": "import pandas as pd\n"
        f"pd.read_csv({str(REPO / 'workspaces/tabular-digits/data/test_labels.csv')!r}).to_csv('predictions.csv')\n",
    "plants test labels": "import pandas as pd\nt = pd.read_csv('data/test.csv')\n"
                          "pd.DataFrame({'id': t['id'], 'label': 0}).to_csv('data/test_labels.csv', index=False)\n"
                          "pd.DataFrame({'id': t['id'], 'label': 0}).to_csv('predictions.csv', index=False)\n",
}


@pytest.fixture
def loop(tmp_path) -> ExecutionLoop:
    task = load_task("tabular-digits", REPO / "problems", REPO / "workspaces")
    run = RunDir(tmp_path / "run")
    workspace = clean_copy(task.workspace, None, tmp_path / "run" / "workspace", hidden=task.spec.hidden)
    sandbox = LocalSandbox(timeout_s=120, python=sys.executable)
    sandbox.hide([task.workspace / rel for rel in task.spec.hidden])  # as copilot.app.run does
    return ExecutionLoop(task, run, workspace, sandbox, AutoFeedback(announce=False))


def run_attempt(loop: ExecutionLoop, step: NextStep, instruction: str, implement):
    """`loop.run_attempt` with `implement(instruction, kind, parent) -> (summary, claimed metric)` as the episode."""
    def episode(text, chosen, history):
        summary, claim = implement(text, chosen.kind, None)
        return EpisodeResult(status="final", steps=1, summary=summary, claimed_metric=claim)
    loop.implement = episode
    return loop.run_attempt(step, instruction)


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
        attempt = run_attempt(loop, NextStep(kind="improve", parent=baseline.id), name, implement_with(loop, code))
        assert attempt is not None and attempt.measurement is None, name
        assert attempt.status in ("failed", "invalid"), name
        assert attempt.claimed_metric == 0.999  # recorded as a claim, never as the metric
    by_cheat = {a.instruction: a for a in loop.attempts}
    forged, copied = by_cheat["forges the test inputs"], by_cheat["copies the held-out labels"]
    planted = by_cheat["plants test labels"]
    assert forged.status == "invalid" and "read-only files: data/test.csv" in forged.error
    assert copied.status == "failed" and "No such file or directory" in copied.error  # the labels are not there
    peeked = by_cheat["reads the labels in the starter folder"]
    if "filesystem confined" in loop.sandbox.describe():
        # not in bubblewrap's view at all; under the fallback, the starter's copy reads as empty
        assert peeked.status == "failed" and ("No such file" in peeked.error or "EmptyDataError" in peeked.error)
    assert planted.status == "invalid" and "where hidden files go: data/test_labels.csv" in planted.error
    assert not (loop.workspace / "data" / "test_labels.csv").exists()
    assert (loop.workspace / "evaluate.py").read_bytes() == (loop.task.workspace / "evaluate.py").read_bytes()
    honest = run_attempt(loop, NextStep(kind="improve", parent=baseline.id), "logistic regression",
                         implement_with(loop, GOOD, claim=0.999))
    assert honest.status == "ok" and honest.measurement.source == "results.json"
    assert 0.9 < honest.metric < 0.999  # what the evaluation measured, not what the agent claimed
    assert loop.best().id == honest.id


# -- hidden files: the held-out answers exist in the workspace only while the evaluation runs ----------------------
TOY_EVALUATE = """import json, os
truth = open("data/answers.txt").read().split()
guess = open("guess.txt").read().split()
print("answers mode", oct(os.stat("data/answers.txt").st_mode & 0o777))
value = sum(a == b for a, b in zip(truth, guess)) / len(truth)
json.dump({"metric": "accuracy", "value": value}, open("results.json", "w"))
"""
HONEST = "open('guess.txt', 'w').write('a b c d')\n"
PEEKS = "import os\nopen('seen.txt', 'w').write(str(os.path.exists('data/answers.txt')))\n" + HONEST


class SpySandbox(LocalSandbox):
    """The real local sandbox, noting before each command whether the hidden answers are in its folder."""

    def __init__(self, fail_on: str | None = None, **kwargs) -> None:
        super().__init__(python=sys.executable, **kwargs)
        self.seen: list[tuple[str, bool]] = []
        self.fail_on = fail_on

    def run(self, command, cwd, **kwargs):
        self.seen.append((command, (Path(cwd) / "data" / "answers.txt").exists()))
        if command == self.fail_on:
            raise RuntimeError("the sandbox broke")
        return super().run(command, cwd, **kwargs)


def toy_loop(tmp_path: Path, train: str, sandbox: LocalSandbox | None = None, **spec) -> ExecutionLoop:
    """A small task whose answers are hidden, loaded through `load_task`, with a run workspace made by the stage."""
    from copilot.experiment.workspace import Workspace

    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    source = workspaces / "toy"
    (source / "data").mkdir(parents=True)
    (source / "data" / "answers.txt").write_text("a b c x\n")
    (source / "evaluate.py").write_text(TOY_EVALUATE)
    (source / "train.py").write_text(train)
    (problems / "toy").mkdir(parents=True)
    settings = {"title": "toy", "metric": {"name": "accuracy", "direction": "maximize"}, "run": "python train.py",
                "evaluate": "python evaluate.py", "read_only": ["evaluate.py"], "hidden": ["data/answers.txt"],
                "budgets": {"run_timeout_s": 60}, **spec}
    (problems / "toy" / "task.yaml").write_text(json.dumps(settings))
    task = load_task("toy", problems, workspaces)
    workspace = Workspace.create(task.workspace, tmp_path / "run" / "workspace", task.spec.read_only,
                                 hidden=task.spec.hidden)
    return ExecutionLoop(task, RunDir(tmp_path / "run"), workspace.root, sandbox or SpySandbox(),
                         AutoFeedback(announce=False))


def measure_current(loop: ExecutionLoop, train: str | None = None):
    """Measure the workspace as it is (after replacing train.py), as the loop does after an agent's episode."""
    if train is not None:
        (loop.workspace / "train.py").write_text(train)
    attempt = loop.execute_current(Attempt(id=attempt_id(len(loop.attempts)), parent="a000", kind="improve",
                                           command=loop.task.spec.run))
    assert not (loop.workspace / "data" / "answers.txt").exists(), "the answers stay only while the evaluation runs"
    return attempt


def test_the_hidden_answers_reach_the_evaluation_and_nothing_else(tmp_path):
    loop = toy_loop(tmp_path, PEEKS)
    assert not (loop.workspace / "data" / "answers.txt").exists()
    baseline = loop.run_baseline()
    assert baseline.status == "ok" and baseline.metric == pytest.approx(0.75)  # the real answers were used
    assert loop.sandbox.seen == [("python train.py", False), ("python evaluate.py", True)]
    attempt = measure_current(loop)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75)
    assert (loop.workspace / "seen.txt").read_text() == "False"
    assert "answers mode 0o444" in attempt.evaluation.stdout_tail
    manifest = json.loads(loop.rundir.path("attempts", attempt.id, "snapshot", "manifest.json").read_text())
    assert "data/answers.txt" not in manifest["deleted"] + manifest["changed"]
    assert (loop.task.workspace / "data" / "answers.txt").read_text() == "a b c x\n"


def test_an_experiment_that_reads_the_answers_finds_nothing(tmp_path):
    loop = toy_loop(tmp_path, HONEST)
    attempt = measure_current(loop, "print(open('data/answers.txt').read())\n" + HONEST)
    assert attempt.status == "failed" and attempt.measurement is None
    assert "No such file or directory: 'data/answers.txt'" in attempt.error


@pytest.mark.parametrize(("train", "named"), [
    ("open('data/answers.txt', 'w').write('a b c d')\n" + HONEST, "data/answers.txt (a file was put there"),
    ("import os\nos.symlink('guess.txt', 'data/answers.txt')\n" + HONEST, "data/answers.txt (a file was put there"),
    ("import os\nos.rename('data', 'elsewhere')\nos.symlink('elsewhere', 'data')\n" + HONEST,
     "its folder data was replaced"),
], ids=["file", "link", "folder-link"])
def test_an_experiment_that_plants_the_answers_is_invalid(tmp_path, train, named):
    loop = toy_loop(tmp_path, HONEST)
    baseline = loop.run_baseline()
    attempt = measure_current(loop, train)
    assert attempt.status == "invalid" and attempt.measurement is None and attempt.metric is None
    assert attempt.evaluation is None and "data/answers.txt" in attempt.error and named in attempt.error
    assert not (loop.workspace / "elsewhere" / "answers.txt").exists()
    # The starter's code again, with a comment: an episode that changed no code would not be measured at all.
    again = run_attempt(loop, NextStep(kind="improve", parent=baseline.id), "the starter code again",
                        implement_with(loop, "# the starter's code, measured again\n" + HONEST, None))
    assert again is not None and again.status == "ok" and again.metric == pytest.approx(0.75), again.error


def test_a_stale_hidden_file_is_removed_before_the_experiment(tmp_path, caplog):
    loop = toy_loop(tmp_path, PEEKS)
    (loop.workspace / "data" / "answers.txt").write_text("a b c d\n")  # left by an older version or a command
    with caplog.at_level("WARNING", logger="copilot.execution"):
        attempt = measure_current(loop)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75)
    assert (loop.workspace / "seen.txt").read_text() == "False"
    assert any("removed data/answers.txt before the experiment" in r.getMessage() for r in caplog.records)


def test_the_hidden_answers_are_removed_when_the_evaluation_times_out_or_the_sandbox_breaks(tmp_path):
    loop = toy_loop(tmp_path, HONEST, evaluate="python evaluate.py && sleep 60", budgets={"run_timeout_s": 10})
    attempt = measure_current(loop)
    assert attempt.status == "failed" and attempt.evaluation is not None, attempt.error
    assert attempt.evaluation.reason == "timeout" and "answers mode" in attempt.evaluation.stdout_tail
    assert loop.sandbox.seen[-1] == ("python evaluate.py && sleep 60", True)

    broken = toy_loop(tmp_path / "broken", HONEST, sandbox=SpySandbox(fail_on="python evaluate.py"))
    with pytest.raises(RuntimeError, match="the sandbox broke"):
        broken.measure(Attempt(id="a001", kind="improve", command="python train.py"), broken.workspace)
    assert not (broken.workspace / "data" / "answers.txt").exists()


def test_what_the_evaluation_leaves_behind_is_gone_before_the_agent_codes_again(tmp_path):
    """Even an evaluation that copies the answers beside itself does not hand them on: it runs in a folder of its own,
    removed when it ends, so the copy never reaches the workspace, nor the next attempt."""
    loop = toy_loop(tmp_path, HONEST, evaluate="python evaluate.py && cp data/answers.txt leaked.txt")
    loop.run_baseline()
    first = measure_current(loop)
    assert first.status == "ok" and not (loop.workspace / "leaked.txt").exists()
    seen = []

    def implement(instruction, kind, parent):
        seen.append((loop.workspace / "leaked.txt").exists())
        return "looked around", None

    run_attempt(loop, NextStep(kind="improve", parent=first.id), "improve", implement)
    assert seen == [False]
