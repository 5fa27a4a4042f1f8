"""The execution loop: measure the baseline, then implement → run → evaluate attempts until the budget ends.

`ExecutionLoop.run()` is the whole loop: ask the search policy for the next step (with the coach's derived candidates
queued first), let an agent implement it, ask the human before running, measure, record, ask the human after. All
its state is in the attempt journal (`copilot/execution/journal.py`), so a killed run resumes by replaying it.

An attempt's number comes only from the task's own evaluation, run after the experiment in a folder of its own
(`copilot/execution/evaluation.py`): the starter's pristine read-only files, the experiment's outputs (not its Python
modules) and the hidden files, which never enter the workspace. Tampering with read-only files, or writing where a
hidden file goes, makes the attempt invalid. Every attempt is written to `attempts/<id>/attempt.json` when it ends,
with a code snapshot, so a killed run resumes without losing or repeating an attempt.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from copilot.budget import Budget
from copilot.coach.base import Coach, NoCoach
from copilot.execution.attempt import Attempt
from copilot.execution.instructions import history_lines, instruction_for
from copilot.execution.journal import Decision, Journal
from copilot.execution.policies.base import NextStep, SearchPolicy, SearchState, best_attempt
from copilot.execution.policies.linear import LinearSearch
from copilot.execution.queue import HypothesisQueue
from copilot.execution.snapshots import clean_copy, restore_snapshot, same_code, take_snapshot
from copilot.experiment.agent import EpisodeResult
from copilot.progress import Progress
from copilot.rundir import RunDir, utc_now
from copilot.task import Task

log = logging.getLogger("copilot.execution")

Implement = Callable[[str, NextStep, str], EpisodeResult]
"""Runs an implementation episode: (instruction, the step it implements, the attempts so far as text)."""


def attempt_id(index: int) -> str:
    """Ordered attempt ids: a000 is the baseline."""
    return f"a{index:03d}"


def _no_episode(instruction: str, step: NextStep, history: str) -> EpisodeResult:
    raise RuntimeError("this ExecutionLoop was built without an implementer; it can only measure")


class ExecutionLoop:
    """Runs and records attempts for one task in one workspace."""

    def __init__(self, task: Task, run: RunDir, workspace: Path, sandbox: Any, feedback: Any, *,
                 implement: Implement = _no_episode, policy: SearchPolicy | None = None,
                 queue: HypothesisQueue | None = None, budget: Budget | None = None, coach: Coach | None = None,
                 observers: Sequence[Any] = (), say: Callable[[str], None] = log.info,
                 llm_usage: Callable[[], tuple[int, int, float]] | None = None,
                 expected_call_s: Callable[[], float] = lambda: 0.0, earlier_versions: Sequence[str] = (),
                 progress: Progress | None = None, check: Callable[[Path], list[str]] = lambda root: [],
                 points: Sequence[Any] = ()) -> None:
        self.task = task
        self.rundir = run
        self.workspace = workspace
        self.sandbox = sandbox
        self.feedback = feedback
        self.implement = implement
        self.policy = policy or LinearSearch()
        self.budget = budget or Budget(wall_clock_s=task.spec.budgets.wall_clock_s, attempts=task.spec.budgets.attempts)
        self.coach = coach or NoCoach()
        self.observers = list(observers)
        self.say = say
        self.llm_usage = llm_usage or (lambda: (0, 0, 0.0))
        self.expected_call_s = expected_call_s
        self.earlier_versions = list(earlier_versions)
        self.progress = progress
        self.check = check  # the problem's rules the code in a folder breaks, one line each (copilot/constraints/)
        self.points = [p for p in points if p.at == "before_attempt"]  # feedback points of one's own
        self.journal = Journal(run)
        self.state = self.journal.replay()
        self.attempts: list[Attempt] = self.state.attempts
        self.queue = queue or HypothesisQueue()
        for event in self.state.queued:
            self.queue.add(event)
        for attempt in self.attempts:
            self.budget.note_attempt(attempt.duration_s)

    # -- the loop ----------------------------------------------------------------------------------------------
    def run(self, first: Attempt | None = None) -> None:
        """Measure the baseline, then make the attempts the policy asks for until the attempt budget, the wall clock
        or the human ends the loop. `first` is an attempt stage 2 already implemented, measured after the baseline."""
        self.run_baseline()
        if first is not None and len(self.attempts) == 1:
            self.review(self.execute_current(first, after_episode=True))
        while (step := self.next_step()) is not None:
            try:
                attempt = self.run_attempt(step)
            except KeyboardInterrupt:
                self.say("[yellow]interrupted[/]: the current attempt is discarded; press Ctrl-C again to exit")
                attempt = None
            self.review(attempt)

    def next_step(self) -> NextStep | None:
        """The next attempt to make, or None when the journal, the attempt budget or the wall clock says stop."""
        if self.state.stopped:
            return None
        # An attempt whose episode changed no code ran nothing: it is not one of the task's `attempts`, and the wall
        # clock bounds how many are made (issue 16: stop early only when nothing can finish in the time left); a
        # model that only repeats the code, the budget's count of times in a row, ends the loop.
        made = self.attempts[1:]
        ran = sum(not a.unchanged for a in made)
        in_a_row = next((i for i, a in enumerate(reversed(made)) if not a.unchanged), len(made))
        if self.budget.attempts_left(ran) <= 0 or self.budget.attempts_left(in_a_row) <= 0:
            log.info("execution: attempt budget (%s) reached", self.budget.attempts)
            return None
        if not self.budget.can_start(self.expected_call_s()):
            log.info("execution: no time left for another model call before the wall-clock deadline")
            return None
        self.coach.begin_attempt(attempt_id(len(self.attempts)))  # what fires from here on touches the next attempt
        if self.progress is not None:
            self.progress.attempt(None)
        search = SearchState(self.attempts, self.task.spec.metric, self.queue, self.state)
        derived = self.coach.derive(search)
        if derived is not None:
            self.journal.append(derived)
            self.state.queued.append(derived)
            self.queue.add(derived)
        step = self.policy.next_step(search)
        if step.reason:
            self.say(step.reason)
        return self._ask_points(step)

    def _ask_points(self, step: NextStep) -> NextStep | None:
        """The feedback points asked before an attempt (`copilot.feedback.points`, site `before_attempt`): `stop`
        ends the loop, `instruct` becomes the human's instruction for this attempt; both are journal events."""
        for point in self.points:
            answer = self.feedback.ask_point(point, attempt_id=attempt_id(len(self.attempts)), kind=step.kind,
                                             parent=step.parent, candidate=step.candidate.title if step.candidate
                                             else "", instruction="")
            if answer.action in ("stop", "instruct"):
                self.journal.append(Decision(after=self.attempts[-1].id, action=answer.action,
                                             instruction=answer.text))
            if answer.action == "stop":
                self.state.stopped = True
                return None
            if answer.action == "instruct":
                self.state.instruction = answer.text
        return step

    def review(self, attempt: Attempt | None) -> None:
        """Ask the human what to do after `attempt` (None: it was interrupted), and journal the answer."""
        best = self.best()
        decision = self.feedback.after_execution(
            attempt_id=attempt.id if attempt else "(interrupted)", status=attempt.status if attempt else "interrupted",
            metric=attempt.metric if attempt else None, baseline=self.attempts[0].metric if self.attempts else None,
            best=best.metric if best else None, stdout_tail=attempt.run.stdout_tail if attempt and attempt.run else "",
            stderr_tail=attempt.run.stderr_tail if attempt and attempt.run else "",
            attempt_ids=[a.id for a in self.attempts])
        log.info("feedback after execution: %s", decision)
        event = Decision(after=self.attempts[-1].id, action=decision.action, instruction=decision.instruction,
                         attempt_id=decision.attempt_id)
        self.journal.append(event)
        self.state.stopped = self.state.stopped or event.action == "stop"
        self.state.rollback = event.attempt_id if event.action == "rollback" else None
        self.state.instruction = event.instruction if event.action == "instruct" else None

    def _running(self, attempt: Attempt) -> AbstractContextManager[Any]:
        """The live display's bar for measuring `attempt` (its experiment, then the evaluation)."""
        if self.progress is None:
            return nullcontext()
        return self.progress.activity(f"{attempt.id}: {attempt.command}", total_s=self.task.spec.budgets.run_timeout_s)

    # -- records -----------------------------------------------------------------------------------------------
    def snapshot_dir(self, attempt: Attempt | None) -> Path | None:
        """The code snapshot of an attempt; None for the starter code, which is also the baseline's code."""
        if attempt is None or attempt.kind == "baseline":
            return None
        return self.rundir.path("attempts", attempt.id, "snapshot")

    def _save(self, attempt: Attempt) -> None:
        self.journal.save_attempt(attempt)
        self.attempts.append(attempt)
        self.budget.note_attempt(attempt.duration_s)
        for observer in self.observers:
            observer.attempt_recorded(self.rundir.root, attempt)

    # -- measuring ---------------------------------------------------------------------------------------------
    def measure(self, attempt: Attempt, workspace: Path) -> Attempt:
        """Run the experiment command in `workspace`, then the task's evaluation in a folder of its own (with the
        hidden files, removed when it ends), and fill in the attempt (`copilot/execution/evaluation.py`)."""
        from copilot.execution.evaluation import measure_attempt

        return measure_attempt(attempt, workspace, self.task, self.sandbox)

    def _tampered_read_only(self, workspace: Path) -> list[str]:
        """The read-only files the experiment changed (bytes, mode, or replaced by a link), each restored."""
        from copilot.execution.evaluation import restore_read_only

        return restore_read_only(self.task, workspace)

    # -- attempts ----------------------------------------------------------------------------------------------
    def run_baseline(self) -> Attempt:
        """Attempt a000: the unmodified starter code, in a fresh copy (recorded once; reused on resume)."""
        if self.attempts:
            return self.attempts[0]
        copy = clean_copy(self.task.workspace, None, self.rundir.path("attempts", "a000", "workspace"),
                          hidden=self.task.spec.hidden)
        attempt = Attempt(id=attempt_id(0), kind="baseline", command=self.task.spec.run, started_at=utc_now(),
                          instruction="the unmodified starter code")
        with self._running(attempt):
            self.measure(attempt, copy)
        shutil.rmtree(copy)
        self._save(attempt)
        log.info("baseline: %s %s", attempt.status, attempt.metric)
        return attempt

    def run_attempt(self, step: NextStep, instruction: str | None = None) -> Attempt:
        """Restore the parent's code, let the agent implement the step (as `instruction` when given, else as
        `instruction_for` words it), then ask, measure and record."""
        parent = next((a for a in self.attempts if a.id == step.parent), None)
        restore_snapshot(self.workspace, self.task.workspace, self.snapshot_dir(parent), hidden=self.task.spec.hidden)
        attempt = Attempt(id=attempt_id(len(self.attempts)), parent=step.parent or self.attempts[0].id, kind=step.kind,
                          command=self.task.spec.run, started_at=utc_now(),
                          hypothesis=step.candidate.title if step.candidate else (
                              parent.hypothesis if parent is not None and step.kind == "debug" else ""))
        attempt.instruction = instruction or instruction_for(step, self.attempts, self.task.spec, self.coach,
                                                             self.earlier_versions, self.state.instruction)
        if self.progress is not None:
            self.progress.attempt(attempt.id, attempt.kind)
        before = self.llm_usage()
        result = self.implement(attempt.instruction, step, history_lines(self.attempts))
        attempt.agent_summary = f"{result.status} after {result.steps} steps. {result.summary}".strip()
        attempt.claimed_metric = result.claimed_metric
        return self.execute_current(attempt, before, after_episode=True)

    def execute_current(self, attempt: Attempt, usage_before: tuple[int, int, float] = (0, 0, 0.0),
                        after_episode: bool = False) -> Attempt:
        """Ask, measure and record the workspace as it is now, as `attempt`; `after_episode`: what an agent's episode
        left, which is not run when it changed no code of the parent's."""
        snapshot = self.rundir.path("attempts", attempt.id, "snapshot")
        manifest = take_snapshot(self.workspace, self.task.workspace, snapshot,
                                 ignore=frozenset([self.task.spec.results_file, *self.task.spec.hidden]))
        attempt.code_diff = _diff_summary(self.workspace, self.task.workspace, manifest)
        parent = next((a for a in self.attempts if a.id == attempt.parent), None)
        if after_episode and parent is not None and same_code(snapshot, self.snapshot_dir(parent), CODE_SUFFIXES):
            # Nothing new to measure; with a time metric, a second measurement of the same code can come out 15 %
            # "better" (the real suite's sat-heuristic: an episode whose edits never applied, 13.3 s against 15.5 s).
            attempt.status, attempt.unchanged = "failed", True
            attempt.error = (f"the episode changed no code: the code is the same as {parent.id}'s, so there was "
                             "nothing new to run or measure")
            return self._finish(attempt, usage_before)
        decision = self.feedback.before_execution(attempt_id=attempt.id, command=attempt.command,
                                                  diff=attempt.code_diff)
        broken = self.check(self.workspace) if decision.action != "skip" else []
        if decision.action == "skip":
            attempt.status, attempt.error = "skipped", "the human skipped this execution"
        elif broken:  # not run at all: its number could not count
            attempt.status = "invalid"
            attempt.error = "the code breaks a rule of the problem, so it was not run:\n" + "\n".join(broken)
        else:
            if decision.action == "edit" and decision.command:
                attempt.command = decision.command
            with self._running(attempt):
                self.measure(attempt, self.workspace)
        return self._finish(attempt, usage_before)

    def _finish(self, attempt: Attempt, usage_before: tuple[int, int, float]) -> Attempt:
        """Record `attempt` with the tokens and cost spent since `usage_before`."""
        after = self.llm_usage()
        attempt.prompt_tokens, attempt.completion_tokens = after[0] - usage_before[0], after[1] - usage_before[1]
        attempt.cost_usd = round(after[2] - usage_before[2], 6)
        self._save(attempt)
        log.info("attempt %s (%s from %s): %s metric=%s", attempt.id, attempt.kind, attempt.parent, attempt.status,
                 attempt.metric)
        return attempt

    def best(self) -> Attempt | None:
        """The best measured attempt so far."""
        return best_attempt(self.attempts, self.task.spec.metric)


CODE_SUFFIXES = {".py", ".sh", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt", ".md", ".r", ".jl", ".ipynb"}


def _diff_summary(workspace: Path, source: Path, manifest: dict) -> str:
    """A unified diff of changed code files against the starter code; data and outputs are listed with sizes."""
    import difflib

    chunks = []
    for rel in manifest["changed"]:
        new_path, old_path = workspace / rel, source / rel
        if Path(rel).suffix.lower() not in CODE_SUFFIXES:
            chunks.append(f"Changed file {rel} ({new_path.stat().st_size:,} bytes, not code: not diffed)\n")
            continue
        try:
            new = new_path.read_text(encoding="utf-8").splitlines(keepends=True)
            old = old_path.read_text(encoding="utf-8").splitlines(keepends=True) if old_path.exists() else []
        except (UnicodeDecodeError, OSError):
            chunks.append(f"Binary file {rel} changed ({new_path.stat().st_size:,} bytes)\n")
            continue
        chunks.append("".join(difflib.unified_diff(old, new, f"a/{rel}", f"b/{rel}")))
    chunks += [f"Deleted {rel}\n" for rel in manifest["deleted"]]
    chunks += [f"Changed (too large to keep) {rel}\n" for rel in manifest["too_large"]]
    return "".join(chunks)
