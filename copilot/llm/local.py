"""The embedded default: a GGUF model run in-process by llama.cpp (llama-cpp-python), offline.

One `llama_cpp.Llama` object lives as long as the backend, so llama.cpp keeps the KV cache of the previous prompt and
re-evaluates only the tokens after the common prefix: an append-only agent conversation costs little per step. The
states of earlier prompts are kept too (`prompt_cache_mb`, copilot/llm/prompt_cache.py), so a conversation taken up
again after another one restores its prefix instead of evaluating it again. The number of reused tokens is measured
on every call and reported as `Usage.cached_prompt_tokens`.

Structured output is grammar-constrained: the JSON schema is compiled to a llama.cpp grammar, so the model cannot
produce anything but schema-shaped JSON. Tool calls are the same mechanism: the reply is constrained to
`{"thought": ..., "tool": <one of the tool names>, "arguments": <that tool's schema>}`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from copilot.llm.base import (
    Completion,
    ContextOverflowError,
    Message,
    PermanentLLMError,
    Request,
    ToolCall,
    ToolSpec,
    Usage,
)
from copilot.llm.client import TokenProgress
from copilot.llm.model_store import resolve_gguf
from copilot.llm.repetition import RepetitionGuard
from copilot.progress import Progress

log = logging.getLogger(__name__)

RESAMPLE_S = 5.0
"""How long a load sample decides the thread count for the calls that follow it."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_cores_elsewhere(sample_s: float = 0.2) -> float:
    """How many cores other processes keep busy: system-wide CPU time less this process's, over a short sample."""
    own = psutil.Process()
    system_before, own_before, started = psutil.cpu_times(), own.cpu_times(), time.perf_counter()
    time.sleep(sample_s)
    system_after, own_after = psutil.cpu_times(), own.cpu_times()
    wall = time.perf_counter() - started

    def busy(times: Any) -> float:
        return float(sum(times)) - times.idle - getattr(times, "iowait", 0.0)

    system = busy(system_after) - busy(system_before)
    mine = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    return max(system - mine, 0.0) / wall


def auto_threads(cores: int | None = None, busy_elsewhere: float | None = None) -> int:
    """The decode thread count for the load right now: one thread per core that no other process is using.

    llama.cpp's threads spin-wait for each other at every step of a token, so a thread that shares its core with a
    busy process stalls all the others (benchmarks/bench_llm_threads.py). A core counts as taken once other processes
    use a fifth of it or more.
    """
    cores = usable_cores() if cores is None else cores
    busy = busy_cores_elsewhere() if busy_elsewhere is None else busy_elsewhere
    return max(1, min(cores, cores - math.ceil(busy - 0.2)))


def tool_call_schema(tools: list[ToolSpec]) -> dict[str, Any]:
    """The JSON schema of one tool call among `tools`: a short thought, the tool's name, and its arguments."""
    branches = []
    for tool in tools:
        branches.append({
            "type": "object",
            "properties": {
                "thought": {"type": "string"},
                "tool": {"const": tool.name},
                "arguments": tool.parameters,
            },
            "required": ["thought", "tool", "arguments"],
        })
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def tool_instructions(tools: list[ToolSpec]) -> str:
    """The text that tells a local model which tools exist and how to call one."""
    lines = ["You act by calling exactly one tool per reply. Reply with one JSON object: "
             '{"thought": "<one or two sentences>", "tool": "<tool name>", "arguments": {...}}.', "Tools:"]
    for tool in tools:
        props = tool.parameters.get("properties", {})
        args = ", ".join(f"{name}: {spec.get('type', 'any')}" for name, spec in props.items())
        lines.append(f"- {tool.name}({args}): {tool.description}")
    return "\n".join(lines)


def _flatten_messages(messages: list[Message]) -> list[dict[str, str]]:
    """Chat-template-safe messages: tool results become user turns and tool calls become assistant JSON.

    Small models' chat templates often lack a `tool` role; this form works with every template and keeps the
    conversation append-only (an earlier message never changes), which is what keeps the KV-cache prefix valid.
    """
    flat: list[dict[str, str]] = []
    for message in messages:
        if message.role == "tool":
            flat.append({"role": "user", "content": f"Observation:\n{message.content}"})
        elif message.role == "assistant" and message.tool_calls:
            call = message.tool_calls[0]
            content = message.content or json.dumps({"tool": call.name, "arguments": call.arguments})
            flat.append({"role": "assistant", "content": content})
        else:
            flat.append({"role": message.role, "content": message.content})
    return flat


class LocalBackend:
    """llama.cpp in-process. `model` is a GGUF spec: `embedded:<name>`, a `.gguf` path, or `hf:<repo>/<file>.gguf`.

    `n_threads` None (the default) chooses the thread count before each call from the load of the moment
    (`auto_threads`); a number fixes it. `progress` shows the model's assembly on first use; while generating, the
    prompt and token counts go to the `progress` that `generate` is given (`streams_tokens`).
    """

    streams_tokens = True

    def __init__(
        self,
        model: str = "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m",
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        temperature: float = 0.2,
        max_tokens: int = 1024,
        seed: int = 0,
        chat_format: str | None = None,
        verbose: bool = False,
        stop_loops: bool = True,
        prompt_cache_mb: int = 1024,
        progress: Progress | None = None,
    ) -> None:
        self.spec = model
        self.path: Path = resolve_gguf(model, progress=progress)
        self.model = self.path.stem
        self.n_ctx = n_ctx
        self.fixed_threads = n_threads  # None: chosen before each call by `auto_threads`
        self.n_threads = n_threads or usable_cores()  # the count in use
        self.n_batch = n_batch
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.chat_format = chat_format
        self.verbose = verbose
        self.stop_loops = stop_loops  # end a free-text reply that repeats itself (copilot/llm/repetition.py)
        self.prompt_cache_mb = prompt_cache_mb  # earlier prompts' KV states (llm/prompt_cache.py)
        self._llama: Any = None
        self._eval_sizes: list[int] = []
        self._listener: TokenProgress | None = None
        self._generated = 0
        self._sampled_at = float("-inf")
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise PermanentLLMError(
                    "llama-cpp-python is not installed; install it with: pip install 'copilot[local]'"
                ) from None
            if self.fixed_threads is None:
                self.n_threads = auto_threads()
            log.info("loading %s (n_ctx=%d, threads=%d)", self.path, self.n_ctx, self.n_threads)
            llama = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=self.n_batch,
                seed=self.seed,
                chat_format=self.chat_format,
                verbose=self.verbose,
            )
            if self.prompt_cache_mb > 0:
                from copilot.llm.prompt_cache import PromptStateCache

                llama.set_cache(PromptStateCache(capacity_bytes=self.prompt_cache_mb << 20))
            original_eval = llama.eval

            def counting_eval(tokens: Any) -> None:
                # The first evaluation of a call is its prompt (after the cached prefix); each later one a new token.
                listener = self._listener
                if listener is not None:
                    if self._eval_sizes:
                        self._generated += len(tokens)
                        listener.llm_tokens(self._generated)
                    else:
                        listener.llm_prompt(len(tokens), cached=int(llama.n_tokens))
                self._eval_sizes.append(len(tokens))
                original_eval(tokens)

            llama.eval = counting_eval  # type: ignore[method-assign]  # measures how many prompt tokens llama.cpp really had to evaluate
            self._llama = llama
        return self._llama

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` under this model's tokenizer (used to keep conversations within `n_ctx`)."""
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _choose_threads(self, llama: Any) -> None:
        """Follow the load: re-sample it before a call unless the last sample is under `RESAMPLE_S` old (a burst of
        short calls then pays for one 0.2 s sample, not one each)."""
        if self.fixed_threads is not None or time.monotonic() - self._sampled_at < RESAMPLE_S:
            return
        busy = busy_cores_elsewhere()
        self._sampled_at = time.monotonic()
        threads = auto_threads(busy_elsewhere=busy)
        if threads != self.n_threads:
            log.info("%s: %d threads now (other processes keep %.1f of %d cores busy)", self.model, threads, busy,
                     usable_cores())
            llama._ctx.set_n_threads(threads, threads)
            self.n_threads = threads

    def generate(self, request: Request, progress: TokenProgress | None = None) -> Completion:
        """One chat completion, grammar-constrained when the request carries a schema or tools; `progress` hears of
        the prompt being read and of each token as it is generated."""
        llama = self._load()
        messages = _flatten_messages(request.messages)
        response_format = None
        calls_wanted = bool(request.tools) and request.tool_choice != "none"
        if request.tools:  # with tool_choice="none" the tools stay in the prompt (same prefix) but free text is asked
            messages = self._with_tool_instructions(messages, request.tools)
        if calls_wanted and request.tools:
            response_format = {"type": "json_object", "schema": tool_call_schema(request.tools)}
        elif request.schema_ is not None:
            response_format = {"type": "json_object", "schema": request.schema_}
        from llama_cpp import LogitsProcessorList

        # Free text (whole scripts) can fall into a loop; grammar-constrained JSON is bounded by its schema.
        guard = RepetitionGuard(llama.token_eos(), detokenize=llama.detokenize) if (
            response_format is None and self.stop_loops) else None
        with self._lock:
            self._choose_threads(llama)
            self._eval_sizes, self._generated = [], 0
            self._listener = progress
            try:
                reply = llama.create_chat_completion(
                    messages=messages,
                    response_format=response_format,
                    max_tokens=request.max_tokens or self.max_tokens,
                    temperature=self.temperature if request.temperature is None else request.temperature,
                    seed=self.seed,
                    logits_processor=LogitsProcessorList([guard]) if guard else None,
                )
            except ValueError as error:  # llama.cpp reports a prompt longer than the context this way
                if "context window" in str(error):
                    raise ContextOverflowError(f"{self.model}: {error}") from error
                raise PermanentLLMError(f"{self.model}: {error}") from error
            finally:
                self._listener = None
            prompt_evaluated = self._eval_sizes[0] if self._eval_sizes else 0
        choice = reply["choices"][0]
        text = choice["message"].get("content") or ""
        usage = reply.get("usage", {})
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completion = Completion(
            text=text,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=int(usage.get("completion_tokens", 0)),
                cached_prompt_tokens=max(prompt_tokens - prompt_evaluated, 0),
            ),
            model=self.model,
            finish_reason=({"loop": "repetition", "prose": "prose_cut"}[guard.reason] if guard and guard.tripped
                           else choice.get("finish_reason")),
        )
        if guard and guard.tripped:
            what = "fell into a loop" if guard.reason == "loop" else "ran on after its code"
            log.warning("%s: the reply %s after %d tokens and was cut there", self.model, what,
                        completion.usage.completion_tokens)
        if calls_wanted:
            completion.tool_calls = self._parse_tool_call(text)
        return completion

    @staticmethod
    def _with_tool_instructions(messages: list[dict[str, str]], tools: list[ToolSpec]) -> list[dict[str, str]]:
        """Put the tool list in the system message, which stays the same every step (prefix-stable)."""
        instructions = tool_instructions(tools)
        if messages and messages[0]["role"] == "system":
            return [{"role": "system", "content": messages[0]["content"] + "\n\n" + instructions}, *messages[1:]]
        return [{"role": "system", "content": instructions}, *messages]

    @staticmethod
    def _parse_tool_call(text: str) -> list[ToolCall]:
        """The tool call in a constrained reply; a reply cut off by max_tokens yields none (the agent corrects)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return []
        if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
            return []
        arguments = data.get("arguments") if isinstance(data.get("arguments"), dict) else {}
        return [ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=data["tool"], arguments=arguments)]
