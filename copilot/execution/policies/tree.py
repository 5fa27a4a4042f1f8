"""`tree` (AIDE's draft / debug / improve): first `num_drafts` independent drafts from the starter code (the repaired
one, when it had to be repaired), then debug a failing leaf while its chain of fixes is shorter than
`max_debug_depth`, otherwise improve the best attempt."""

from __future__ import annotations

from copilot.execution.attempt import AttemptKind
from copilot.execution.policies.base import Policy, SearchState, worth_debugging


class TreeSearch(Policy):
    """Several drafts, then the usual fix-or-improve on the tree they grow."""

    def __init__(self, num_drafts: int = 2, max_debug_depth: int = 2, max_repairs: int = 3) -> None:
        self.num_drafts = num_drafts
        self.max_debug_depth = max_debug_depth
        self.max_repairs = max_repairs

    def choose(self, state: SearchState) -> tuple[AttemptKind, str | None]:
        """Draft until there are `num_drafts`, then debug the newest failing leaf worth it, else improve the best."""
        attempts = state.attempts
        if sum(a.kind == "draft" for a in attempts) < self.num_drafts:
            return "draft", state.origin()
        children = {a.parent for a in attempts if a.parent}
        for leaf in reversed([a for a in attempts if a.status != "ok" and a.kind != "baseline"
                              and a.id not in children]):
            if worth_debugging(leaf, state, self.max_debug_depth):
                return "debug", leaf.id
        best = state.best()
        return ("improve", best.id) if best else ("draft", state.origin())
