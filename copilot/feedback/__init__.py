"""Human feedback: `choose_feedback(mode)` builds the implementation for `conf/feedback/<mode>.yaml`."""

from __future__ import annotations

import sys
from typing import Any

from copilot.errors import UserError
from copilot.feedback.base import Feedback

MODES = ("default", "interactive", "confirm", "auto", "scripted")


def choose_feedback(mode: str = "default", path: str | None = None, **options: Any) -> Feedback:
    """`default` is interactive on a terminal and auto otherwise (announced once)."""
    from copilot.feedback.auto import AutoFeedback
    from copilot.feedback.interactive import InteractiveFeedback
    from copilot.feedback.scripted import ScriptedFeedback

    if mode == "default":
        if sys.stdin.isatty() and sys.stdout.isatty():
            return InteractiveFeedback(**options)
        return AutoFeedback(reason="stdin is not a terminal: using feedback=auto")
    if mode == "interactive":
        return InteractiveFeedback(**options)
    if mode == "confirm":
        return InteractiveFeedback(ask_ideas=False, ask_after=False, mode="confirm", **options)
    if mode == "auto":
        return AutoFeedback(**options)
    if mode == "scripted":
        if not path:
            raise UserError("feedback=scripted needs a file: feedback.path=<answers.yaml>")
        return ScriptedFeedback(path)
    raise UserError(f"unknown feedback mode '{mode}'; choose one of: {', '.join(MODES)}")
