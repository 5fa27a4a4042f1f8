"""Feedback modes: auto, scripted (valid and invalid files), interactive driven by scripted keystrokes, default."""

from __future__ import annotations

import io
import stat

import pytest
from rich.console import Console

from copilot.errors import UserError
from copilot.feedback import choose_feedback
from copilot.feedback.auto import AutoFeedback
from copilot.feedback.interactive import InteractiveFeedback
from copilot.feedback.scripted import ScriptedFeedback

HYPOTHESES = [
    {"title": "Scale features", "problem": "p", "method": "m", "scores": {"clarity": 4}, "total": 3.8},
    {"title": "Random forest", "problem": "p2", "method": "m2", "scores": {"clarity": 3}, "total": 3.2},
]
AFTER = dict(attempt_id="a001", status="ok", metric=0.8, baseline=0.7, best=0.8, stdout_tail="", stderr_tail="",
             attempt_ids=["a000", "a001"])


def interactive(keys: str, **kwargs) -> InteractiveFeedback:
    return InteractiveFeedback(console=Console(file=io.StringIO()), input_stream=io.StringIO(keys), **kwargs)


def test_auto_accepts_and_approves_everything(capsys):
    fb = AutoFeedback()
    assert fb.on_ideas(hypotheses=HYPOTHESES).action == "accept"
    assert fb.before_execution(attempt_id="a001", command="python x.py", diff="").action == "approve"
    assert fb.after_execution(**AFTER).action == "continue"
    assert fb.at_end(summary={}).action == "accept"
    assert "no questions will be asked" in capsys.readouterr().err


def test_scripted_answers_in_order_then_defaults(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("ideas: [{action: pick, index: 1}]\n"
                    "before_execution: [{action: edit, command: python fast.py}]\n"
                    "after_execution: [{action: rollback, attempt_id: a000}, {action: stop}]\n")
    fb = ScriptedFeedback(str(path))
    assert fb.on_ideas(hypotheses=HYPOTHESES).index == 1
    assert fb.before_execution(attempt_id="a", command="c", diff="").command == "python fast.py"
    assert fb.before_execution(attempt_id="a", command="c", diff="").action == "approve"  # exhausted: default
    assert fb.after_execution(**AFTER).attempt_id == "a000"
    assert fb.after_execution(**AFTER).action == "stop"
    assert fb.at_end(summary={}).action == "accept"


@pytest.mark.parametrize(("content", "message"), [
    ("ideas: [{action: maybe}]", "ideas answer 1: action"),
    ("later: [{action: stop}]", "unknown point 'later'"),
    ("ideas: {action: accept}", "must be a list"),
    ("ideas: [{action: pick, idx: 1}]", "idx"),
    ("ideas: [oops", "not valid YAML"),
])
def test_invalid_scripts_are_one_line_user_errors(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        ScriptedFeedback(str(path))


def test_interactive_ideas_pick_regenerate_quit():
    assert interactive("pick\n1\n").on_ideas(hypotheses=HYPOTHESES).index == 1
    decision = interactive("r\nuse fewer features\n").on_ideas(hypotheses=HYPOTHESES)
    assert (decision.action, decision.comment) == ("regenerate", "use fewer features")
    assert interactive("maybe\nquit\n").on_ideas(hypotheses=HYPOTHESES).action == "quit"
    assert interactive("\n").on_ideas(hypotheses=HYPOTHESES).action == "accept"


def test_interactive_edit_goes_through_the_editor(tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/^title: .*/title: Edited title/" "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    decision = interactive("edit\n0\n", editor=str(editor)).on_ideas(hypotheses=HYPOTHESES)
    assert decision.action == "edit" and decision.edited["title"] == "Edited title"
    assert decision.edited["method"] == "m"


def test_interactive_execution_points():
    assert interactive("skip\n").before_execution(attempt_id="a", command="c", diff="+x").action == "skip"
    edited = interactive("edit\npython other.py\n").before_execution(attempt_id="a", command="c", diff="")
    assert edited.command == "python other.py"
    assert interactive("instruct\ntry xgboost\n").after_execution(**AFTER).instruction == "try xgboost"
    assert interactive("rollback\na000\n").after_execution(**AFTER).attempt_id == "a000"
    assert interactive("stop\n").after_execution(**AFTER).action == "stop"
    assert interactive("comment\nnice\n").at_end(summary={"best": 1}).comment == "nice"


def test_confirm_mode_asks_only_before_executions():
    fb = choose_feedback("confirm", console=Console(file=io.StringIO()), input_stream=io.StringIO("skip\n"))
    assert fb.on_ideas(hypotheses=HYPOTHESES).action == "accept"
    assert fb.before_execution(attempt_id="a", command="c", diff="").action == "skip"
    assert fb.after_execution(**AFTER).action == "continue"


def test_default_without_a_terminal_is_auto_and_interactive_refuses(capsys):
    fb = choose_feedback("default")  # pytest's stdin is not a TTY
    assert fb.mode == "auto"
    assert "stdin is not a terminal" in capsys.readouterr().err
    with pytest.raises(UserError, match="needs a terminal"):
        choose_feedback("interactive")
    with pytest.raises(UserError, match=r"feedback\.path"):
        choose_feedback("scripted")
