"""The human-feedback interface: auto, scripted (valid files, exhaustion, every kind of invalid file), interactive
driven by scripted keystrokes at every point and action (hypotheses edited through a fake $EDITOR script), confirm,
the default mode's choice, the recorder hook and the Hydra configs. No terminal, network or LLM is involved.
"""

from __future__ import annotations

import io
import logging
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from rich.console import Console

from copilot.errors import UserError
from copilot.feedback import Feedback, choose_feedback, jsonl_recorder
from copilot.feedback.auto import AutoFeedback
from copilot.feedback.base import ExecDecision, IdeaDecision
from copilot.feedback.interactive import InteractiveFeedback
from copilot.feedback.scripted import ScriptedFeedback
from copilot.rundir import JsonlWriter, read_jsonl

CONF = Path(__file__).resolve().parent.parent / "conf"
SCORES = ("clarity", "validity", "novelty", "feasibility", "significance")


def row(title: str, total: float, problem: str = "p", method: str = "m") -> dict[str, Any]:
    return {"title": title, "problem": problem, "rationale": "r", "method": method,
            "scores": dict.fromkeys(SCORES, 3), "total": total, "novel": True}


HYPOTHESES = [row("Scale features", 3.8, method="standardise the inputs"), row("Random forest", 3.2),
              row("Gradient boosting", 2.9)]
AFTER: dict[str, Any] = dict(attempt_id="a002", status="ok", metric=0.8, baseline=0.7, best=0.8,
                             stdout_tail="epoch 1\naccuracy 0.8\n", stderr_tail="", attempt_ids=["a000", "a001"])
BEFORE: dict[str, Any] = dict(attempt_id="a002", command="python train.py", diff="--- a/x.py\n+++ b/x.py\n-a\n+b\n")


def interactive(keys: str, **kwargs: Any) -> tuple[InteractiveFeedback, io.StringIO]:
    """An interactive feedback reading `keys` (one answer per line) and writing to a captured console."""
    screen = io.StringIO()
    fb = InteractiveFeedback(console=Console(file=screen, width=120), input_stream=io.StringIO(keys), **kwargs)
    return fb, screen


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def fake_editor(tmp_path: Path, body: str) -> str:
    """An executable that edits the file named by its argument with `body` (Python; `text` holds the file)."""
    path = tmp_path / "editor.py"
    path.write_text(f"#!{sys.executable}\nimport pathlib, sys\nfile = pathlib.Path(sys.argv[1])\n"
                    f"text = file.read_text()\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


# auto


def test_auto_gives_the_trusting_answers_and_announces_once(capsys, caplog):
    caplog.set_level(logging.INFO, logger="copilot.feedback")
    fb = AutoFeedback()
    records: list[tuple[str, dict, dict]] = []
    fb.recorder = lambda point, question, answer: records.append((point, question, answer))
    assert isinstance(fb, Feedback)
    assert fb.on_ideas(hypotheses=HYPOTHESES) == IdeaDecision(action="accept")
    assert fb.before_execution(**BEFORE) == ExecDecision(action="approve")
    assert fb.after_execution(**AFTER).action == "continue"
    assert fb.at_end(summary={"best": 0.8}).action == "accept"
    assert capsys.readouterr().err.count("feedback=auto: no questions will be asked") == 1
    assert [r.message for r in caplog.records] == ["feedback=auto: no questions will be asked"]
    assert [(point, answer) for point, _, answer in records] == [
        ("ideas", {"action": "accept"}), ("before_execution", {"action": "approve"}),
        ("after_execution", {"action": "continue"}), ("end", {"action": "accept"})]
    assert records[1][1] == BEFORE and records[2][1]["attempt_ids"] == ["a000", "a001"]


def test_auto_without_announce_is_silent_on_stderr_and_refuses_no_hypotheses(capsys):
    fb = AutoFeedback(announce=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="at least one"):
        fb.on_ideas(hypotheses=[])


def test_recorder_writes_one_jsonl_line_per_question(tmp_path):
    writer = JsonlWriter(tmp_path / "feedback.jsonl")
    fb = AutoFeedback(announce=False)
    fb.recorder = jsonl_recorder(writer, fb.mode)
    fb.before_execution(**BEFORE)
    fb.at_end(summary={"best": 0.8})
    writer.close()
    lines = list(read_jsonl(tmp_path / "feedback.jsonl"))
    assert [(r["mode"], r["point"], r["answer"]["action"]) for r in lines] == [
        ("auto", "before_execution", "approve"), ("auto", "end", "accept")]
    assert lines[0]["question"]["diff"] == BEFORE["diff"] and lines[1]["ts"]


# scripted


def test_scripted_answers_in_order_then_falls_back_to_auto_and_logs_it(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="copilot.feedback")
    path = script(tmp_path, "ideas: [{action: edit, index: 1, edited: {title: Better forest}}]\n"
                            "before_execution: [skip, {action: edit, command: python fast.py}]\n"
                            "after_execution: [{action: rollback, attempt_id: a000}, "
                            "{action: instruct, instruction: try xgboost}, stop]\n"
                            "end: [{action: comment, comment: good run}]\n")
    fb = ScriptedFeedback(str(path))
    idea = fb.on_ideas(hypotheses=HYPOTHESES)
    assert (idea.action, idea.index, idea.edited) == ("edit", 1, {"title": "Better forest"})
    assert fb.before_execution(**BEFORE).action == "skip"
    assert fb.before_execution(**BEFORE).command == "python fast.py"
    assert fb.remaining("before_execution") == 0
    assert fb.before_execution(**BEFORE).action == "approve"
    assert fb.before_execution(**BEFORE).action == "approve"
    assert fb.after_execution(**AFTER).attempt_id == "a000"
    assert fb.after_execution(**AFTER).instruction == "try xgboost"
    assert fb.after_execution(**AFTER).action == "stop"
    assert fb.at_end(summary={}).comment == "good run"
    assert fb.at_end(summary={}).action == "accept"
    exhausted = [r.message for r in caplog.records if "no more" in r.message]
    assert len(exhausted) == 2 and "'before_execution'" in exhausted[0] and "'end'" in exhausted[1]


def test_an_empty_script_answers_every_point_with_the_default(tmp_path):
    fb = ScriptedFeedback(script(tmp_path, "# nothing scripted\n"))
    assert fb.on_ideas(hypotheses=HYPOTHESES).action == "accept"
    assert fb.after_execution(**AFTER).action == "continue"


@pytest.mark.parametrize(("content", "message"), [
    ("ideas: [oops", "not valid YAML"),
    ("- accept\n", "top level: expected a mapping"),
    ("later: [stop]", "'later': unknown point; valid points: ideas, before_execution"),
    ("ideas: {action: accept}", "'ideas': must be a list"),
    ("ideas: [accept, maybe]", "ideas entry 2: action: Input should be"),
    ("ideas: [[accept]]", "ideas entry 1: expected a mapping"),
    ("ideas: [{action: pick, idx: 1}]", "ideas entry 1: idx: unknown field"),
    ("ideas: [{action: pick}]", "ideas entry 1: index is required for action=pick"),
    ("ideas: [{action: pick, index: -1}]", "ideas entry 1: index: Input should be greater than or equal to 0"),
    ("ideas: [{action: edit, index: 0}]", "ideas entry 1: edited is required for action=edit"),
    ("ideas: [{action: accept, comment: hm}]", "comment has no meaning for action=accept"),
    ("before_execution: [{action: approve, command: ls}]", "before_execution entry 1: command has no meaning"),
    ("before_execution: [{action: edit}]", "command is required for action=edit"),
    ("after_execution: [continue, {action: instruct, instruction: ' '}]", "after_execution entry 2: instruction is"),
    ("after_execution: [{action: rollback}]", "attempt_id is required for action=rollback"),
    ("end: [{action: comment}]", "end entry 1: comment is required for action=comment"),
])
def test_invalid_scripts_are_one_line_user_errors_naming_file_and_entry(tmp_path, content, message):
    path = script(tmp_path, content)
    with pytest.raises(UserError, match=r"answers\.yaml") as caught:
        ScriptedFeedback(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_script_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        ScriptedFeedback(tmp_path / "absent.yaml")


@pytest.mark.parametrize(("content", "call", "message"), [
    ("ideas: [{action: pick, index: 3}]", "ideas", "ideas entry 1: index 3 is past the 3 hypotheses"),
    ("ideas: [{action: edit, index: 0, edited: {titel: x}}]", "ideas", "edited field 'titel' is not a hypothesis"),
    ("after_execution: [{action: rollback, attempt_id: a009}]", "after", "rollback to 'a009', which is not an"),
])
def test_scripted_answers_that_do_not_fit_the_question_are_user_errors(tmp_path, content, call, message):
    fb = ScriptedFeedback(script(tmp_path, content))
    with pytest.raises(UserError, match=message):
        fb.on_ideas(hypotheses=HYPOTHESES) if call == "ideas" else fb.after_execution(**AFTER)


# interactive: ideas


def test_interactive_shows_the_ranked_table_and_picks_by_rank():
    fb, screen = interactive("maybe\np\n7\n2\n")  # an unknown answer and an unknown rank are asked again
    assert fb.on_ideas(hypotheses=HYPOTHESES) == IdeaDecision(action="pick", index=1)
    shown = screen.getvalue()
    for text in ("rank", *SCORES, "total", "Scale features", "3.80", "standardise the inputs"):
        assert text in shown
    assert shown.count("please answer one of") == 2


def test_interactive_marks_a_hypothesis_that_needs_an_uninstalled_package():
    fb, screen = interactive("\n")
    needs_prophet = {**row("Prophet with three harmonics", 2.0), "missing_packages": ["prophet"]}
    assert fb.on_ideas(hypotheses=[*HYPOTHESES, needs_prophet]) == IdeaDecision(action="accept")
    shown = screen.getvalue()
    assert "needs prophet: not installed" in shown


@pytest.mark.parametrize(("keys", "expected"), [
    ("\n", IdeaDecision(action="accept")),
    ("ACCEPT\n", IdeaDecision(action="accept")),
    ("r\nuse fewer features\n", IdeaDecision(action="regenerate", comment="use fewer features")),
    ("regenerate\n\n", IdeaDecision(action="regenerate")),
    ("q\n", IdeaDecision(action="quit")),
])
def test_interactive_ideas_accept_regenerate_quit(keys, expected):
    fb, _ = interactive(keys)
    assert fb.on_ideas(hypotheses=HYPOTHESES) == expected


def test_interactive_edit_goes_through_the_editor(tmp_path):
    editor = fake_editor(tmp_path, "file.write_text(text.replace('title: Random forest', 'title: Deeper forest'))")
    fb, _ = interactive("edit\n2\n", editor=editor)
    decision = fb.on_ideas(hypotheses=HYPOTHESES)
    assert (decision.action, decision.index) == ("edit", 1)
    assert decision.edited == {"title": "Deeper forest", "problem": "p", "rationale": "r", "method": "m"}


def test_the_editor_defaults_to_the_EDITOR_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, "file.write_text(text.replace('method: m', 'method: m2'))"))
    fb, _ = interactive("e\n3\n")
    assert fb.on_ideas(hypotheses=HYPOTHESES).edited["method"] == "m2"


def test_invalid_yaml_from_the_editor_is_reported_and_edited_again(tmp_path):
    counter = tmp_path / "count"
    editor = fake_editor(tmp_path, f"counter = pathlib.Path({str(counter)!r})\n"
                                   "calls = len(counter.read_text()) + 1 if counter.exists() else 1\n"
                                   "counter.write_text('x' * calls)\n"
                                   "assert calls == 1 or text == 'title: [unclosed'  # the broken text comes back\n"
                                   "file.write_text('title: [unclosed' if calls == 1 else 'title: Fixed')")
    fb, screen = interactive("edit\n1\n\n", editor=editor)  # Enter at "edit again or cancel?" means edit again
    decision = fb.on_ideas(hypotheses=HYPOTHESES)
    assert decision.edited == {"title": "Fixed", "problem": "p", "rationale": "r", "method": "standardise the inputs"}
    assert "not valid YAML" in screen.getvalue() and counter.read_text() == "xx"


@pytest.mark.parametrize(("body", "notice"), [
    ("file.write_text('- a list')", "must stay a mapping"),
    ("file.write_text(text + 'budget: 3\\n')", "unknown field 'budget'"),
    ("file.write_text(text.replace('title: Scale features', 'title: \"\"'))", "field 'title' must stay non-empty"),
    ("pass", "no changes made"),
    ("sys.exit(1)", "the editor exited with status 1"),
])
def test_a_failed_or_cancelled_edit_returns_to_the_question(tmp_path, body, notice):
    editor = fake_editor(tmp_path, body)
    keys = "edit\n1\n" + ("cancel\n" if "must" in notice or "unknown" in notice else "") + "pick\n3\n"
    fb, screen = interactive(keys, editor=editor)
    assert fb.on_ideas(hypotheses=HYPOTHESES) == IdeaDecision(action="pick", index=2)
    assert notice in screen.getvalue()


def test_a_missing_editor_is_explained_and_the_question_asked_again(tmp_path):
    fb, screen = interactive("edit\n1\naccept\n", editor=str(tmp_path / "no-such-editor"))
    assert fb.on_ideas(hypotheses=HYPOTHESES).action == "accept"
    assert "cannot start the editor" in screen.getvalue() and "$EDITOR" in screen.getvalue()


# interactive: executions and end


@pytest.mark.parametrize(("keys", "expected"), [
    ("\n", ExecDecision(action="approve")),
    ("skip\n", ExecDecision(action="skip")),
    ("edit\npython train.py --fast\n", ExecDecision(action="edit", command="python train.py --fast")),
    ("edit\n\n", ExecDecision(action="approve")),  # Enter keeps the command: nothing to edit
])
def test_interactive_before_execution(keys, expected):
    fb, screen = interactive(keys)
    assert fb.before_execution(**BEFORE) == expected
    assert "+b" in screen.getvalue() and "python train.py" in screen.getvalue()


def test_long_diffs_are_cut_with_a_note():
    diff = "\n".join(f"+line {i}" for i in range(50))
    fb, screen = interactive("\n", max_diff_lines=10)
    fb.before_execution(attempt_id="a003", command="c", diff=diff)
    assert "+line 9" in screen.getvalue() and "+line 10" not in screen.getvalue()
    assert "40 more lines not shown" in screen.getvalue()


@pytest.mark.parametrize(("keys", "expected"), [
    ("\n", ("continue", None, None)),
    ("instruct\n\ntry xgboost\n", ("instruct", "try xgboost", None)),  # an empty instruction is asked again
    ("rollback\na\na000\n", ("rollback", None, "a000")),  # "a" is ambiguous, asked again
    ("s\n", ("stop", None, None)),
])
def test_interactive_after_execution(keys, expected):
    fb, screen = interactive(keys)
    decision = fb.after_execution(**AFTER)
    assert (decision.action, decision.instruction, decision.attempt_id) == expected
    assert "a002: result" in screen.getvalue() and "accuracy 0.8" in screen.getvalue()


def test_rollback_is_not_offered_without_attempts():
    fb, screen = interactive("rollback\nstop\n")
    assert fb.after_execution(**{**AFTER, "attempt_ids": []}).action == "stop"
    assert "[continue/instruct/stop]" in screen.getvalue()


def test_interactive_end_accepts_or_comments():
    summary = {"task": "digits", "best": 0.8123456, "attempts": {"ok": 2, "failed": 1}, "claim_checks": []}
    fb, screen = interactive("\ncomment\nsolid gain\n")
    assert fb.at_end(summary=summary).action == "accept"
    assert fb.at_end(summary=summary).comment == "solid gain"
    assert "0.812346" in screen.getvalue() and "ok=2, failed=1" in screen.getvalue()


def test_the_input_ending_during_a_question_is_a_user_error():
    fb, _ = interactive("pick\n")
    with pytest.raises(UserError, match="input ended during the 'ideas' question"):
        fb.on_ideas(hypotheses=HYPOTHESES)


def test_confirm_asks_only_before_executions():
    fb = choose_feedback("confirm", console=Console(file=io.StringIO()), input_stream=io.StringIO("skip\n"))
    assert fb.mode == "confirm"
    assert fb.on_ideas(hypotheses=HYPOTHESES).action == "accept"
    assert fb.before_execution(**BEFORE).action == "skip"
    assert fb.after_execution(**AFTER).action == "continue"
    assert fb.at_end(summary={}).action == "accept"


# choosing a mode


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_default_without_a_terminal_is_auto_with_a_notice(capsys):
    fb = choose_feedback("default")  # pytest's stdin is not a terminal
    assert fb.mode == "auto"
    assert "stdin is not a terminal: using feedback=auto" in capsys.readouterr().err


def test_default_on_a_terminal_is_interactive(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", _Terminal())
    fb = choose_feedback("default", editor="nano")
    assert isinstance(fb, InteractiveFeedback) and fb.editor == "nano"


@pytest.mark.parametrize(("mode", "options", "message"), [
    ("interactive", {}, "feedback=interactive needs a terminal; use feedback=auto or feedback=scripted"),
    ("confirm", {}, "feedback=confirm needs a terminal"),
    ("scripted", {}, r"feedback\.path=<answers\.yaml>"),
    ("scripted", {"path": None}, r"feedback\.path="),
    ("chatty", {}, "feedback mode 'chatty' is unknown; choose one of: default, interactive"),
    ("auto", {"editor": "vi"}, "feedback=auto: unknown option 'editor'; valid options: announce"),
])
def test_choose_feedback_user_errors(mode, options, message):
    with pytest.raises(UserError, match=message):
        choose_feedback(mode, **options)


def test_every_feedback_config_instantiates(tmp_path):
    answers = script(tmp_path, "end: [accept]\n")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for option in sorted(p.stem for p in (CONF / "feedback").glob("*.yaml")):
            extra = [f"feedback.path={answers}"] if option == "scripted" else []
            node = compose("config", overrides=["task=x", f"feedback={option}", *extra]).feedback
            if option in ("interactive", "confirm"):
                with pytest.raises(Exception, match="needs a terminal"):
                    instantiate(node)
            else:
                assert instantiate(node).mode == {"default": "auto"}.get(option, option)


def test_a_feedback_point_of_ones_own_is_asked_before_each_attempt_and_answered_by_every_mode(tmp_path):
    """`confirm_attempt` (copilot/feedback/points/confirm_attempt.py + conf/points/confirm_attempt.yaml): auto
    continues, a script instructs then stops, a bad scripted answer is one line naming the entry, and the loop turns
    the answers into the human's instruction and a stop, both in the journal."""
    from copilot.errors import UserError
    from copilot.execution.journal import Journal
    from copilot.feedback.auto import AutoFeedback
    from copilot.feedback.points import load_points
    from copilot.feedback.scripted import ScriptedFeedback
    from tests.test_loop import make_loop, make_task

    [point] = load_points(["confirm_attempt"])
    context = {"attempt_id": "a002", "kind": "improve", "parent": "a001", "candidate": "Tune C", "instruction": ""}
    assert AutoFeedback(announce=False).ask_point(point, **context).action == "continue"
    assert "Next: a002, improve from a001, testing: Tune C" in point.question(**context)
    answers = tmp_path / "answers.yaml"
    answers.write_text("confirm_attempt: [{action: instruct, text: use a smaller C}, stop]\n")
    with pytest.raises(UserError, match="unknown point"):
        ScriptedFeedback(answers)  # the point is not turned on
    answers.write_text("confirm_attempt: [{action: dance}]\n")
    with pytest.raises(UserError, match=r"confirm_attempt entry 1: action 'dance' is not one of"):
        ScriptedFeedback(answers, points=["confirm_attempt"]).ask_point(point, **context)
    with pytest.raises(UserError, match="unknown point 'nope'"):
        load_points(["nope"])

    task = make_task(tmp_path, "open('out.txt', 'w').write('0.5')\n")
    loop = make_loop(tmp_path, task, ["open('out.txt', 'w').write('0.6')\n"] * 3,
                     answers="confirm_attempt: [{action: instruct, text: use a smaller C}, stop]\n", points=[point])
    loop.run()
    assert [a.id for a in loop.attempts] == ["a000", "a001"]
    assert loop.attempts[1].instruction.endswith("The human asks: use a smaller C")
    state = Journal(loop.rundir).replay()
    assert state.stopped
