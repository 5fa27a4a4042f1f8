"""The OpenAI backend against a real OpenAI-compatible server: llama.cpp's server on 127.0.0.1 with the tiny model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from copilot.llm.base import Message, MissingCredentialsError, ToolSpec, TransientLLMError
from copilot.llm.client import LLM
from copilot.llm.openai import OpenAIBackend
from tests.llm_servers import LlamaServer, free_port

pytestmark = pytest.mark.llm


class Color(BaseModel):
    name: str
    hex_code: str


@pytest.fixture(scope="module")
def server(tiny_backend):
    pytest.importorskip("llama_cpp.server")
    running = LlamaServer(str(tiny_backend.path))
    yield running
    running.stop()


def backend(server, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(model="tiny", base_url=server.url, require_key=False, max_tokens=64, **kwargs)


def test_plain_chat_with_usage(server):
    result = LLM(backend(server)).complete([Message(role="user", content="Say hello.")])
    assert result.text.strip()
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_structured_output_through_a_forced_tool_call(server):
    # llama.cpp's server constrains a forced tool call to the tool's JSON schema (its response_format lacks
    # the json_schema type), so `structured: tools` is the schema-enforcing mode for this server.
    result = LLM(backend(server, structured="tools")).complete(
        [Message(role="user", content="Describe the color red.")], Color, max_tokens=96)
    assert isinstance(result.parsed, Color)


def test_native_tool_calls(server):
    tools = [ToolSpec(name="read_file", description="Read a file",
                      parameters={"type": "object", "properties": {"path": {"type": "string"}},
                                  "required": ["path"]})]
    result = LLM(backend(server)).complete([Message(role="user", content="Read train.py")], tools=tools,
                                           tool_choice="required", max_tokens=64)
    assert result.usage.prompt_tokens > 0 and result.text is not None


def test_a_refused_connection_is_transient_and_retried(monkeypatch):
    closed = OpenAIBackend(model="x", base_url=f"http://127.0.0.1:{free_port()}/v1", require_key=False, timeout_s=2)
    llm = LLM(closed, max_retries=2, backoff_initial_s=0.01, backoff_max_s=0.01)
    with pytest.raises(TransientLLMError):
        llm.complete([Message(role="user", content="hi")])
    assert llm.calls == 3


def test_a_missing_key_fails_at_start_up_naming_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        OpenAIBackend(model="gpt-4o")
