"""The evaluation runs apart from the experiment (issue 17, finding 5, and the evaluation half of finding 1): in a
folder of its own laid out from the starter's read-only files and the experiment's outputs, with Python in safe-path
mode, after every process of the experiment is gone. Plus the honest control: tabular-digits' logistic regression
scores what it always did (0.9611) through `ExecutionLoop.measure` and through the clean re-run."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import pytest

from copilot.execution.attempt import Attempt
from copilot.execution.loop import ExecutionLoop
from copilot.execution.snapshots import clean_copy, take_snapshot
from copilot.feedback.auto import AutoFeedback
from copilot.rundir import RunDir
from copilot.sandbox.local import LocalSandbox
from copilot.task import load_task
from tests.test_measure import GOOD, HONEST, measure_current, toy_loop
from tests.test_sandbox_escapes import running, wait_until

REPO = Path(__file__).resolve().parent.parent

SHADOWS = """import os, shutil
if os.path.exists("data/answers.txt"):
    shutil.copy("data/answers.txt", "stolen.txt")
open("results.json", "w").write('{"metric": "accuracy", "value": 1.0}')
os._exit(0)
"""


@pytest.mark.parametrize("module", ["json", "os2"])
def test_a_module_the_experiment_leaves_is_not_imported_by_the_evaluation(tmp_path, module):
    """A `json.py` beside evaluate.py (which imports json) used to run inside the evaluation: it wrote its own 1.0 and
    could copy the answers. `os2`: an evaluation that puts its own folder first on sys.path itself."""
    plant = (f"import shutil\nshutil.copy('shadow_source.txt', '{module}.py')\n" + HONEST)
    loop = toy_loop(tmp_path, HONEST)
    own_folder_first = ("import sys, os\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
                        "try:\n    import os2\nexcept ImportError:\n    pass\n")
    evaluate = (own_folder_first if module == "os2" else "") + (loop.task.workspace / "evaluate.py").read_text()
    (loop.task.workspace / "evaluate.py").write_text(evaluate)
    (loop.workspace / "evaluate.py").chmod(0o644)
    (loop.workspace / "evaluate.py").write_text((loop.task.workspace / "evaluate.py").read_text())
    (loop.workspace / "shadow_source.txt").write_text(SHADOWS)
    loop.run_baseline()
    attempt = measure_current(loop, plant)
    assert (loop.workspace / f"{module}.py").exists(), "the experiment did plant its module"
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75), attempt.error
    assert not (loop.workspace / "stolen.txt").exists()


def test_a_read_only_helper_beside_the_evaluation_is_still_importable(tmp_path):
    loop = toy_loop(tmp_path, HONEST, read_only=["evaluate.py", "scoring.py"])
    (loop.task.workspace / "scoring.py").write_text("def score(a, b):\n    return sum(x == y for x, y in zip(a, b))\n")
    evaluate = (loop.task.workspace / "evaluate.py").read_text().replace(
        "value = sum(a == b for a, b in zip(truth, guess)) / len(truth)",
        "from scoring import score\nvalue = score(truth, guess) / len(truth)")
    (loop.task.workspace / "evaluate.py").write_text(evaluate)
    for name in ("evaluate.py", "scoring.py"):
        (loop.workspace / name).unlink(missing_ok=True)
        (loop.workspace / name).write_text((loop.task.workspace / name).read_text())
    attempt = measure_current(loop)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75), attempt.error


def test_the_submission_the_evaluation_imports_is_the_experiments_and_nothing_else_comes_with_it(tmp_path):
    """MLGym-style tasks (the real suite's sat-heuristic, mcts-implement, prisoners-dilemma, blotto): the evaluation
    imports a module of the starter that the experiment changes. Its version and the helper it imports in turn go
    into the evaluation's folder; a json.py it left, and a module the starter does not have that the evaluation
    would import, do not."""
    from copilot.execution.evaluation import evaluated_modules

    loop = toy_loop(tmp_path, HONEST)
    evaluate = ("import json\ntry:\n    import extra\nexcept ImportError:\n    extra = None\n"
                "from strategy import guess\ntruth = open('data/answers.txt').read().split()\n"
                "value = sum(a == b for a, b in zip(truth, guess())) / len(truth)\n"
                "json.dump({'metric': 'accuracy', 'value': value, 'extra': extra is not None}, "
                "open('results.json', 'w'))\n")
    (loop.task.workspace / "evaluate.py").write_text(evaluate)
    (loop.task.workspace / "strategy.py").write_text("def guess():\n    return 'x x x x'.split()\n")
    (loop.workspace / "evaluate.py").chmod(0o644)
    for name in ("evaluate.py", "strategy.py"):
        (loop.workspace / name).write_text((loop.task.workspace / name).read_text())
    baseline = loop.run_baseline()
    assert baseline.status == "ok" and baseline.metric == pytest.approx(0.25), baseline.error
    (loop.workspace / "strategy.py").write_text("from moves import MOVES\n\ndef guess():\n    return MOVES\n")
    (loop.workspace / "moves.py").write_text("MOVES = 'a b c d'.split()\n")
    (loop.workspace / "extra.py").write_text("raise SystemExit('imported')\n")
    (loop.workspace / "shadow_source.txt").write_text(SHADOWS)
    plant = "import shutil\nshutil.copy('shadow_source.txt', 'json.py')\n" + HONEST
    assert evaluated_modules(loop.task, loop.workspace) == ["strategy.py", "moves.py"]
    attempt = measure_current(loop, plant)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75), attempt.error
    assert attempt.measurement.extra == {"extra": False}
    assert not (loop.workspace / "stolen.txt").exists()


WATCHER = """import os, shutil, sys, time
# double fork, setsid and an empty environment: out of the process group, without the sandbox's marker variable
workspace = os.getcwd()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        code = ("import glob, os, shutil, time\\n"
                "end = time.time() + 20\\n"
                "while time.time() < end:\\n"
                "    found = glob.glob('WS/data/answers.txt')\\n"
                "    found += glob.glob('WS/../.evaluation-*/data/answers.txt')\\n"
                "    for path in found:\\n"
                "        shutil.copy(path, 'WS/stolen.txt')\\n"
                "    time.sleep(0.01)\\n").replace("WS", workspace)
        os.execve(sys.executable, [sys.executable, "-c", code, "TOKEN"], {})
    os._exit(0)
open("guess.txt", "w").write("a b c d")
"""


def test_an_escaped_process_cannot_wait_for_the_answers_during_the_evaluation(tmp_path):
    token = f"copilot-watcher-{uuid.uuid4().hex}"
    loop = toy_loop(tmp_path, HONEST)
    if "bubblewrap" not in (loop.sandbox.run("true", tmp_path) and loop.sandbox.describe()):
        pytest.skip("bubblewrap cannot run here (see the sandbox's notice)")
    attempt = measure_current(loop, WATCHER.replace("TOKEN", token))
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75), attempt.error
    assert wait_until(lambda: running(token) == [], 2.0), "the watcher outlived the experiment"
    time.sleep(0.2)
    assert not (loop.workspace / "stolen.txt").exists()
    assert not list(loop.workspace.parent.glob(".evaluation-*")), "the evaluation's folder is removed"


@pytest.mark.slow
def test_the_honest_control_scores_as_before_through_the_loop_and_the_clean_rerun(tmp_path):
    """tabular-digits with logistic regression: 0.9611 measured by the task's evaluation through
    `ExecutionLoop.measure` in the sandbox, and the same from a clean copy rebuilt from the attempt's snapshot (what
    the verification stage re-executes)."""
    task = load_task("tabular-digits", REPO / "problems", REPO / "workspaces")
    run = RunDir(tmp_path / "run")
    workspace = clean_copy(task.workspace, None, tmp_path / "run" / "workspace", hidden=task.spec.hidden)
    sandbox = LocalSandbox(timeout_s=120, python=sys.executable)
    sandbox.hide([task.workspace / rel for rel in task.spec.hidden])  # as copilot.app.run does
    sandbox.mask(task.spec.masked_sources)
    loop = ExecutionLoop(task, run, workspace, sandbox, AutoFeedback(announce=False))
    (workspace / "train.py").write_text(GOOD)
    attempt = loop.measure(Attempt(id="a001", kind="improve", command=task.spec.run), workspace)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.9611, abs=1e-4), attempt.error
    snapshot = tmp_path / "run" / "attempts" / "a001" / "snapshot"
    take_snapshot(workspace, task.workspace, snapshot, ignore=frozenset([task.spec.results_file, *task.spec.hidden]))
    rerun = clean_copy(task.workspace, snapshot, tmp_path / "run" / "verify" / "workspace", hidden=task.spec.hidden)
    again = loop.measure(Attempt(id="a001", kind="improve", command=task.spec.run), rerun)
    assert again.status == "ok" and again.metric == attempt.metric
    assert json.loads(json.dumps(again.measurement.model_dump()))["source"] == "results.json"


def test_the_text_embeddings_evaluation_and_a_sentence_transformers_load_work_in_the_sandbox(tmp_path):
    """The demo's evaluation runs (its TF-IDF baseline's macro-F1, 0.632), and the MiniLM model of the installed
    package loads by its hub id through the run's hub-id links (`experiment/hub_cache`), offline."""
    from copilot.experiment.hub_links import link_models
    from copilot.experiment.resources import ResourceManager

    task = load_task("text-embeddings", REPO / "problems", REPO / "workspaces")
    workspace = clean_copy(task.workspace, None, tmp_path / "run" / "workspace", hidden=task.spec.hidden)
    sandbox = LocalSandbox(timeout_s=300, python=sys.executable)
    sandbox.hide([task.workspace / rel for rel in task.spec.hidden])
    loop = ExecutionLoop(task, RunDir(tmp_path / "run"), workspace, sandbox, AutoFeedback(announce=False))
    baseline = loop.measure(Attempt(id="a000", kind="baseline", command=task.spec.run), workspace)
    assert baseline.status == "ok" and baseline.metric == pytest.approx(0.632, abs=1e-3), baseline.error
    manager = ResourceManager(tmp_path / "run" / "workspace", offline=True)
    found = manager.find_model("sentence-transformers/all-MiniLM-L6-v2")
    assert found is not None
    hub_cache = tmp_path / "run" / "experiment" / "hub_cache"
    sandbox.extra_env.update(link_models([found.model_dump(mode="json")], hub_cache))
    code = ("from sentence_transformers import SentenceTransformer\n"
            "model = SentenceTransformer('sentence-transformers/all-MiniLM-L6-v2')\n"
            "print('dimension', model.encode(['where is my parcel', 'I was charged twice']).shape[1])\n")
    (workspace / "load.py").write_text(code)
    result = sandbox.run("python load.py", workspace)
    assert result.ok and "dimension 384" in result.stdout_tail, result.stderr_tail[-2000:]
