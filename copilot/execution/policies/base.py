"""What every search policy shares: the state it reads, the step it returns, and the rules all of them follow.

A policy decides the kind of the next attempt and the attempt it starts from; what it then tests comes from the
hypothesis queue (`copilot.execution.queue`): a debug attempt keeps its parent's hypothesis, a draft or an
improvement takes the next untried candidate (none left: the agent chooses its own change). Rules that come before
any policy's own choice: a rollback the human asked for after the latest attempt; when the starter code does not run,
a `repair` first (the smallest change that makes it run, the error being the instruction; up to `max_repairs`
tries), since a researcher makes the starter run before changing it, and that repaired code is then the baseline
later attempts start from and are compared with; and no more fixes for a failure whose last fix failed with the very
error it was fixing (a dead end), or for a candidate whose parts are queued (they are the smaller fixes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from copilot.execution.attempt import Attempt, AttemptKind
from copilot.execution.journal import Candidate, JournalState
from copilot.execution.queue import HypothesisQueue
from copilot.task import MetricSpec


@dataclass(frozen=True)
class NextStep:
    """The next attempt to make: its kind, the attempt it starts from (None: the starter code), the candidate it
    tests (None: the plan's, its parent's, or the agent's own choice), and why, when that is worth saying."""

    kind: AttemptKind
    parent: str | None
    candidate: Candidate | None = None
    reason: str = ""


@dataclass
class SearchState:
    """What a policy reads: the attempts so far (the baseline first), the metric, the queue and the journal."""

    attempts: list[Attempt]
    metric: MetricSpec
    queue: HypothesisQueue = field(default_factory=HypothesisQueue)
    journal: JournalState = field(default_factory=JournalState)

    @property
    def by_id(self) -> dict[str, Attempt]:
        """The attempts by id."""
        return {a.id: a for a in self.attempts}

    def best(self) -> Attempt | None:
        """The best measured attempt (earliest on ties)."""
        return best_attempt(self.attempts, self.metric)

    def origin(self) -> str | None:
        """Where fresh drafts start: the repaired starter code when the starter had to be repaired, else None (the
        starter code itself)."""
        return next((a.id for a in self.attempts if a.kind == "repair" and a.status == "ok"), None)

    def starter_fails(self) -> bool:
        """Whether the starter code has not run yet: the baseline failed and no attempt has run since."""
        return bool(self.attempts) and self.attempts[0].status != "ok" and not any(
            a.status == "ok" for a in self.attempts)


class SearchPolicy(Protocol):
    """Chooses the next attempt."""

    def next_step(self, state: SearchState) -> NextStep:
        """The next attempt to make, given the state of the search."""
        ...


def best_attempt(attempts: list[Attempt], metric: MetricSpec) -> Attempt | None:
    """The attempt with the best measured metric (earliest on ties), or None when nothing was measured."""
    best = None
    for attempt in attempts:
        if attempt.metric is None:
            continue
        if best is None or metric.better(attempt.metric, best.metric):  # type: ignore[arg-type]
            best = attempt
    return best


def latest_best(attempts: list[Attempt], metric: MetricSpec) -> Attempt | None:
    """The best measured attempt, the latest among equals (a chain of equal attempts goes on)."""
    best: Attempt | None = None
    for attempt in attempts:
        value = attempt.metric
        if value is not None and (best is None or not metric.better(best.metric, value)):  # type: ignore[arg-type]
            best = attempt
    return best


def debug_depth(attempt: Attempt, by_id: dict[str, Attempt]) -> int:
    """How many consecutive debug attempts lead to `attempt` (itself included)."""
    depth = 0
    node: Attempt | None = attempt
    while node is not None and node.kind == "debug":
        depth += 1
        node = by_id.get(node.parent) if node.parent else None
    return depth


def error_signature(error: str | None) -> str:
    """The last non-empty line of an attempt's error: the exception and its message, without the traceback's paths
    and line numbers, which change with every edit."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def repeats_parent_failure(attempt: Attempt, by_id: dict[str, Attempt]) -> bool:
    """True when `attempt` is a fix (debug or repair) that failed with the same error as the attempt it was fixing."""
    parent = by_id.get(attempt.parent) if attempt.parent else None
    if attempt.kind not in ("debug", "repair") or attempt.status == "ok" or parent is None or parent.status == "ok":
        return False
    signature = error_signature(attempt.error)
    return bool(signature) and signature == error_signature(parent.error)


def worth_debugging(attempt: Attempt, state: SearchState, max_depth: int) -> bool:
    """Whether a failed attempt gets another fix: it changed some code (an episode that changed none would only be
    asked again what it could not do: on the real suite the embedded model repeated the file in 10 of 13 fix
    rounds), its chain of fixes is shorter than `max_depth`, the last fix changed the failure, and the candidate it
    tests has not been split into parts."""
    by_id = state.by_id
    return (attempt.status != "ok" and attempt.kind != "baseline" and not attempt.unchanged
            and debug_depth(attempt, by_id) < max_depth
            and not repeats_parent_failure(attempt, by_id) and not state.journal.derived_from(attempt.hypothesis))


class Policy:
    """The shared frame of the built-in policies: the human's rollback first, then a repair of a starter that does
    not run, then `choose`, then the candidate."""

    max_repairs: int = 3

    def next_step(self, state: SearchState) -> NextStep:
        """The next attempt: a pending rollback, a repair, or the policy's choice, with the candidate it tests."""
        if state.journal.rollback:
            return NextStep("improve", state.journal.rollback, self._candidate("improve", state),
                            reason=f"the human rolled back to {state.journal.rollback}")
        repair = self._repair(state)
        if repair is not None:
            return repair
        kind, parent = self.choose(state)
        latest = state.attempts[-1]
        reason = ""
        if kind != "debug" and repeats_parent_failure(latest, state.by_id):
            reason = (f"{latest.id} failed with the error it was fixing ({error_signature(latest.error)[:120]}): "
                      "no more fixes, moving on")
        return NextStep(kind, parent, self._candidate(kind, state, parent), reason)

    def choose(self, state: SearchState) -> tuple[AttemptKind, str | None]:
        """The kind of the next attempt and the attempt it starts from."""
        raise NotImplementedError

    def _repair(self, state: SearchState) -> NextStep | None:
        if not state.starter_fails():
            return None
        repairs = [a for a in state.attempts if a.kind == "repair"]
        if len(repairs) >= self.max_repairs or (repairs and repeats_parent_failure(repairs[-1], state.by_id)):
            return None
        parent = repairs[-1] if repairs else state.attempts[0]
        return NextStep("repair", parent.id, reason="" if repairs else "the starter code does not run: making it run "
                        "first, with the smallest change")

    @staticmethod
    def _candidate(kind: AttemptKind, state: SearchState, parent: str | None = None) -> Candidate | None:
        if kind == "debug":
            tested = state.by_id[parent].hypothesis if parent in state.by_id else ""
            return state.queue.find(tested) if tested else None
        return state.queue.next(state.attempts)
