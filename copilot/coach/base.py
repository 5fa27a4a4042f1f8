"""The coach: advice and repairs for models that need them, as one optional component with a small protocol.

The loop and the agents tell the coach what happened at four points and use what it returns; they never inspect an
error message or a reply themselves. Every rule that fires is recorded (`coach/firings.jsonl`: rule, event, attempt),
so the rules can be judged by what they did on real tasks (`benchmarks/bench_coaching.py`).

- `run_failed(output, earlier)`: a run of experiment code failed; returns text to add to what the model reads.
- `repair(code, output, script, earlier)`: the same failure, for the whole-script agent; returns a repaired script
  (applied and recorded as its own step) or None.
- `refusal(action)`: the agent is about to take an action; returns the observation to refuse it with, or None.
- `derive(state)`: the attempts so far; returns new candidates for the hypothesis queue (recorded in the journal), or
  None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from copilot.rundir import JsonlWriter, utc_now


@dataclass
class Repair:
    """A script repaired by a rule, and what was done, in one line."""

    code: str
    description: str


@dataclass
class ProposedAction:
    """An agent's next tool call, as the coach sees it."""

    tool: str
    arguments: dict[str, Any]
    repeats_previous: bool = False
    episode_changed_files: bool = False
    refusals_so_far: dict[str, int] = field(default_factory=dict)


class Coach(Protocol):
    """Advice at four points of a run; see the module docstring."""

    def begin_attempt(self, attempt_id: str) -> None:
        """Firings from now on belong to `attempt_id`."""
        ...

    def run_failed(self, output: str, earlier: list[str]) -> str:
        """Text to add to a failed run's output ('' for none)."""
        ...

    def repair(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """A repaired script for a failed run of `script`, or None."""
        ...

    def refusal(self, action: ProposedAction) -> str | None:
        """The observation refusing `action`, or None to let it run."""
        ...

    def derive(self, state: Any) -> Any | None:
        """New candidates for the hypothesis queue (a `Queued` event), or None."""
        ...


class NoCoach:
    """`coach=none`: no advice, no repairs, no refusals; the model works from the raw outputs."""

    def begin_attempt(self, attempt_id: str) -> None:
        """Nothing to track."""

    def run_failed(self, output: str, earlier: list[str]) -> str:
        """No advice."""
        return ""

    def repair(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """No repair."""
        return None

    def refusal(self, action: ProposedAction) -> str | None:
        """Every action runs."""
        return None

    def derive(self, state: Any) -> Any | None:
        """Nothing derived."""
        return None


class FiringLog:
    """Appends one line per rule firing to `coach/firings.jsonl` (no file when nothing is given)."""

    def __init__(self, writer: JsonlWriter | None = None) -> None:
        self.writer = writer
        self.attempt: str | None = None
        self.count: dict[str, int] = {}

    def fired(self, rule: str, event: str, detail: str = "") -> None:
        """Record that `rule` fired at `event` during the current attempt."""
        self.count[rule] = self.count.get(rule, 0) + 1
        if self.writer is not None:
            self.writer.write({"ts": utc_now(), "rule": rule, "event": event, "attempt": self.attempt,
                               "detail": detail[:300]})
