"""Rules that refuse an agent's action with an observation it can read (`refusal`), when the action would waste a
step: the same look again at once, or ending an implementation episode that changed no file."""

from __future__ import annotations

from copilot.coach.base import ProposedAction


class RepeatedLook:
    """An identical look (`tools`) repeated at once is answered with a pointer to the previous step, not re-run."""

    event = "refusal"

    def __init__(self, name: str, tools: list[str], message: str) -> None:
        self.name = name
        self.tools = frozenset(tools)
        self.message = message

    def __call__(self, action: ProposedAction) -> str | None:
        """The refusal, or None."""
        if action.repeats_previous and action.tool in self.tools:
            return self.message.format(tool=action.tool)
        return None


class UnchangedFinal:
    """`final_answer` while the episode has changed no file is sent back, at most `times` times per episode."""

    event = "refusal"

    def __init__(self, name: str, times: int, message: str) -> None:
        self.name = name
        self.times = times
        self.message = message

    def __call__(self, action: ProposedAction) -> str | None:
        """The refusal, or None."""
        if (action.tool == "final_answer" and not action.episode_changed_files
                and action.refusals_so_far.get(self.name, 0) < self.times):
            return self.message
        return None
