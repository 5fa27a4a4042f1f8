"""Search policies: which attempt to make next, given the attempts so far.

- `linear`: debug the latest attempt while it fails (a bounded number of rounds), otherwise improve the best attempt
  that worked, the latest among equals (so a chain of equal attempts goes on, and one that made the metric worse is
  not built upon).
- `tree` (AIDE's draft / debug / improve): first `num_drafts` independent drafts from the starter code, then debug a
  failing leaf while its chain of debug fixes is shorter than `max_debug_depth`, otherwise improve the best attempt.

Both stop debugging a chain whose last fix failed with the very error it was meant to fix (a dead end: the embedded
model "fixed" `No module named 'prophet'` by importing prophet again until the attempts ran out); the next attempt
then starts from the best working code, with the next untried hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass

from copilot.execution.attempt import Attempt, AttemptKind
from copilot.task import MetricSpec


@dataclass(frozen=True)
class NextStep:
    """The next attempt to make: its kind and the attempt it starts from (None: the starter code)."""

    kind: AttemptKind
    parent: str | None


def best_attempt(attempts: list[Attempt], metric: MetricSpec) -> Attempt | None:
    """The attempt with the best measured metric (earliest on ties), or None when nothing was measured."""
    best = None
    for attempt in attempts:
        if attempt.metric is None:
            continue
        if best is None or metric.better(attempt.metric, best.metric):  # type: ignore[arg-type]
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
    """True when `attempt` is a debug fix that failed with the same error as the attempt it was fixing."""
    parent = by_id.get(attempt.parent) if attempt.parent else None
    if attempt.kind != "debug" or attempt.status == "ok" or parent is None or parent.status == "ok":
        return False
    signature = error_signature(attempt.error)
    return bool(signature) and signature == error_signature(parent.error)


def worth_debugging(attempt: Attempt, by_id: dict[str, Attempt], max_depth: int) -> bool:
    """Whether a failed attempt gets another fix: its chain of fixes is shorter than `max_depth` and the last fix
    changed the failure."""
    return (attempt.status != "ok" and attempt.kind != "baseline" and debug_depth(attempt, by_id) < max_depth
            and not repeats_parent_failure(attempt, by_id))


class LinearSearch:
    """Improve the best working attempt (the latest among equals); debug a failing one up to `max_debug_rounds`
    times, or until a fix fails with the error it was fixing."""

    def __init__(self, max_debug_rounds: int = 2) -> None:
        self.max_debug_rounds = max_debug_rounds

    def next_step(self, attempts: list[Attempt], metric: MetricSpec) -> NextStep:
        """Decide the next attempt from the history (the baseline is always `attempts[0]`)."""
        by_id = {a.id: a for a in attempts}
        latest = attempts[-1]
        if worth_debugging(latest, by_id, self.max_debug_rounds):
            return NextStep("debug", latest.id)
        best: Attempt | None = None
        for attempt in attempts:
            value = attempt.metric
            if value is not None and (best is None or not metric.better(best.metric, value)):  # type: ignore[arg-type]
                best = attempt
        return NextStep("improve", best.id if best else None)


class TreeSearch:
    """AIDE-style draft / debug / improve."""

    def __init__(self, num_drafts: int = 2, max_debug_depth: int = 2) -> None:
        self.num_drafts = num_drafts
        self.max_debug_depth = max_debug_depth

    def next_step(self, attempts: list[Attempt], metric: MetricSpec) -> NextStep:
        """Decide the next attempt from the history (the baseline is always `attempts[0]`)."""
        by_id = {a.id: a for a in attempts}
        drafts = [a for a in attempts if a.kind == "draft"]
        if len(drafts) < self.num_drafts:
            return NextStep("draft", None)
        children = {a.parent for a in attempts if a.parent}
        failing_leaves = [a for a in attempts if a.status != "ok" and a.kind != "baseline" and a.id not in children]
        for leaf in reversed(failing_leaves):
            if worth_debugging(leaf, by_id, self.max_debug_depth):
                return NextStep("debug", leaf.id)
        best = best_attempt(attempts, metric)
        return NextStep("improve", best.id if best else None) if best else NextStep("draft", None)


def build_search(policy: str, **options: int) -> LinearSearch | TreeSearch:
    """The policy named in `conf/search/<policy>.yaml`."""
    if policy == "linear":
        return LinearSearch(max_debug_rounds=options.get("max_debug_rounds", 2))
    if policy == "tree":
        return TreeSearch(num_drafts=options.get("num_drafts", 2), max_debug_depth=options.get("max_debug_depth", 2))
    raise ValueError(f"unknown search policy {policy!r}")
