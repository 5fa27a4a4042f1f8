"""Human feedback: the `Feedback` protocol and `choose_feedback(mode)`, which `conf/feedback/<mode>.yaml` names.

Modes: `default` (interactive on a terminal, else auto), `interactive` (asks at every point), `confirm` (asks only
before executions), `auto` (never asks), `scripted` (answers from a YAML file: `feedback.path=<answers.yaml>`).
"""

from __future__ import annotations

import sys
from types import MappingProxyType
from typing import Any

from copilot.errors import UserError
from copilot.feedback.base import (
    AfterDecision,
    EndDecision,
    ExecDecision,
    Feedback,
    FeedbackPoint,
    IdeaDecision,
    Recorder,
    jsonl_recorder,
)

__all__ = [
    "MODES",
    "AfterDecision",
    "EndDecision",
    "ExecDecision",
    "Feedback",
    "FeedbackPoint",
    "IdeaDecision",
    "Recorder",
    "choose_feedback",
    "jsonl_recorder",
]

MODES = ("default", "interactive", "confirm", "auto", "scripted")

_TERMINAL_OPTIONS = frozenset({"editor", "console", "input_stream", "max_diff_lines"})
_OPTIONS = MappingProxyType({
    "default": _TERMINAL_OPTIONS | {"announce", "points"},
    "interactive": _TERMINAL_OPTIONS | {"points"},
    "confirm": _TERMINAL_OPTIONS - {"editor"} | {"points"},
    "auto": frozenset({"announce", "points"}),
    "scripted": frozenset({"path", "points"}),
})


def choose_feedback(mode: str = "default", **options: Any) -> Feedback:
    """Build the feedback implementation for `mode`; unknown modes and options are one-line `UserError`s.

    `default` is interactive when stdin and stdout are terminals, else auto with a one-line notice saying so.
    Options: `announce` (auto), `editor`, `max_diff_lines` (interactive), `path` (scripted, required); `console` and
    `input_stream` let tests drive the interactive modes.
    """
    from copilot.feedback.auto import AutoFeedback
    from copilot.feedback.interactive import InteractiveFeedback
    from copilot.feedback.scripted import ScriptedFeedback

    if mode not in MODES:
        raise UserError(f"feedback mode '{mode}' is unknown; choose one of: {', '.join(MODES)}")
    unknown = sorted(set(options) - _OPTIONS[mode])
    if unknown:
        valid = ", ".join(sorted(_OPTIONS[mode] - {"console", "input_stream"}))
        raise UserError(f"feedback={mode}: unknown option '{unknown[0]}'; valid options: {valid}")
    points = list(options.pop("points", None) or [])  # names of feedback points of one's own; scripted answers them
    terminal = {key: value for key, value in options.items() if key in _TERMINAL_OPTIONS}
    if mode == "default":
        if sys.stdin.isatty() and sys.stdout.isatty():
            return InteractiveFeedback(**terminal)
        return AutoFeedback(announce=options.get("announce", True),
                            notice="stdin is not a terminal: using feedback=auto")
    if mode == "interactive":
        return InteractiveFeedback(**terminal)
    if mode == "confirm":
        return InteractiveFeedback(ask_ideas=False, ask_after=False, ask_end=False, mode="confirm", **terminal)
    if mode == "auto":
        return AutoFeedback(**options)
    path = options.get("path")
    if not path:
        raise UserError("feedback=scripted needs a file of answers: add feedback.path=<answers.yaml>")
    return ScriptedFeedback(str(path), points=points)
