"""`AutoFeedback`: never asks; accepts the top hypothesis, approves and continues every execution."""

from __future__ import annotations

import logging
import sys
from typing import Any

from copilot.feedback.base import AfterDecision, EndDecision, ExecDecision, IdeaDecision

log = logging.getLogger("copilot.feedback")


class AutoFeedback:
    """No questions: the answers a trusting user would give."""

    mode = "auto"

    def __init__(self, announce: bool = True, reason: str = "feedback=auto") -> None:
        message = f"{reason}: no questions will be asked"
        log.info(message)
        if announce:
            print(message, file=sys.stderr)

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        """Accept the top-ranked hypothesis."""
        return IdeaDecision(action="accept")

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision:
        """Approve."""
        return ExecDecision(action="approve")

    def after_execution(self, **_: Any) -> AfterDecision:
        """Continue."""
        return AfterDecision(action="continue")

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision:
        """Accept."""
        return EndDecision(action="accept")
