"""`Budget`: the run's limits (wall clock, tokens, cost, attempts) as one object that every stage draws on.

The wall clock counts from the start of the run. Stage 1 may use at most `idea_share` of it, so that a slow model
cannot spend the experiments' time on ideas: past its deadline the idea chain goes on with what it has (fewer
hypotheses, no second request). Implementation work ends early enough for what the run still does after the last
episode: measuring that attempt and re-executing the best one from a clean copy (twice the longest attempt measured so
far) plus `closing_s` for the report. No model call is started that would likely end past the deadline it works to:
`can_start(expected_s)`, with the model's recent latency as `expected_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Usage = Callable[[], tuple[int, float]]
"""Tokens (prompt + completion) and dollars spent so far by the run's LLM."""

STAGE_DEADLINES = ("idea", "work")


@dataclass
class Budget:
    """The run's limits and what has been spent of them. Times are `time.monotonic()` values."""

    wall_clock_s: float
    tokens: int | None = None
    cost_usd: float | None = None
    attempts: int | None = None
    idea_share: float = 0.25
    closing_s: float = 10.0
    usage: Usage = field(default=lambda: (0, 0.0))
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    longest_attempt_s: float = 0.0

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def deadline(self) -> float:
        """When the whole run must have ended."""
        return self.started + self.wall_clock_s

    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    def remaining_s(self) -> float:
        """Seconds left of the whole run's wall clock (negative once it is over)."""
        return self.deadline - self.clock()

    def idea_deadline(self) -> float:
        """When stage 1 must stop asking the model for more."""
        return self.started + self.idea_share * self.wall_clock_s

    def note_attempt(self, duration_s: float) -> None:
        """Record a measured attempt's duration (the closing re-execution is expected to take as long)."""
        self.longest_attempt_s = max(self.longest_attempt_s, duration_s)

    def work_deadline(self) -> float:
        """When implementation work must end so that the run, closing included, ends within its wall clock."""
        return self.deadline - 2 * self.longest_attempt_s - self.closing_s

    def spent(self) -> str | None:
        """The name of the first token or cost limit that has been reached, or None."""
        tokens, cost = self.usage()
        if self.tokens is not None and tokens >= self.tokens:
            return "tokens"
        if self.cost_usd is not None and cost >= self.cost_usd:
            return "cost"
        return None

    def can_start(self, expected_s: float, until: float | None = None) -> bool:
        """Whether work expected to take `expected_s` would end before `until` (default: the work deadline) and no
        token or cost limit has been reached."""
        end = self.work_deadline() if until is None else until
        return self.spent() is None and self.clock() + expected_s < end

    def attempts_left(self, made: int) -> int:
        """Attempts that may still be made after `made` of them (a large number when attempts are unlimited)."""
        return (self.attempts - made) if self.attempts is not None else 1 << 30


def idea_share_for(stages: list[str], configured: float) -> float:
    """Stage 1's share of the wall clock: the configured share when experiments follow it in the same run, all of it
    when they do not (`stages=[idea]`: nothing else needs the time, so cutting stage 1 short would only lose ideas)."""
    return configured if "execution" in stages else 1.0
