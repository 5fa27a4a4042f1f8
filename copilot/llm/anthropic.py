"""`AnthropicBackend`: the official `anthropic` SDK (Messages API).

System messages go to `system`; structured output is a forced tool whose input schema is the pydantic schema; agent
actions are native tools. Prompt caching: `cache_control` marks the system block and the last message before the
newest turn, i.e. the end of the stable, append-only prefix, so every step reads the conversation so far from the
cache and only writes the new tail. The SDK's own retries are off: the shared client retries with backoff.
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
    Request,
    ToolCall,
    TransientLLMError,
    Usage,
)
from copilot.llm.openai import classify_status_error, unreadable_reply

CACHE = {"type": "ephemeral"}


def to_anthropic(messages: list[Message], cache_prefix: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages) in the Messages wire format; consecutive same-role turns are merged."""
    system: list[dict[str, Any]] = [{"type": "text", "text": m.content} for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        blocks: list[dict[str, Any]]
        if m.role == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}]
        elif m.role == "assistant" and m.tool_calls:
            role = "assistant"
            blocks = ([{"type": "text", "text": m.content}] if m.content else []) + [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
        else:
            role, blocks = m.role, [{"type": "text", "text": m.content or "(empty)"}]
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if cache_prefix:
        if system:
            system[-1]["cache_control"] = CACHE
        if len(turns) >= 2:
            turns[-2]["content"][-1]["cache_control"] = CACHE
    return system, turns


class AnthropicBackend:
    """Claude through the Messages API."""

    def __init__(self, model: str = "claude-sonnet-4-5", api_key_env: str = "ANTHROPIC_API_KEY",
                 base_url: str | None = None, max_tokens: int = 4096, temperature: float | None = None,
                 timeout_s: float = 120, cache_prefix: bool = True) -> None:
        import anthropic

        key = os.environ.get(api_key_env)
        if not key:
            raise MissingCredentialsError(f"set the environment variable {api_key_env} (or put it in .env)")
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.cache_prefix = cache_prefix
        self.client = anthropic.Anthropic(api_key=key, base_url=base_url, timeout=timeout_s, max_retries=0)

    def generate(self, request: Request) -> Completion:
        """One Messages call."""
        import anthropic

        system, turns = to_anthropic(request.messages, self.cache_prefix)
        kwargs: dict[str, Any] = {"model": self.model, "messages": turns,
                                  "max_tokens": request.max_tokens or self.max_tokens}
        temperature = self.temperature if request.temperature is None else request.temperature
        if temperature is not None:  # recent SDKs dropped the keyword; the API still takes the field
            kwargs["extra_body"] = {"temperature": temperature}
        if system:
            kwargs["system"] = system
        forced = None
        if request.tools:
            kwargs["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                               for t in request.tools]
            kwargs["tool_choice"] = {"type": {"required": "any", "none": "none"}.get(request.tool_choice, "auto")}
        elif request.schema_ is not None:
            forced = request.schema_name or "reply"
            kwargs["tools"] = [{"name": forced, "description": "Give the answer as this object.",
                                "input_schema": request.schema_}]
            kwargs["tool_choice"] = {"type": "tool", "name": forced}
        try:
            response = self.client.messages.create(**kwargs)
        except (anthropic.APITimeoutError, anthropic.APIConnectionError) as error:
            raise TransientLLMError(f"{type(error).__name__}: {error}") from error
        except anthropic.APIStatusError as error:
            raise classify_status_error(error.status_code, str(error)) from error
        except (ValueError, httpx.HTTPError, anthropic.APIResponseValidationError) as error:
            raise unreadable_reply(error) from error
        texts, calls = [], []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(id=block.id, name=block.name, arguments=dict(block.input or {})))
        text = "".join(texts)
        if forced is not None:
            chosen = next((c for c in calls if c.name == forced), None)
            text, calls = (json.dumps(chosen.arguments) if chosen else text), []
        usage = response.usage
        read = getattr(usage, "cache_read_input_tokens", 0) or 0
        write = getattr(usage, "cache_creation_input_tokens", 0) or 0
        return Completion(
            text=text, tool_calls=calls, model=response.model or self.model, finish_reason=response.stop_reason,
            usage=Usage(prompt_tokens=(usage.input_tokens or 0) + read + write,
                        completion_tokens=usage.output_tokens or 0, cached_prompt_tokens=read,
                        cache_write_tokens=write),
        )
