"""The Anthropic backend against a local HTTP server that speaks the Messages API wire format (a stand-in for the
real service: same request and response JSON, status codes and error bodies)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from copilot.llm.anthropic import AnthropicBackend
from copilot.llm.base import Message, MissingCredentialsError, PermanentLLMError, ToolCall, ToolSpec
from copilot.llm.client import LLM
from tests.llm_servers import MessagesAPIServer, error, message


class Verdict(BaseModel):
    label: str
    score: float


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")


def llm_for(server, **kwargs) -> LLM:
    return LLM(AnthropicBackend(model="claude-test", base_url=server.url), backoff_initial_s=0.01,
               backoff_max_s=0.01, **kwargs)


def test_plain_text_and_cache_control_on_the_stable_prefix(key):
    server = MessagesAPIServer([(200, message([{"type": "text", "text": "Hello there"}], read=1200, write=30))])
    try:
        result = llm_for(server).complete([
            Message(role="system", content="You are careful."),
            Message(role="user", content="task"), Message(role="assistant", content="step 1"),
            Message(role="user", content="observation")])
    finally:
        server.stop()
    assert result.text == "Hello there"
    assert result.usage.cached_prompt_tokens == 1200 and result.usage.cache_write_tokens == 30
    assert result.usage.prompt_tokens == 20 + 1200 + 30
    body = server.requests[0]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][-2]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][-1]["content"][-1]
    headers = {k.lower(): v for k, v in server.headers[0].items()}
    assert "sk-ant-test" in headers.get("x-api-key", headers.get("authorization", ""))  # header differs by SDK


def test_structured_output_through_forced_tool_use(key):
    reply = message([{"type": "tool_use", "id": "toolu_1", "name": "Verdict", "input": {"label": "ok", "score": 0.7}}],
                    stop="tool_use")
    server = MessagesAPIServer([(200, reply)])
    try:
        result = llm_for(server).complete([Message(role="user", content="judge")], Verdict)
    finally:
        server.stop()
    assert result.parsed == Verdict(label="ok", score=0.7)
    assert server.requests[0]["tool_choice"] == {"type": "tool", "name": "Verdict"}
    assert server.requests[0]["tools"][0]["input_schema"]["required"] == ["label", "score"]


def test_native_tools_and_tool_results_round_trip(key):
    reply = message([{"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {"path": "a.py"}}],
                    stop="tool_use")
    server = MessagesAPIServer([(200, reply)])
    tools = [ToolSpec(name="read_file", description="Read", parameters={"type": "object",
                                                                        "properties": {"path": {"type": "string"}}})]
    history = [Message(role="user", content="go"),
               Message(role="assistant", content="", tool_calls=[ToolCall(id="toolu_1", name="read_file",
                                                                          arguments={"path": "b.py"})]),
               Message(role="tool", content="contents of b", tool_call_id="toolu_1")]
    try:
        result = llm_for(server).complete(history, tools=tools, tool_choice="required")
    finally:
        server.stop()
    assert result.tool_calls[0].name == "read_file" and result.tool_calls[0].arguments == {"path": "a.py"}
    sent = server.requests[0]["messages"]
    assert sent[1]["content"][0]["type"] == "tool_use" and sent[2]["content"][0]["type"] == "tool_result"
    assert server.requests[0]["tool_choice"] == {"type": "any"}


def test_429_then_success_is_retried(key):
    server = MessagesAPIServer([error(429, "rate_limit_error", "slow down"),
                                (200, message([{"type": "text", "text": "ok"}]))])
    try:
        result = llm_for(server).complete([Message(role="user", content="hi")])
    finally:
        server.stop()
    assert result.text == "ok" and len(server.requests) == 2 and result.attempts == 2


def test_overloaded_529_is_retried_then_gives_up(key):
    server = MessagesAPIServer([error(529, "overloaded_error", "busy")])
    try:
        llm = llm_for(server, max_retries=2)
        with pytest.raises(Exception, match="529"):
            llm.complete([Message(role="user", content="hi")])
    finally:
        server.stop()
    assert len(server.requests) == 3


def test_an_auth_error_is_not_retried(key):
    server = MessagesAPIServer([error(401, "authentication_error", "invalid x-api-key")])
    try:
        with pytest.raises(PermanentLLMError, match="401"):
            llm_for(server).complete([Message(role="user", content="hi")])
    finally:
        server.stop()
    assert len(server.requests) == 1


def test_a_missing_key_fails_at_start_up_naming_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend()
