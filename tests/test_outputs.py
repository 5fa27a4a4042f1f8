"""The files an experiment must write (copilot/experiment/outputs.py): found from each shipped task's own code, and a
run of the experiment command that exits 0 without writing them is a failed run the agent is told about; and a
notice the sandbox puts on every run is told to the agent once an episode."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from copilot.experiment.outputs import expected_outputs, quoted_files, unwritten
from copilot.experiment.rewrite import script_for_command
from copilot.experiment.tools import ToolBox
from copilot.experiment.workspace import Workspace
from copilot.sandbox.base import RunResult
from copilot.sandbox.local import LocalSandbox
from copilot.task import load_task

REPO = Path(__file__).resolve().parent.parent
PROBLEMS, WORKSPACES = REPO / "problems", REPO / "workspaces"

# What each shipped task's evaluation reads that its starter writes; read off the files by hand.
EXPECTED = {
    "tabular-digits": ["predictions.csv"], "text-embeddings": ["predictions.csv"],
    "cancer-adam": ["predictions.csv"], "diabetes-gbr": ["predictions.csv"], "ucr-gunpoint": ["predictions.csv"],
    "forecast-sales": ["forecast.csv"], "monthly-nbeats": ["forecast.csv"],
    # These evaluations import the agent's module and call it: there is no file between the two.
    "blotto": [], "mcts-implement": [], "prisoners-dilemma": [], "sat-heuristic": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shipped_task_names_the_files_its_evaluation_reads(name):
    task = load_task(name, PROBLEMS, WORKSPACES)
    evaluation = script_for_command(task.spec.evaluate, task.workspace)
    assert expected_outputs(task, evaluation) == EXPECTED[name]


def test_quoted_file_names_are_found_and_code_is_not():
    source = "pd.read_csv('./predictions.csv')\nopen(\"out/model.pt\")\nx = 'a.b.c()'\nname = 'score'\n"
    assert quoted_files(source) == {"predictions.csv", "out/model.pt"}


def test_a_file_older_than_the_run_counts_as_unwritten(tmp_path):
    (tmp_path / "old.csv").write_text("x\n")
    os.utime(tmp_path / "old.csv", (time.time() - 60, time.time() - 60))
    started = time.time()
    (tmp_path / "new.csv").write_text("x\n")
    assert unwritten(tmp_path, ["old.csv", "new.csv", "absent.csv"], started) == ["old.csv", "absent.csv"]


@pytest.fixture
def box(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.py").write_text("import sys\nopen(sys.argv[1] if len(sys.argv) > 1 else 'predictions.csv', "
                                     "'w').write('id,label\\n1,0\\n')\n")
    (source / "evaluate.py").write_text("import pandas as pd\nprint(len(pd.read_csv('predictions.csv')))\n")
    ws = Workspace.create(source, tmp_path / "run" / "workspace", ["evaluate.py"], tmp_path / "run" / "traces")
    return ToolBox(ws, sandbox=LocalSandbox(), run_timeout_s=20, experiment="python train.py other.csv",
                   outputs=["predictions.csv"], evaluate="python evaluate.py")


def test_an_experiment_that_writes_another_file_is_a_failed_run_that_says_which_file(box):
    run = box.call("execute", {"command": "python train.py other.csv"})
    assert not run.ok and "exit code 0" in run.text
    assert "did not write predictions.csv" in run.text and "python evaluate.py" in run.text
    assert run.data["unwritten"] == ["predictions.csv"]


def test_an_experiment_that_writes_the_file_and_other_commands_are_not_checked(box):
    box.experiment = "python train.py"
    assert box.call("execute", {"command": "python train.py"}).ok
    box.experiment = "python train.py --full"  # another command than the experiment's: no output is expected of it
    time.sleep(0.1)
    assert box.call("execute", {"command": "python -c 'print(1)'"}).ok


class NoticeSandbox:
    """A sandbox stand-in whose every run carries the same standing notice, as the fallback isolation's do."""

    def __init__(self, notice: str) -> None:
        self.notice = notice

    def run(self, command, cwd, *, timeout_s=None, extra_env=None):
        return RunResult(command=command, exit_code=0, duration_s=0.1, stdout_tail="done", notice=self.notice)


def test_a_notice_that_every_run_carries_is_shown_once_an_episode(tmp_path):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "train.py").write_text("print('done')\n")
    ws = Workspace.create(tmp_path / "source", tmp_path / "run" / "workspace", [], tmp_path / "run" / "traces")
    box = ToolBox(ws, sandbox=NoticeSandbox("network not isolated"), run_timeout_s=20)
    first, second = (box.call("execute", {"command": "python train.py"}) for _ in range(2))
    assert "(note: network not isolated)" in first.text and "note:" not in second.text
    box.sandbox = NoticeSandbox("network not isolated; 1 background process(es) still running at the end were killed")
    assert "background process" in box.call("execute", {"command": "python train.py"}).text
