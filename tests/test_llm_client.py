"""The shared LLM behaviour (retries, structured output, accounting, call log), driven by a scripted backend."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from copilot.llm.base import MalformedReplyError, Message, PermanentLLMError, TransientLLMError
from copilot.llm.client import LLM, extract_json
from copilot.llm.pricing import Price
from copilot.rundir import JsonlWriter, read_jsonl
from tests.conftest import ScriptedBackend


class Verdict(BaseModel):
    label: str
    confidence: float


USER = [Message(role="user", content="judge this")]


def test_transient_errors_are_retried_then_succeed(scripted):
    llm = scripted([TransientLLMError("429"), TransientLLMError("503"), '{"label": "a", "confidence": 0.5}'])
    result = llm.complete(USER, Verdict)
    assert result.parsed == Verdict(label="a", confidence=0.5)
    assert result.attempts == 3
    assert llm.calls == 3


def test_transient_errors_give_up_after_the_bound(scripted):
    llm = scripted([TransientLLMError("429")] * 3, max_retries=2)
    with pytest.raises(TransientLLMError):
        llm.complete(USER)
    assert llm.calls == 3


def test_permanent_errors_are_not_retried(scripted):
    llm = scripted([PermanentLLMError("401 invalid key"), "never reached"])
    with pytest.raises(PermanentLLMError):
        llm.complete(USER)
    assert llm.calls == 1


def test_malformed_reply_is_sent_back_with_the_validation_error(scripted):
    llm = scripted(['{"label": "a"}', '{"label": "a", "confidence": 0.9}'])
    result = llm.complete(USER, Verdict)
    assert result.parsed.confidence == 0.9
    second_request = llm.backend.requests[1]
    assert second_request.messages[-2].content == '{"label": "a"}'
    correction = second_request.messages[-1].content
    assert "confidence" in correction and "Field required" in correction
    assert len(USER) == 1, "the caller's messages must not be modified"


def test_a_raw_newline_inside_a_json_string_is_accepted_at_once(scripted):
    # Scripted backend (canned reply): the shape Qwen2.5-Coder-1.5B wrote under llama.cpp's JSON grammar.
    llm = scripted(['{"label": "a common feature transformation\n", "confidence": 0.5}'])
    result = llm.complete(USER, Verdict)
    assert result.parsed.label == "a common feature transformation\n" and result.attempts == 1
    assert len(llm.backend.requests) == 1, "not sent back"


def test_broken_json_is_still_sent_back_and_type_errors_are_not_loosened(scripted):
    llm = scripted(['{"label": "a\n", "confidence": ', '{"label": "a", "confidence": "high"}',
                    '{"label": "a", "confidence": 1}'])
    assert llm.complete(USER, Verdict).parsed.confidence == 1.0
    assert len(llm.backend.requests) == 3


def test_malformed_replies_fail_after_the_bound_with_a_clear_message(scripted):
    llm = scripted(["not json", "still not", "nope"], max_format_retries=2)
    with pytest.raises(MalformedReplyError, match="no valid Verdict after 3 tries"):
        llm.complete(USER, Verdict)


def test_every_call_is_logged_as_one_json_line(scripted, tmp_path):
    log = JsonlWriter(tmp_path / "full_log.jsonl")
    llm = scripted([TransientLLMError("timeout"), '```json\n{"label": "b", "confidence": 1}\n```'], call_log=log)
    llm.complete(USER, Verdict, purpose="unit")
    lines = (tmp_path / "full_log.jsonl").read_text().splitlines()
    assert len(lines) == 2
    failed, ok = (json.loads(line) for line in lines)
    assert failed["error"].startswith("TransientLLMError") and "reply" not in failed
    assert ok["reply"]["text"].startswith("```json") and ok["purpose"] == "unit"
    assert ok["request"]["messages"] == [{"role": "user", "content": "judge this"}]
    assert ok["usage"]["prompt_tokens"] == 100


def test_cost_comes_from_the_price_table_with_cached_tokens_cheaper():
    backend = ScriptedBackend(["hi"], model="priced-model")
    llm = LLM(backend, price=Price(input=10.0, output=20.0, cached_input=1.0))
    result = llm.complete(USER)
    # 100 prompt tokens at $10/M + 10 completion tokens at $20/M
    assert result.cost_usd == pytest.approx((100 * 10 + 10 * 20) / 1e6)
    assert llm.total_cost_usd == pytest.approx(result.cost_usd)


def test_extract_json_finds_fenced_and_embedded_objects():
    assert extract_json('{"a": 1}') == '{"a": 1}'
    assert extract_json('Sure!\n```json\n{"a": 1}\n```\nDone') == '{"a": 1}'
    assert extract_json('The answer is {"a": {"b": 2}} as requested') == '{"a": {"b": 2}}'


def test_read_jsonl_round_trip(tmp_path):
    writer = JsonlWriter(tmp_path / "x.jsonl")
    writer.write({"n": 1})
    writer.write(Verdict(label="z", confidence=0.1))
    assert list(read_jsonl(tmp_path / "x.jsonl")) == [{"n": 1}, {"label": "z", "confidence": 0.1}]
