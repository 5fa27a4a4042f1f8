"""`linear`: debug the latest attempt while it fails (a bounded number of rounds), otherwise improve the best attempt
that worked, the latest among equals (so a chain of equal attempts goes on, and one that made the metric worse is not
built upon)."""

from __future__ import annotations

from copilot.execution.attempt import AttemptKind
from copilot.execution.policies.base import Policy, SearchState, latest_best, worth_debugging


class LinearSearch(Policy):
    """One chain: fix what failed, else build on the best."""

    def __init__(self, max_debug_rounds: int = 2, max_repairs: int = 3) -> None:
        self.max_debug_rounds = max_debug_rounds
        self.max_repairs = max_repairs

    def choose(self, state: SearchState) -> tuple[AttemptKind, str | None]:
        """Debug the latest attempt when it is worth it, else improve the best working one; with none working (the
        starter failed and its repairs did too), a draft from the starter code. Asked to "improve" then, the model was
        told "The starter code runs now (attempt None, mse = n/a)" (the suite's diabetes-gbr at 382b643)."""
        latest = state.attempts[-1]
        if worth_debugging(latest, state, self.max_debug_rounds):
            return "debug", latest.id
        best = latest_best(state.attempts, state.metric)
        return ("improve", best.id) if best else ("draft", None)
