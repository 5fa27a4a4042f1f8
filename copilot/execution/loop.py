"""The execution loop: measure the baseline, then implement → run → evaluate attempts until the budget ends.

An attempt's number comes only from the task's own evaluation, run here after the experiment: a stale results file
is deleted before the experiment and again before the evaluation (so experiment code cannot plant one), and
read-only files are checked by hash before the evaluation (tampering makes the attempt invalid and the files are
restored). The task's hidden files (held-out answers) are in the workspace only while the evaluation runs; anything
the experiment put at a hidden path makes the attempt invalid. Every attempt is written to `attempts/<id>/attempt.json`
when it ends, with a code snapshot, so a killed run resumes without losing or repeating an attempt.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from copilot.execution.attempt import Attempt, AttemptKind
from copilot.execution.measure import MeasurementError, clear_results, read_measurement
from copilot.execution.search import NextStep, best_attempt
from copilot.execution.snapshots import clean_copy, restore_snapshot, take_snapshot
from copilot.hidden import hidden_files_in, misplaced_hidden, remove_hidden
from copilot.rundir import RunDir, utc_now
from copilot.task import Task

log = logging.getLogger("copilot.execution")

Implement = Callable[[str, AttemptKind, Attempt | None], tuple[str, float | None]]
"""Runs an implementation episode for an instruction; returns the agent's summary and its claimed metric."""


def attempt_id(index: int) -> str:
    """Ordered attempt ids: a000 is the baseline."""
    return f"a{index:03d}"


class ExecutionLoop:
    """Runs and records attempts for one task in one workspace."""

    def __init__(self, task: Task, run: RunDir, workspace: Path, sandbox: Any, feedback: Any,
                 llm_usage: Callable[[], tuple[int, int, float]] | None = None) -> None:
        self.task = task
        self.run = run
        self.workspace = workspace
        self.sandbox = sandbox
        self.feedback = feedback
        self.llm_usage = llm_usage or (lambda: (0, 0, 0.0))
        self.attempts: list[Attempt] = self._load_recorded()

    # -- records -----------------------------------------------------------------------------------------------
    def _load_recorded(self) -> list[Attempt]:
        """Attempts finished before (resume); a half-written attempt folder from a killed run is discarded."""
        attempts = []
        root = self.run.path("attempts")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            record = folder / "attempt.json"
            if record.is_file():
                attempts.append(Attempt.model_validate_json(record.read_text(encoding="utf-8")))
            else:
                log.warning("discarding unfinished attempt folder %s (the run was interrupted in it)", folder.name)
                shutil.rmtree(folder)
        return attempts

    def snapshot_dir(self, attempt: Attempt | None) -> Path | None:
        """The code snapshot of an attempt; None for the starter code, which is also the baseline's code."""
        if attempt is None or attempt.kind == "baseline":
            return None
        return self.run.path("attempts", attempt.id, "snapshot")

    def _save(self, attempt: Attempt) -> None:
        self.run.write_json(f"attempts/{attempt.id}/attempt.json", attempt)
        self.attempts.append(attempt)

    # -- measuring ---------------------------------------------------------------------------------------------
    def measure(self, attempt: Attempt, workspace: Path) -> Attempt:
        """Run the experiment command and then the task's evaluation in `workspace`, and fill in the attempt.

        The hidden files are copied in for the evaluation only and removed when it ends, however it ends.
        """
        spec = self.task.spec
        started = time.monotonic()
        clear_results(workspace, spec.results_file)
        for rel in remove_hidden(workspace, spec.hidden):
            log.warning("removed %s before the experiment: only the evaluation may see a hidden file", rel)
        attempt.run = self.sandbox.run(attempt.command, workspace, timeout_s=spec.budgets.run_timeout_s)
        tampered = self._tampered_read_only(workspace)
        planted = misplaced_hidden(workspace, spec.hidden)
        remove_hidden(workspace, spec.hidden)
        if tampered or planted:
            attempt.status = "invalid"
            attempt.error = "; ".join(
                ([f"the experiment changed read-only files: {', '.join(tampered)} (restored)"] if tampered else [])
                + ([f"the experiment wrote where hidden files go: {', '.join(planted)}"] if planted else []))
        elif not attempt.run.ok:
            attempt.status = "failed"
            tail = (attempt.run.stderr_tail or attempt.run.stdout_tail).strip()[-2000:]
            attempt.error = f"experiment ended: {attempt.run.reason}, exit code {attempt.run.exit_code}\n{tail}"
        else:
            clear_results(workspace, spec.results_file)
            with hidden_files_in(workspace, self.task.workspace, spec.hidden):
                attempt.evaluation = self.sandbox.run(spec.evaluate, workspace, timeout_s=spec.budgets.run_timeout_s)
            try:
                attempt.measurement = read_measurement(workspace, spec.results_file, spec.metric, attempt.evaluation)
                attempt.status = "ok"
            except MeasurementError as error:
                attempt.status = "failed"
                attempt.error = f"evaluation: {error}"
        attempt.duration_s = round(time.monotonic() - started, 3)
        return attempt

    def _tampered_read_only(self, workspace: Path) -> list[str]:
        import filecmp

        changed = []
        for rel in self.task.spec.read_only:
            original, current = self.task.workspace / rel, workspace / rel
            if not original.exists():
                continue
            if not current.exists() or not filecmp.cmp(original, current, shallow=False):
                changed.append(rel)
                current.unlink(missing_ok=True)
                shutil.copy2(original, current)
                current.chmod(0o444)
        return changed

    # -- attempts ----------------------------------------------------------------------------------------------
    def run_baseline(self) -> Attempt:
        """Attempt a000: the unmodified starter code, in a fresh copy (recorded once; reused on resume)."""
        if self.attempts:
            return self.attempts[0]
        copy = clean_copy(self.task.workspace, None, self.run.path("attempts", "a000", "workspace"),
                          hidden=self.task.spec.hidden)
        attempt = Attempt(id=attempt_id(0), kind="baseline", command=self.task.spec.run, started_at=utc_now(),
                          instruction="the unmodified starter code")
        self.measure(attempt, copy)
        shutil.rmtree(copy)
        self._save(attempt)
        log.info("baseline: %s %s", attempt.status, attempt.metric)
        return attempt

    def run_attempt(self, step: NextStep, instruction: str, implement: Implement,
                    hypothesis: str = "") -> Attempt | None:
        """Restore the parent's code, let the agent implement, ask before running, measure, record.

        Returns None when the human skipped the execution (the skip is recorded as a `skipped` attempt).
        """
        parent = next((a for a in self.attempts if a.id == step.parent), None)
        restore_snapshot(self.workspace, self.task.workspace, self.snapshot_dir(parent), hidden=self.task.spec.hidden)
        attempt = Attempt(id=attempt_id(len(self.attempts)), parent=step.parent or self.attempts[0].id,
                          kind=step.kind, instruction=instruction, hypothesis=hypothesis, command=self.task.spec.run,
                          started_at=utc_now())
        before = self.llm_usage()
        attempt.agent_summary, attempt.claimed_metric = implement(instruction, step.kind, parent)
        return self.execute_current(attempt, before)

    def execute_current(self, attempt: Attempt, usage_before: tuple[int, int, float] = (0, 0, 0.0)) -> Attempt:
        """Ask, measure and record the workspace as it is now, as `attempt`."""
        snapshot = self.run.path("attempts", attempt.id, "snapshot")
        manifest = take_snapshot(self.workspace, self.task.workspace, snapshot,
                                 ignore=frozenset([self.task.spec.results_file, *self.task.spec.hidden]))
        attempt.code_diff = _diff_summary(self.workspace, self.task.workspace, manifest)
        decision = self.feedback.before_execution(attempt_id=attempt.id, command=attempt.command,
                                                  diff=attempt.code_diff)
        if decision.action == "skip":
            attempt.status, attempt.error = "skipped", "the human skipped this execution"
        else:
            if decision.action == "edit" and decision.command:
                attempt.command = decision.command
            self.measure(attempt, self.workspace)
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
