"""The LLM contract: value types every backend speaks, the `Backend` protocol, and the error kinds.

A backend does one thing: turn a `Request` into a `Completion` with a single call to its model. Retries, structured
output validation, cost and logging are shared behaviour that lives in `copilot.llm.client.LLM`, so a new backend is
one small file plus one yaml in `conf/llm/`.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat message. `tool_call_id` links a `tool` message to the call it answers."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] | None = None


class ToolSpec(BaseModel):
    """A tool the model may call: a name, what it does, and a JSON schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolCall(BaseModel):
    """A tool call the model made."""

    id: str
    name: str
    arguments: dict[str, Any]


class Usage(BaseModel):
    """Token accounting of one call. `cached_prompt_tokens` counts prompt tokens served from a cache (KV or billing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Request(BaseModel):
    """What is asked of a backend in one call.

    `schema_` is the JSON schema the reply must follow (with `schema_name`), or None for free text. `tools` lets the
    model answer with tool calls instead; `tool_choice="required"` forces one, `"none"` keeps the tools in view (the
    prompt's prefix stays the same) but asks for free text.
    """

    model_config = ConfigDict(populate_by_name=True)

    messages: list[Message]
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    schema_name: str | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "required", "none"] = "auto"
    max_tokens: int | None = None
    temperature: float | None = None


class Completion(BaseModel):
    """The answer to one `LLM.complete` call.

    `parsed` holds the validated pydantic object when a schema was given. `latency_s` is wall time of the successful
    call; `attempts` counts transport retries and format retries together.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    parsed: Any = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    cost_usd: float = 0.0
    model: str = ""
    finish_reason: str | None = None
    attempts: int = 1


@runtime_checkable
class Backend(Protocol):
    """One model provider. `generate` makes exactly one call and raises `TransientLLMError` for what a retry may fix."""

    model: str

    def generate(self, request: Request) -> Completion: ...


class LLMError(Exception):
    """Base of the errors an LLM call can end with."""


class TransientLLMError(LLMError):
    """Rate limit, 5xx, timeout or dropped connection: worth retrying with backoff."""


class PermanentLLMError(LLMError):
    """Authentication, bad request, unknown model: retrying cannot help."""


class ContextOverflowError(PermanentLLMError):
    """The prompt does not fit the model's context window; the caller may compact and try again."""


class MissingCredentialsError(PermanentLLMError):
    """An API key is missing; the message names the environment variable to set."""


class MalformedReplyError(LLMError):
    """The model kept replying in a form that does not validate, after the bounded number of format retries."""


class ReplayError(LLMError):
    """The replay backend has no recorded reply left, or the request differs from the recorded one."""


Message.model_rebuild()
