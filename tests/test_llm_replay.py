"""The replay backend: a recorded run is reproduced; a different request or one too many fails loudly."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from copilot.errors import UserError
from copilot.llm.base import Message, ReplayError
from copilot.llm.client import LLM
from copilot.llm.replay import ReplayBackend
from copilot.rundir import JsonlWriter
from tests.conftest import ScriptedBackend


class Plan(BaseModel):
    steps: list[str]


def _record_run(tmp_path):
    """Record a short 'run' with a scripted model through the real client and call log."""
    log = JsonlWriter(tmp_path / "full_log.jsonl")
    llm = LLM(ScriptedBackend(['{"steps": ["a"]}', "free text"]), call_log=log)
    first = llm.complete([Message(role="user", content="plan it")], Plan)
    second = llm.complete([Message(role="user", content="say something")])
    log.close()
    return tmp_path / "full_log.jsonl", first, second


def test_a_recorded_run_is_reproduced(tmp_path):
    path, first, second = _record_run(tmp_path)
    replay = LLM(ReplayBackend(str(path)))
    assert replay.complete([Message(role="user", content="plan it")], Plan).parsed == first.parsed
    assert replay.complete([Message(role="user", content="say something")]).text == second.text


def test_a_different_request_fails_with_the_position_and_the_difference(tmp_path):
    path, *_ = _record_run(tmp_path)
    replay = LLM(ReplayBackend(str(path)))
    expected = r"record 1 .* differs at message 0 \(user\): recorded 'plan it', got 'other'"
    with pytest.raises(ReplayError, match=expected):
        replay.complete([Message(role="user", content="other")])


def test_an_exhausted_replay_fails(tmp_path):
    path, *_ = _record_run(tmp_path)
    replay = LLM(ReplayBackend(str(path), strict=False))
    replay.complete([Message(role="user", content="x")])
    replay.complete([Message(role="user", content="y")])
    with pytest.raises(ReplayError, match="exhausted: 2 replies recorded"):
        replay.complete([Message(role="user", content="z")])


def test_hand_written_scripts_with_match_and_tool_calls(tmp_path):
    script = tmp_path / "script.jsonl"
    script.write_text("\n".join(json.dumps(r) for r in [
        {"match": "read", "reply": "", "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]},
        {"match": "finish", "reply": "done"},
    ]) + "\n")
    replay = LLM(ReplayBackend(str(script)))
    call = replay.complete([Message(role="user", content="please read a.py")]).tool_calls[0]
    assert (call.name, call.arguments) == ("read_file", {"path": "a.py"})
    with pytest.raises(ReplayError, match="expects the last message to contain 'finish'"):
        replay.complete([Message(role="user", content="something else")])


def test_bad_replay_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        ReplayBackend(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"reply": "ok"}\n{oops\n')
    with pytest.raises(UserError, match="line 2: not JSON"):
        ReplayBackend(str(bad))
