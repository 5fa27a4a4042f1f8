"""`OpenAIBackend`: the official `openai` SDK, for OpenAI and any OpenAI-compatible server (vLLM, Ollama, the
llama.cpp server) through `base_url`.

Structured output: `structured="json_schema"` (response_format with the schema, the default), `"tools"` (a forced
tool call whose arguments are the object), or `"json_object"` (JSON mode with the schema in the prompt, for servers
without schema support). Native tool calls for agent actions. The SDK's own retries are off: the shared client
retries transient errors with backoff.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from copilot.llm.base import (
    Completion,
    Message,
    MissingCredentialsError,
    PermanentLLMError,
    Request,
    ToolCall,
    TransientLLMError,
    Usage,
)


def classify_status_error(status: int | None, message: str) -> Exception:
    """Rate limits, overload and server errors are transient; other HTTP errors are permanent."""
    if status is not None and (status in (408, 409, 429, 529) or status >= 500):
        return TransientLLMError(f"HTTP {status}: {message}")
    return PermanentLLMError(f"HTTP {status}: {message}")


def unreadable_reply(error: Exception) -> TransientLLMError:
    """A reply that arrived but cannot be read (not JSON, cut off mid-body, missing fields): worth asking again."""
    said = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    return TransientLLMError(f"the server's reply could not be read ({type(error).__name__}: {said[:200]})")


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages in the Chat Completions wire format (assistant tool calls and tool results included)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class OpenAIBackend:
    """Chat Completions through the official SDK."""

    def __init__(self, model: str = "gpt-4o", base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 timeout_s: float = 120, temperature: float = 0.2, max_tokens: int = 2048,
                 structured: str = "json_schema", require_key: bool = True,
                 extra_body: dict[str, Any] | None = None) -> None:
        import openai

        key = os.environ.get(api_key_env)
        if not key and require_key:
            raise MissingCredentialsError(f"set the environment variable {api_key_env} (or put it in .env)")
        if structured not in ("json_schema", "tools", "json_object"):
            raise PermanentLLMError(f"structured must be json_schema, tools or json_object, not {structured!r}")
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.structured = structured
        self.extra_body = dict(extra_body or {})
        self.client = openai.OpenAI(api_key=key or "not-needed", base_url=base_url, timeout=timeout_s, max_retries=0)

    def generate(self, request: Request) -> Completion:
        """One chat completion."""
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model, "messages": to_openai_messages(request.messages),
            "temperature": self.temperature if request.temperature is None else request.temperature,
            "max_tokens": request.max_tokens or self.max_tokens,
        }
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        forced_tool = None
        if request.tools:
            kwargs["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                                  "parameters": t.parameters}} for t in request.tools]
            kwargs["tool_choice"] = request.tool_choice
        elif request.schema_ is not None:
            name = request.schema_name or "reply"
            if self.structured == "json_schema":
                kwargs["response_format"] = {"type": "json_schema",
                                             "json_schema": {"name": name, "schema": request.schema_, "strict": False}}
            elif self.structured == "tools":
                forced_tool = name
                kwargs["tools"] = [{"type": "function", "function": {"name": name, "parameters": request.schema_}}]
                kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
            else:
                kwargs["response_format"] = {"type": "json_object"}
                kwargs["messages"] = [*kwargs["messages"], {"role": "user", "content": "Reply with one JSON object "
                                      f"following this schema: {json.dumps(request.schema_)}"}]
        try:
            response = self.client.chat.completions.create(**kwargs)
        except (openai.APITimeoutError, openai.APIConnectionError) as error:
            raise TransientLLMError(f"{type(error).__name__}: {error}") from error
        except openai.APIStatusError as error:
            raise classify_status_error(error.status_code, str(error)) from error
        except (ValueError, httpx.HTTPError, openai.APIResponseValidationError) as error:
            raise unreadable_reply(error) from error
        if not response.choices:
            raise TransientLLMError("the server's reply held no choices")
        choice = response.choices[0]
        calls = [ToolCall(id=c.id, name=c.function.name, arguments=self._arguments(c.function.arguments))
                 for c in (choice.message.tool_calls or []) if getattr(c, "function", None)]
        text = choice.message.content or ""
        if forced_tool and calls:
            text = json.dumps(calls[0].arguments)
            calls = []
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return Completion(
            text=text, tool_calls=calls, model=response.model or self.model, finish_reason=choice.finish_reason,
            usage=Usage(prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                        cached_prompt_tokens=getattr(details, "cached_tokens", 0) or 0),
        )

    @staticmethod
    def _arguments(raw: str | None) -> dict[str, Any]:
        try:
            value = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return {"_unparsed": raw}
        return value if isinstance(value, dict) else {"_value": value}
