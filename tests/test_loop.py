"""`ExecutionLoop.run` on a small real task with scripted episodes (each writes a canned script; no model): a starter
that does not run is repaired first and becomes the baseline, the problem's rules make an attempt invalid before it
runs, the human's decisions are journal events that a new loop replays, and the budget ends the loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.budget import Budget
from copilot.constraints import attempt_violations, extract_constraints
from copilot.execution.journal import Journal
from copilot.execution.loop import ExecutionLoop
from copilot.execution.report import render_report, summarize
from copilot.experiment.agent import EpisodeResult
from copilot.feedback.scripted import ScriptedFeedback
from copilot.records import RunRecords
from copilot.sandbox.local import LocalSandbox
from copilot.task import Budgets, MetricSpec, Task, TaskSpec

EVALUATE = "import json\nvalue = float(open('out.txt').read())\njson.dump({'metric': 'score', 'value': value}, " \
           "open('results.json', 'w'))\n"
CRASHING = "import numpy as np\nx = np.float(0.5)\nopen('out.txt', 'w').write(str(x))\n"


def make_task(tmp_path: Path, train: str) -> Task:
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "train.py").write_text(train)
    (starter / "evaluate.py").write_text(EVALUATE)
    spec = TaskSpec(title="score", metric=MetricSpec(name="score", direction="maximize"), run="python train.py",
                    evaluate="python evaluate.py", read_only=["evaluate.py"],
                    budgets=Budgets(attempts=3, run_timeout_s=30, wall_clock_s=600))
    return Task(name="score", spec=spec, workspace=starter)


def make_loop(tmp_path: Path, task: Task, scripts: list[str], answers: str = "", check=None,
              points=()) -> ExecutionLoop:
    """A loop whose episodes write the next script of `scripts` into the workspace (scripted, not a model)."""
    from copilot.experiment.workspace import Workspace

    run = RunRecords(tmp_path / "run")
    workspace = Workspace.create(task.workspace, run.path("workspace"), task.spec.read_only, run.path("traces")) \
        if not run.path("workspace").exists() else Workspace.open(run.path("workspace"), task.spec.read_only)
    feedback_file = tmp_path / "answers.yaml"
    feedback_file.write_text(answers or "{}\n")
    pending = list(scripts)

    def implement(instruction: str, step, history: str) -> EpisodeResult:
        implement.instructions.append(instruction)
        (workspace.root / "train.py").write_text(pending.pop(0))
        return EpisodeResult(status="final", steps=1, summary="wrote train.py")

    implement.instructions = []
    feedback = ScriptedFeedback(feedback_file, points=[p.name for p in points])
    loop = ExecutionLoop(task, run, workspace.root, LocalSandbox(), feedback, implement=implement,
                         budget=Budget(wall_clock_s=600, attempts=task.spec.budgets.attempts),
                         check=check or (lambda root: []), points=points)
    loop.episode_instructions = implement.instructions
    return loop


def test_a_starter_that_does_not_run_is_repaired_first_and_the_report_compares_with_the_repair(tmp_path):
    task = make_task(tmp_path, CRASHING)
    fixed = "x = 0.5\nopen('out.txt', 'w').write(str(x))\n"
    better = "x = 0.8\nopen('out.txt', 'w').write(str(x))\n"
    loop = make_loop(tmp_path, task, [fixed, better, better + "# the same model\n"])
    loop.run()
    kinds = [(a.id, a.kind, a.status, a.metric) for a in loop.attempts]
    assert kinds[0][1:3] == ("baseline", "failed") and kinds[1] == ("a001", "repair", "ok", 0.5)
    assert kinds[2][1:] == ("improve", "ok", 0.8) and loop.attempts[2].parent == "a001"
    assert loop.episode_instructions[0].startswith("The starter code does not run yet")
    assert "np.float" in loop.episode_instructions[0] or "has no attribute 'float'" in loop.episode_instructions[0]
    summary = summarize(loop.attempts, task.spec.metric, task="score", llm="scripted")
    assert (summary.baseline, summary.baseline_attempt, summary.baseline_repaired) == (0.5, "a001", True)
    assert summary.improvement_rel == pytest.approx(0.6) and summary.success
    assert "the starter code did not run; attempt a001 repaired it" in render_report(summary, loop.attempts, None,
                                                                                   None)


def test_code_that_breaks_a_rule_of_the_problem_is_not_run_and_is_invalid(tmp_path):
    task = make_task(tmp_path, "open('out.txt', 'w').write('0.5')\n")
    rules = extract_constraints("Improve the score using only the numpy library.")
    uses_pandas = "import pandas as pd\nopen('out.txt', 'w').write('0.9')\n"
    uses_numpy = "import numpy as np\nopen('out.txt', 'w').write(str(np.float64(0.7)))\n"
    loop = make_loop(tmp_path, task, [uses_pandas, uses_numpy, uses_numpy + "# the same\n"],
                     check=lambda root: attempt_violations(task, root, rules))
    loop.run()
    cheat = loop.attempts[1]
    assert cheat.status == "invalid" and cheat.metric is None and cheat.run is None, "it never ran"
    assert "breaks a rule of the problem" in cheat.error and "pandas" in cheat.error
    assert loop.attempts[2].metric == pytest.approx(0.7)


def test_the_humans_decisions_are_journal_events_a_new_loop_replays(tmp_path):
    task = make_task(tmp_path, "open('out.txt', 'w').write('0.5')\n")
    scripts = ["open('out.txt', 'w').write('0.9')\n", "open('out.txt', 'w').write('0.1')\n"]
    loop = make_loop(tmp_path, task, scripts, answers="after_execution: [continue, {action: rollback, "
                                                    "attempt_id: a000}, stop]\n")
    loop.budget.attempts = 2
    loop.run()
    assert [a.id for a in loop.attempts] == ["a000", "a001", "a002"]
    state = Journal(loop.rundir).replay()
    assert not state.stopped and state.rollback == "a000", "the rollback after a002 is pending for the next attempt"
    again = make_loop(tmp_path, task, ["open('out.txt', 'w').write('0.6')\n"], answers="after_execution: [stop]\n")
    again.budget.attempts = 5
    step = again.next_step()
    assert (step.kind, step.parent) == ("improve", "a000"), "resume replays the rollback"
    again.review(again.run_attempt(step))
    assert again.next_step() is None and Journal(again.rundir).replay().stopped


def test_no_attempt_starts_when_the_budget_says_it_could_not_finish(tmp_path):
    task = make_task(tmp_path, "open('out.txt', 'w').write('0.5')\n")
    loop = make_loop(tmp_path, task, [])
    loop.budget = Budget(wall_clock_s=600, attempts=3, clock=lambda: 0.0, started=0.0)
    loop.run_baseline()
    loop.expected_call_s = lambda: 700.0
    assert loop.next_step() is None
    loop.expected_call_s = lambda: 1.0
    loop.budget.attempts = 0
    assert loop.next_step() is None


def test_an_episode_that_changed_no_code_is_not_measured_again(tmp_path):
    """Scripted episodes: the first writes the starter's own script back (on the real suite's sat-heuristic no edit
    of the model applied, and the unchanged solver, timed again, measured 14 % "better" than the baseline); the
    second changes it. Only changed code is run and measured, and an unchanged attempt is not debugged."""
    working = "x = 0.5\nopen('out.txt', 'w').write(str(x))\n"
    task = make_task(tmp_path, working)
    loop = make_loop(tmp_path, task, [working, "x = 0.7\nopen('out.txt', 'w').write(str(x))\n", working,
                                      "x = 0.8\nopen('out.txt', 'w').write(str(x))\n"])
    loop.run()
    rows = [(a.id, a.kind, a.status, a.metric) for a in loop.attempts]
    assert rows[:3] == [("a000", "baseline", "ok", 0.5), ("a001", "improve", "failed", None),
                        ("a002", "improve", "ok", 0.7)], rows
    assert loop.attempts[1].error == ("the episode changed no code: the code is the same as a000's, so there was "
                                      "nothing new to run or measure")
    assert loop.attempts[1].run is None and loop.attempts[1].measurement is None and loop.attempts[1].unchanged
    assert loop.attempts[2].parent == "a000", "not debugged: asked again, it would only repeat what it could not do"
    assert rows[3][2:] == ("ok", 0.5), "the starter's code again, but as a change of a002's: measured"
    assert len(rows) == 5 and rows[4][2:] == ("ok", 0.8), "three attempts ran: the unchanged one is not counted"


def test_unchanged_attempts_do_not_use_up_the_attempt_budget_but_enough_of_them_in_a_row_end_the_loop(tmp_path):
    """Scripted episodes with an attempt budget of 3: unchanged attempts between changed ones do not count (the real
    suite's game tasks ended with minutes left, their budget spent on replies that changed nothing); three unchanged
    in a row end the loop."""
    working = "x = 0.5\nopen('out.txt', 'w').write(str(x))\n"
    task = make_task(tmp_path, working)
    task.spec.budgets.attempts = 3
    changed = [f"x = 0.{d}\nopen('out.txt', 'w').write(str(x))\n" for d in (6, 7)]
    loop = make_loop(tmp_path, task, [working, changed[0], changed[0], changed[0], changed[1], changed[1], changed[1],
                                      changed[1]])
    loop.run()
    made = loop.attempts[1:]
    assert [a.unchanged for a in made] == [True, False, True, True, False, True, True, True]
    assert sum(not a.unchanged for a in made) == 2, "two of three attempts ran: the loop ended on the repeats"
