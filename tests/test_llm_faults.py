"""The API backends against servers that misbehave (a local HTTP server speaking each provider's wire format, never
the real services): 5xx, a body that is not JSON, a connection cut mid-body, and a server that never answers. Each
fault that can pass is retried with backoff; when the retries run out the error is one clear line; nothing hangs
past the configured timeout.
"""

from __future__ import annotations

import time

import pytest

from copilot.llm.anthropic import AnthropicBackend
from copilot.llm.base import Message, TransientLLMError
from copilot.llm.client import LLM
from copilot.llm.openai import OpenAIBackend
from tests.llm_servers import FaultyServer, chat_completion, message

HI = [Message(role="user", content="hi")]


@pytest.fixture(params=["openai", "anthropic"])
def provider(request, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    return request.param


def ok_reply(provider: str, text: str = "fine") -> tuple:
    body = chat_completion(text) if provider == "openai" else message([{"type": "text", "text": text}])
    return ("json", 200, body)


def llm_for(provider: str, server: FaultyServer, timeout_s: float = 5, max_retries: int = 2) -> LLM:
    if provider == "openai":
        backend = OpenAIBackend(model="test-model", base_url=f"{server.url}/v1", require_key=False,
                                timeout_s=timeout_s)
    else:
        backend = AnthropicBackend(model="claude-test", base_url=server.url, timeout_s=timeout_s)
    return LLM(backend, max_retries=max_retries, backoff_initial_s=0.01, backoff_max_s=0.01)


@pytest.mark.parametrize("fault", ["500", "garbage", "truncate", "hang"])
def test_a_transient_fault_is_retried_and_the_next_good_reply_is_used(provider, fault):
    good = ok_reply(provider)
    first = {"500": ("json", 500, {"error": {"message": "internal", "type": "server_error"}}),
             "garbage": ("garbage", 200), "truncate": ("truncate", good[2]), "hang": ("hang", 30)}[fault]
    server = FaultyServer([first, good])
    try:
        started = time.monotonic()
        result = llm_for(provider, server, timeout_s=1.5).complete(HI)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert result.text == "fine"
    assert result.attempts == 2 and len(server.requests) == 2
    assert took < 10, f"the {fault} fault held the call for {took:.1f} s"


@pytest.mark.parametrize("fault", ["garbage", "hang"])
def test_a_fault_that_persists_ends_in_one_clear_error_after_the_retries(provider, fault):
    server = FaultyServer([("garbage", 200) if fault == "garbage" else ("hang", 30)])
    llm = llm_for(provider, server, timeout_s=1, max_retries=1)
    try:
        started = time.monotonic()
        with pytest.raises(TransientLLMError) as caught:
            llm.complete(HI)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert len(server.requests) == 2
    assert "\n" not in str(caught.value).strip() and str(caught.value)
    assert took < 10
