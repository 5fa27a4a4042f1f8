"""The implementation agent: a tool-calling loop over the workspace, with budgets and a prefix-stable context.

The conversation is append-only: system prompt and task (with plan and data findings) first, then one assistant
tool call and one tool observation per step. Only when it nears the context window are the older steps replaced,
once, by a summary block; the prefix then stays stable again. This is what lets llama.cpp reuse its KV cache and
hosted APIs bill the prefix at cached rates; `cached_prompt_tokens` is logged for every step in the trace.

Control flow uses named exceptions: `BudgetExhausted` (steps, tokens, cost, wall clock) and `FormatError` (the model
made no usable tool call). A malformed action gets a corrective observation; too many in a row end the episode.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field

from copilot.coach.base import Coach, NoCoach, ProposedAction
from copilot.experiment.tools import Observation
from copilot.llm import LLM, Message
from copilot.llm.base import ContextOverflowError, ToolCall
from copilot.rundir import JsonlWriter, utc_now

log = logging.getLogger("copilot.experiment")

EpisodeStatus = Literal["final", "steps", "tokens", "cost", "wall_clock", "format_errors", "context"]


class AgentConfig(BaseModel):
    """Limits and sizes of one implementation episode."""

    max_steps: int = Field(30, gt=0, description="tool calls before the episode ends")
    max_tokens: int | None = Field(None, description="prompt + completion tokens over the whole run (LLM totals)")
    max_cost_usd: float | None = Field(None, description="dollars over the whole run (LLM totals)")
    deadline: float | None = Field(None, description="time.monotonic() value at which the run's wall clock ends")
    context_tokens: int = Field(8192, gt=0, description="the model's context window")
    compact_at: float = Field(0.75, gt=0, le=1, description="share of the context that triggers compaction")
    keep_recent_steps: int = Field(4, ge=1, description="steps kept verbatim when compacting")
    min_steps_between_compactions: int = Field(
        4, ge=1, description="steps that must pass before compacting again, so a long tail is not re-summarised "
        "every step")
    max_format_errors: int = Field(3, ge=1, description="consecutive replies without a usable tool call")
    reply_max_tokens: int = Field(1024, gt=0, description="tokens per model reply")


class BudgetExhausted(Exception):
    """A budget of the run ran out; `kind` names which."""

    def __init__(self, kind: EpisodeStatus) -> None:
        super().__init__(kind)
        self.kind = kind


class FormatError(Exception):
    """The model's reply held no usable tool call."""


class EpisodeResult(BaseModel):
    """How an episode ended and what the agent said at the end."""

    status: EpisodeStatus
    steps: int
    summary: str = ""
    claimed_metric: float | None = None
    compactions: int = 0


PROMPTS = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)


def render_prompt(template: str, **values: Any) -> str:
    """Render one of the implementation agents' prompt templates (copilot/experiment/prompts)."""
    return PROMPTS.get_template(template).render(**values)


def check_budgets(config: AgentConfig, llm: LLM, steps: int, purpose: str | None = None) -> None:
    """Raise `BudgetExhausted` naming the first of the episode's or run's budgets that has run out; the wall clock
    counts as spent when the next model call (of `purpose`, when given) would likely end past the deadline
    (`LLM.expected_call_s`)."""
    usage = llm.total_usage
    if steps >= config.max_steps:
        raise BudgetExhausted("steps")
    if config.max_tokens is not None and usage.prompt_tokens + usage.completion_tokens >= config.max_tokens:
        raise BudgetExhausted("tokens")
    if config.max_cost_usd is not None and llm.total_cost_usd >= config.max_cost_usd:
        raise BudgetExhausted("cost")
    # A call started just before the deadline would end minutes after it with a slow local model.
    if config.deadline is not None and time.monotonic() + llm.expected_call_s(purpose) >= config.deadline:
        raise BudgetExhausted("wall_clock")


def trace_step(trace: JsonlWriter | None, step_counter: int, episode_step: int, action: dict[str, Any] | None,
               observation: dict[str, Any], completion: Any, **extra: Any) -> None:
    """Append one step (action, observation, token counts with the cached share) to `env_log/trace.jsonl`."""
    if trace is None:
        return
    usage = completion.usage if completion is not None else None
    trace.write({
        "ts": utc_now(),
        "step": step_counter,
        "episode_step": episode_step,
        **extra,
        "action": action,
        "observation": {"ok": observation.get("ok"), "text": str(observation.get("text", ""))[:4000]},
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "cached_prompt_tokens": usage.cached_prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
    })


class ExperimentAgent:
    """Runs episodes of tool calls against a `ToolBox` (see `copilot.experiment.tools`)."""

    def __init__(self, llm: LLM, toolbox: Any, config: AgentConfig, trace: JsonlWriter | None = None,
                 step_offset: int = 0, coach: Coach | None = None) -> None:
        self.llm = llm
        self.toolbox = toolbox
        self.config = config
        self.trace = trace
        self.step_counter = step_offset
        self.coach: Coach = coach or NoCoach()
        self.messages: list[Message] = []
        self.compactions = 0
        self._steps_since_compaction = 0
        self._last_call: tuple[str, str] | None = None
        self._changed = False
        self._refusals: dict[str, int] = {}

    def render(self, template: str, **values: Any) -> str:
        """Render one of the agent's prompt templates."""
        return render_prompt(template, **values)

    def run(self, task_message: str, instruction: str = "") -> EpisodeResult:
        """One episode: from the task message (which states the instruction) to `final_answer` or an exhausted
        budget."""
        self.messages = [Message(role="system", content=self.render("system.j2")),
                         Message(role="user", content=task_message)]
        self._header = 2
        self._changed = False
        self._refusals = {}
        self._last_call = None  # a look from an earlier episode is not in this conversation
        steps = 0
        format_errors = 0
        try:
            while True:
                self._check_budgets(steps)
                steps += 1
                self.step_counter += 1
                try:
                    call, completion = self._next_action()
                except ContextOverflowError:
                    if not self._compact(keep_steps=1):
                        log.warning("the conversation does not fit the context window even after compaction")
                        return EpisodeResult(status="context", steps=steps, compactions=self.compactions)
                    call, completion = self._next_action()
                except FormatError as error:
                    format_errors += 1
                    self._record(steps, None, {"ok": False, "text": str(error)}, None)
                    if format_errors >= self.config.max_format_errors:
                        return EpisodeResult(status="format_errors", steps=steps, compactions=self.compactions)
                    self.messages.append(Message(role="user", content=f"Format error: {error} Call exactly one "
                                                 "of the tools, with arguments that follow its schema."))
                    continue
                format_errors = 0
                observation = self._act(call)
                self._record(steps, call, observation.model_dump(), completion)
                if observation.final:
                    return EpisodeResult(status="final", steps=steps, summary=str(observation.data.get("summary", "")),
                                         claimed_metric=observation.data.get("claimed_metric"),
                                         compactions=self.compactions)
                used = completion.usage.prompt_tokens + completion.usage.completion_tokens
                self._maybe_compact(used + self._count(self.messages[-1].content) + self.config.reply_max_tokens)
        except BudgetExhausted as exhausted:
            log.info("episode ended: %s budget exhausted after %d steps", exhausted.kind, steps)
            return EpisodeResult(status=exhausted.kind, steps=steps, compactions=self.compactions)

    def _check_budgets(self, steps: int) -> None:
        check_budgets(self.config, self.llm, steps)

    def _next_action(self) -> tuple[ToolCall, Any]:
        completion = self.llm.complete(self.messages, tools=self.toolbox.specs(), tool_choice="required",
                                       max_tokens=self.config.reply_max_tokens, purpose="experiment.step")
        if not completion.tool_calls:
            self.messages.append(Message(role="assistant", content=completion.text or "(empty reply)"))
            raise FormatError("your reply contained no tool call.")
        call = completion.tool_calls[0]
        self.messages.append(Message(role="assistant", content=completion.text, tool_calls=[call]))
        return call, completion

    def _act(self, call: ToolCall) -> Any:
        signature = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
        proposed = ProposedAction(tool=call.name, arguments=call.arguments,
                                  repeats_previous=signature == self._last_call, episode_changed_files=self._changed,
                                  refusals_so_far=self._refusals)
        self._last_call = signature
        refusal = self.coach.refusal(proposed)
        if refusal is not None:
            observation = Observation(tool=call.name, ok=False, text=refusal)
            self.messages.append(Message(role="tool", content=observation.text, tool_call_id=call.id))
            return observation
        workspace = self.toolbox.workspace
        workspace.begin_step(self.step_counter)
        try:
            observation = self.toolbox.call(call.name, call.arguments)
        finally:
            change = workspace.end_step(self.step_counter)
        self._changed = self._changed or (bool(change) and call.name != "execute")  # outputs of a run do not count
        text = observation.text + (f"\n[workspace changes: {change}]" if change else "")
        self.messages.append(Message(role="tool", content=text, tool_call_id=call.id))
        return observation

    def _record(self, step: int, call: ToolCall | None, observation: dict[str, Any], completion: Any) -> None:
        action = {"tool": call.name, "arguments": call.arguments} if call else None
        trace_step(self.trace, self.step_counter, step, action, observation, completion)

    def _count(self, text: str) -> int:
        return self.llm.count_tokens(text)

    def _maybe_compact(self, next_prompt_tokens: int) -> None:
        """Compact when the next prompt (with its reply budget) nears the context window.

        Above `compact_at` of the window it compacts at most every `min_steps_between_compactions` steps; at the
        window itself it compacts at once, keeping only the latest step.
        """
        cfg = self.config
        self._steps_since_compaction += 1
        if next_prompt_tokens >= cfg.context_tokens:
            self._compact(keep_steps=1)
        elif next_prompt_tokens >= cfg.compact_at * cfg.context_tokens and (
                not self.compactions or self._steps_since_compaction >= cfg.min_steps_between_compactions):
            self._compact(keep_steps=cfg.keep_recent_steps)

    def _compact(self, keep_steps: int) -> bool:
        """Replace the steps before the last `keep_steps` by one summary block; False when there was nothing to do."""
        body = self.messages[self._header :]
        keep = self._recent_boundary(body, keep_steps)
        old, recent = body[:keep], body[keep:]
        if not old:
            return False
        # Asked as a continuation of the conversation (same prefix, tools listed but not callable), so an embedded
        # model reuses its KV cache for the request and still holds the system+task prefix for the next step. A
        # conversation that no longer fits is summarised from a transcript instead.
        ask = Message(role="user", content=self.render("compact.j2", transcript=None))
        try:
            summary = self.llm.complete([*self.messages, ask], tools=self.toolbox.specs(), tool_choice="none",
                                        max_tokens=400, purpose="experiment.compact").text
        except ContextOverflowError:
            transcript = "\n".join(f"[{m.role}] {m.content[:1500]}" for m in old)[-20_000:]
            summary = self.llm.complete(
                [Message(role="user", content=self.render("compact.j2", transcript=transcript))],
                max_tokens=400, purpose="experiment.compact",
            ).text
        self.compactions += 1
        self._steps_since_compaction = 0
        previous = [self.messages[self._header - 1]] if self._header > 2 else []
        earlier = previous[0].content.split("\n", 1)[1] + "\n" if previous else ""
        block = Message(role="user", content=f"Summary of the earlier steps (compacted):\n{earlier}{summary}")
        base = self.messages[: self._header - 1] if previous else self.messages[: self._header]
        self.messages = [*base, block, *recent]
        self._header = len(base) + 1
        log.info("context compacted (%d messages summarised, %d kept)", len(old), len(recent))
        return True

    @staticmethod
    def _recent_boundary(body: list[Message], keep_steps: int) -> int:
        """Index in `body` where the last `keep_steps` assistant turns begin (a call stays with its result)."""
        starts = [i for i, m in enumerate(body) if m.role == "assistant"]
        return starts[-keep_steps] if len(starts) >= keep_steps else 0
