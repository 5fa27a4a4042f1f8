"""`LLM`: the one entry point agents use. It wraps a `Backend` with the behaviour every backend shares.

- bounded retries with exponential backoff and jitter on `TransientLLMError` (rate limits, 5xx, timeouts), never on
  `PermanentLLMError` (auth, bad request);
- structured output: a pydantic model's JSON schema goes to the backend, the reply is validated, and a malformed
  reply is sent back to the model with the validation error, a bounded number of times;
- usage, latency and cost accounting, with running totals that budgets read;
- every backend call (failed ones too) appended to the run's `agent_log/full_log.jsonl`;
- live progress: each backend call is reported to an optional `LLMProgress` (the run's `copilot.progress.Progress`),
  token by token by a backend that can (`streams_tokens = True`, the local one), at the end by the others.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from copilot.llm.base import (
    Backend,
    Completion,
    LLMError,
    MalformedReplyError,
    Message,
    Request,
    ToolSpec,
    TransientLLMError,
    Usage,
)
from copilot.llm.pricing import Price, cost_of, lookup_price
from copilot.rundir import JsonlWriter, utc_now

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> str:
    """The JSON document inside a reply: the text itself, a fenced block, or the outermost `{...}` span."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return stripped
    fenced = _FENCE.search(stripped)
    if fenced:
        return fenced.group(1).strip()
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        return stripped[start : end + 1]
    return stripped


def parse_reply(schema: type[BaseModel], text: str) -> BaseModel:
    """The reply's JSON document validated against `schema`. A raw newline or tab inside a JSON string, which strict
    JSON forbids, is accepted: llama.cpp's JSON grammar lets the embedded model write one at the end of a long
    justification, and three such replies in a row ended a whole run."""
    document = extract_json(text)
    try:
        return schema.model_validate_json(document)
    except ValidationError as error:
        if not any(item["type"] == "json_invalid" for item in error.errors()):
            raise
        try:
            loose = json.loads(document, strict=False)
        except ValueError:
            raise error from None
        return schema.model_validate(loose)


class TokenProgress(Protocol):
    """What a backend that streams tokens reports while it generates (see `LLM`)."""

    def llm_prompt(self, evaluating: int, cached: int = 0) -> None:
        """The model reads its prompt: `evaluating` new tokens after `cached` ones reused from the KV cache."""

    def llm_tokens(self, generated: int) -> None:
        """`generated` tokens of the reply exist so far (a running count)."""


class LLMProgress(TokenProgress, Protocol):
    """Where `LLM` reports each backend call as it happens: start, prompt, tokens, end (`copilot.progress.Progress`)."""

    def llm_started(self, purpose: str, expected_tokens: int | None = None) -> None:
        """A call started; `expected_tokens` is its reply limit, when known."""

    def llm_finished(self, usage: Usage | None = None) -> None:
        """The call ended; `usage` is None when it failed."""


def _short_validation_error(error: ValidationError | ValueError) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors()[:8]:
            where = ".".join(str(p) for p in item["loc"]) or "(root)"
            parts.append(f"{where}: {item['msg']}")
        return "; ".join(parts)
    return str(error)


class LLM:
    """A backend plus retries, structured output, accounting and the call log. Create one per run and share it.

    `progress` (settable later) sees every backend call. A backend whose `streams_tokens` is true is called as
    `generate(request, progress=...)` and reports its prompt and tokens while it works; the others are called as
    `generate(request)`, so a backend (or a test double) that knows nothing of progress works unchanged.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        name: str = "llm",
        call_log: JsonlWriter | None = None,
        max_retries: int = 4,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        max_format_retries: int = 2,
        price: Price | None = None,
        progress: LLMProgress | None = None,
    ) -> None:
        self.backend = backend
        self.name = name
        self.call_log = call_log
        self.max_retries = max_retries
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_format_retries = max_format_retries
        self.price = lookup_price(backend.model, price)
        self.total_usage = Usage()
        self.total_cost_usd = 0.0
        self.calls = 0
        self.recent_latencies_s: list[float] = []  # the last few successful calls, for `expected_call_s`
        self.latencies_by_purpose: dict[str, list[float]] = {}  # the same, per purpose
        self.progress = progress

    @property
    def model(self) -> str:
        """The model name the backend serves."""
        return self.backend.model

    @property
    def context_tokens(self) -> int | None:
        """The model's context window in tokens, when the backend knows it (a local model does; APIs are large)."""
        size = getattr(self.backend, "n_ctx", None)  # optional backend capability, asked here and nowhere else
        return int(size) if size else None

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: the backend's tokenizer when it has one, else a conservative estimate."""
        counter = getattr(self.backend, "count_tokens", None)  # optional backend capability
        return int(counter(text)) if callable(counter) else len(text) // 3 + 1

    def complete(
        self,
        messages: list[Message],
        schema: type[T] | None = None,
        *,
        tools: list[ToolSpec] | None = None,
        tool_choice: str = "auto",
        max_tokens: int | None = None,
        temperature: float | None = None,
        purpose: str = "",
    ) -> Completion:
        """Ask the model. With `schema`, `Completion.parsed` is a validated instance or `MalformedReplyError` is raised.

        `messages` is never modified; format retries extend a private copy.
        """
        conversation = list(messages)
        total = Usage()
        cost = 0.0
        attempts = 0
        for format_round in range(self.max_format_retries + 1):
            request = Request(
                messages=conversation,
                schema=schema.model_json_schema() if schema else None,
                schema_name=schema.__name__ if schema else None,
                tools=tools,
                tool_choice=tool_choice,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
            )
            completion, tries = self._generate_with_retries(request, purpose)
            attempts += tries
            total = total + completion.usage
            cost += completion.cost_usd
            if schema is None:
                break
            try:
                completion.parsed = parse_reply(schema, completion.text)
                break
            except (ValidationError, ValueError) as error:
                problem = _short_validation_error(error)
                log.warning("%s: reply to %s did not validate (%s)", self.name, schema.__name__, problem)
                if format_round == self.max_format_retries:
                    raise MalformedReplyError(
                        f"{self.name} ({self.model}) gave no valid {schema.__name__} after "
                        f"{self.max_format_retries + 1} tries; last problem: {problem}"
                    ) from error
                conversation = [
                    *conversation,
                    Message(role="assistant", content=completion.text),
                    Message(
                        role="user",
                        content=(
                            f"Your reply is not a valid {schema.__name__}: {problem}. Reply again with only one JSON "
                            f"object that follows this JSON schema:\n{json.dumps(schema.model_json_schema())}"
                        ),
                    ),
                ]
        completion.usage = total
        completion.cost_usd = cost
        completion.attempts = attempts
        return completion

    def _generate_with_retries(self, request: Request, purpose: str) -> tuple[Completion, int]:
        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning("%s: transient error (%s); retry %d of %d", self.name, error, state.attempt_number,
                        self.max_retries)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_exponential_jitter(
                multiplier=self.backoff_initial_s, max=self.backoff_max_s, jitter=self.backoff_initial_s
            ),
            retry=retry_if_exception_type(TransientLLMError),
            before_sleep=before_sleep,
            reraise=True,
        )
        tries = 0
        for attempt in retrying:
            with attempt:
                tries += 1
                completion = self._generate_once(request, purpose)
        return completion, tries

    def _generate_once(self, request: Request, purpose: str) -> Completion:
        started = time.perf_counter()
        self.calls += 1
        call_id = self.calls
        progress = self.progress
        if progress is not None:
            progress.llm_started(purpose, request.max_tokens)
        completion: Completion | None = None
        try:
            if progress is not None and getattr(self.backend, "streams_tokens", False):
                completion = self.backend.generate(request, progress=progress)  # type: ignore[call-arg]
            else:
                completion = self.backend.generate(request)
        except LLMError as error:
            self._log_call(call_id, request, purpose, None, time.perf_counter() - started, error)
            raise
        finally:
            if progress is not None:
                progress.llm_finished(completion.usage if completion is not None else None)
        completion.latency_s = time.perf_counter() - started
        completion.cost_usd = cost_of(completion.usage, self.price)
        completion.model = completion.model or self.model
        self.total_usage = self.total_usage + completion.usage
        self.total_cost_usd += completion.cost_usd
        self.recent_latencies_s = [*self.recent_latencies_s[-4:], completion.latency_s]
        kind = self.latencies_by_purpose.get(purpose, [])
        self.latencies_by_purpose[purpose] = [*kind[-4:], completion.latency_s]
        self._log_call(call_id, request, purpose, completion, completion.latency_s, None)
        return completion

    def expected_call_s(self, purpose: str | None = None) -> float:
        """How long the next call will likely take: the median latency of the last five calls (0 before any). With a
        `purpose`, of the last five calls of that purpose; with a prefix ending in "." (`"experiment."`), the longest
        such median of the purposes under it (the next episode's longest kind of call). Either falls back to all
        calls when none of its kind was made. A whole-file reply takes 55-110 s where a line fix takes 2-6 s: with
        one median for both (5.8 s after three line fixes), a whole-file call started 66 s before the run's deadline
        and took 112 s (the real suite's monthly-nbeats at 1caf443)."""
        if purpose is not None:
            by_kind = self.latencies_by_purpose
            kinds = ([by_kind[purpose]] if purpose in by_kind else
                     [v for k, v in by_kind.items() if purpose.endswith(".") and k.startswith(purpose)])
            if kinds:
                return max(statistics.median(latencies) for latencies in kinds)
        return statistics.median(self.recent_latencies_s) if self.recent_latencies_s else 0.0

    def _log_call(
        self,
        call_id: int,
        request: Request,
        purpose: str,
        completion: Completion | None,
        latency_s: float,
        error: Exception | None,
    ) -> None:
        if self.call_log is None:
            return
        record: dict[str, Any] = {
            "ts": utc_now(),
            "call": call_id,
            "llm": self.name,
            "model": self.model,
            "purpose": purpose,
            "request": {
                "messages": [m.model_dump(mode="json", exclude_none=True) for m in request.messages],
                "schema_name": request.schema_name,
                "tools": [t.name for t in request.tools] if request.tools else None,
            },
            "latency_s": round(latency_s, 4),
        }
        if completion is not None:
            record["reply"] = {
                "text": completion.text,
                "tool_calls": [c.model_dump(mode="json") for c in completion.tool_calls],
                "finish_reason": completion.finish_reason,
            }
            record["usage"] = completion.usage.model_dump()
            record["cost_usd"] = completion.cost_usd
        if error is not None:
            record["error"] = f"{type(error).__name__}: {error}"
        self.call_log.write(record)
