"""Shared fixtures: the tiny GGUF model loaded once per test session, and a scripted LLM for agent logic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.llm.base import Completion, Request, ToolCall, Usage


@pytest.fixture(scope="session")
def tiny_backend():
    """SmolLM2-135M through llama.cpp, shared by all tests so the model loads once (skipped if not installed)."""
    pytest.importorskip("llama_cpp")
    from copilot.errors import UserError
    from copilot.llm.local import LocalBackend

    try:
        return LocalBackend(model="embedded:smollm2-135m-instruct-q4_1", n_ctx=4096, max_tokens=256)
    except UserError as error:
        pytest.skip(str(error))


class ScriptedBackend:
    """A deterministic backend for tests of LLM-driven logic: it returns the scripted replies in order.

    Each script item is a string (the reply text), a `ToolCall`-like dict `{"tool": name, "arguments": {...}}`, or an
    exception instance to raise. Requests are kept in `requests` so tests can assert what the model was shown.
    """

    def __init__(self, script: list, model: str = "scripted") -> None:
        self.script = list(script)
        self.requests: list[Request] = []
        self.model = model

    def generate(self, request: Request) -> Completion:
        self.requests.append(request)
        if not self.script:
            raise AssertionError("scripted backend exhausted: the code under test asked for one more reply")
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, Completion):
            return item
        usage = Usage(prompt_tokens=100, completion_tokens=10)
        if isinstance(item, dict) and "tool" in item:
            call = ToolCall(id=f"call_{len(self.requests)}", name=item["tool"], arguments=item.get("arguments", {}))
            return Completion(text=json.dumps(item), tool_calls=[call], usage=usage, model=self.model)
        text = item if isinstance(item, str) else json.dumps(item)
        return Completion(text=text, usage=usage, model=self.model)


@pytest.fixture
def scripted():
    """Factory for a `ScriptedBackend` wrapped in the real `LLM` client (no backoff delay)."""
    from copilot.llm.client import LLM

    def make(script: list, call_log=None, **kwargs) -> LLM:
        return LLM(ScriptedBackend(script), call_log=call_log, backoff_initial_s=0.0, backoff_max_s=0.0, **kwargs)

    return make


@pytest.fixture
def repo_root() -> Path:
    """The repository root."""
    return Path(__file__).resolve().parent.parent
