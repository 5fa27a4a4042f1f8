"""`AutoFeedback`: never asks; accepts the top hypothesis, approves every execution, continues, accepts the end."""

from __future__ import annotations

import logging
import sys
from typing import Any

from copilot.feedback.base import Decision, FeedbackBase, FeedbackPoint, default_decision

log = logging.getLogger(__name__)


class AutoFeedback(FeedbackBase):
    """The answers a trusting user would give, for unattended runs (CI, sweeps, no terminal).

    The notice that no questions will be asked is logged once, and printed once to stderr when `announce` is true.
    `notice` replaces its text (the default mode uses it to say why it fell back to auto).
    """

    mode = "auto"

    def __init__(self, announce: bool = True, notice: str = "feedback=auto: no questions will be asked") -> None:
        self.notice = notice
        log.info(notice)
        if announce:
            print(f"copilot: {notice}", file=sys.stderr)

    def _answer(self, point: FeedbackPoint, question: dict[str, Any]) -> Decision:
        return default_decision(point)
