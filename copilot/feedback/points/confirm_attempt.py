"""`confirm_attempt`: before each attempt's episode, show what it will try and let the human steer or stop it."""

from __future__ import annotations

from typing import Any


class ConfirmAttempt:
    """Asked before an attempt is implemented: continue, add an instruction, or stop making attempts."""

    at = "before_attempt"

    def __init__(self, name: str = "confirm_attempt", actions: tuple[str, ...] = ("continue", "instruct", "stop")):
        self.name = name
        self.actions = tuple(actions)
        self.needs_text = frozenset({"instruct"})

    def question(self, **context: Any) -> str:
        """The attempt to come: its id, kind, parent and what it tests."""
        tests = f", testing: {context['candidate']}" if context.get("candidate") else ""
        return (f"Next: {context['attempt_id']}, {context['kind']} from {context['parent'] or 'the starter code'}"
                f"{tests}. Continue, instruct it, or stop?")
