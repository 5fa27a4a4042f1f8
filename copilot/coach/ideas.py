"""`NextChanges` (a `derive` rule): when every queued hypothesis has had its attempt, ask for a few concrete single
changes to the best code so far, and queue them as the next candidates.

Without a candidate, an improve attempt is asked to "make one focused change that should improve the metric", and
the embedded model gives the file back unchanged: on the real suite at ba96b5f, prisoners-dilemma's last five
attempts, sat-heuristic's and cancer-adam's last ones all repeated their parent, and five repeats in a row end a
run with its wall clock unspent. Asked instead, in a short request of its own, for changes it can name (the
function or line, and the new value or rule) while seeing the best code, what was tried and how it scored, the
model names changes an episode can then implement one at a time: AIDE's improve step, which plans the change
before writing it. Ideas that break a checkable rule of the problem are left out, as stage 1's hypotheses are.

Asked at most `max_rounds` times per run, each time recorded in the journal (`Queued`, of "the attempts up to
<id>"), only while the wall clock leaves time for the request and an episode after it, and not while the latest
attempt failed and will be debugged (its round would be spent before a debug step, and asked again with nothing new
learnt). A change the model names after a tested hypothesis gets a title of its own, its change, so that it is not
taken for tested.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field, StringConstraints

from copilot.execution.attempt import Attempt
from copilot.execution.journal import Candidate, Queued
from copilot.execution.policies.base import worth_debugging
from copilot.llm import Message
from copilot.llm.base import LLMError, ReplayError

log = logging.getLogger("copilot.coach")

PROMPTS = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
REASON = "every queued hypothesis has had its attempt"
CODE_CHARS = 9000  # of the best script shown (the start of a longer one)
PROBLEM_CHARS = 1500
TITLE_CHARS = 160
DEBUG_DEPTH = 2  # the built-in policies' default debug rounds, when the run's configuration names none


class ChangeIdea(BaseModel):
    """One change to the code, small enough for one attempt."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=90)] = Field(
        description="the change in a few words")
    change: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=400)] = Field(
        description="what to change where: the function or line, and the new value, rule or step")


class ChangeIdeas(BaseModel):
    """The changes proposed, most promising first."""

    ideas: list[ChangeIdea] = Field(min_length=1, max_length=5)


def tried_lines(attempts: list[Attempt]) -> list[str]:
    """What each attempt after the baseline tested and how it ended, one line each (the measured metric, or why it
    did not run)."""
    lines = []
    for attempt in attempts[1:]:
        what = attempt.hypothesis or {"repair": "make the starter code run", "debug": "a fix"}.get(
            attempt.kind, "a change of the model's own choice")
        if attempt.metric is not None:
            outcome = f"{attempt.metric:.6g}"
        elif attempt.unchanged:
            outcome = "the code came back unchanged"
        else:
            error = [line for line in (attempt.error or "").splitlines() if line.strip()]
            outcome = f"failed: {error[-1].strip()[:120]}" if error else "failed"
        lines.append(f"- {attempt.id} ({attempt.kind}): {what} -> {outcome}")
    return lines


def attempt_code(run: Any, workspace: Path, attempt: Attempt, script: str) -> str:
    """The script as `attempt` ran it: its snapshot's copy when it changed it, else the starter's."""
    changed = run.path("attempts", attempt.id, "snapshot", "files", script)
    path = changed if attempt.kind != "baseline" and changed.is_file() else workspace / script
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class NextChanges:
    """The rule; `bind` gives it the run's context (LLM, records, task, budget, console)."""

    event = "derive"

    def __init__(self, name: str, count: int = 3, max_rounds: int = 2, max_tokens: int = 400) -> None:
        self.name = name
        self.count = count
        self.max_rounds = max_rounds
        self.max_tokens = max_tokens
        self.context: Any = None

    def bind(self, context: Any) -> None:
        """Receive the run's context."""
        self.context = context

    def __call__(self, state: Any) -> Queued | None:
        """New candidates once the queue is empty and some attempt has run; None otherwise."""
        ctx = self.context
        best = state.best()
        if ctx is None or best is None or state.queue.untried(state.attempts):
            return None
        if sum(q.reason == REASON for q in state.journal.queued) >= self.max_rounds:
            return None
        latest = state.attempts[-1]
        if worth_debugging(latest, state, debug_depth(ctx)):
            return None  # the next attempt fixes it: a round asked now would be spent on a debug step
        expected = ctx.llm.expected_call_s()
        if not ctx.budget.can_start(2 * expected):
            return None
        ideas = self._ask(state, best)
        if ideas:
            ctx.console.print(f"every queued hypothesis has had its attempt: testing {len(ideas)} changes the model "
                              "proposed for the best code")
        return Queued(reason=REASON, of=f"the attempts up to {latest.id}", candidates=ideas)

    def _ask(self, state: Any, best: Attempt) -> list[Candidate]:
        from copilot.constraints.check import starter_imports, starter_reads, text_violations
        from copilot.constraints.model import prompt_lines
        from copilot.experiment.episode import problem_rules
        from copilot.starter import file_to_change

        ctx = self.context
        task = ctx.task
        script = file_to_change(task)
        rules = problem_rules(ctx)
        code = attempt_code(ctx.run, task.workspace, best, script) if script else ""
        metric = task.spec.metric
        prompt = PROMPTS.get_template("next_changes.j2").render(
            title=task.spec.title or task.name, problem=(task.problem_text or "")[:PROBLEM_CHARS],
            rules=prompt_lines(rules), script=script or "", code=code[:CODE_CHARS], cut=len(code) > CODE_CHARS,
            metric=metric.name, direction=metric.direction, best=best.id, value=f"{best.metric:.6g}",
            tried=tried_lines(state.attempts), count=self.count)
        messages = [Message(role="system", content=PROMPTS.get_template("next_changes_system.j2").render()),
                    Message(role="user", content=prompt)]
        try:
            reply = ctx.llm.complete(messages, ChangeIdeas, max_tokens=self.max_tokens, purpose="coach.next_changes")
        except ReplayError:
            raise
        except LLMError as error:
            log.warning("could not get changes to try next (%s); the agent chooses its own", error)
            return []
        reads, imports = starter_reads(task.workspace), starter_imports(task.workspace)
        tried = {a.hypothesis for a in state.attempts if a.hypothesis}
        methods = {c.method for c in state.queue.untried([]) if c.source == "idea"}  # every idea queued so far
        candidates: list[Candidate] = []
        for idea in reply.parsed.ideas[: self.count]:  # type: ignore[union-attr]
            broken = text_violations(f"{idea.title}. {idea.change}", rules, allowed_reads=reads,
                                     allowed_modules=imports)
            if broken:
                log.info("left out the proposed change %r: %s", idea.title, "; ".join(broken))
                continue
            if idea.change in methods:
                continue
            methods.add(idea.change)
            title = idea.title
            if title in tried or title in {c.title for c in candidates}:
                # The model names its change after a tested hypothesis, with a new concrete change: a title of its
                # own keeps it from counting as tested already (sat-heuristic at 32a7eeb: all six ideas reused one
                # of the three tested titles).
                title = f"{idea.title}: {idea.change}"[:TITLE_CHARS].rstrip()
            if title not in tried:
                candidates.append(Candidate(title=title, method=idea.change, source="idea"))
        return candidates


def debug_depth(ctx: Any) -> int:
    """How many fixes in a row the run's search policy gives a failing attempt: `search.max_debug_rounds` (linear)
    or `search.max_debug_depth` (tree), the policies' default without a configuration."""
    search = getattr(getattr(ctx, "cfg", None), "search", None) or {}
    return int(search.get("max_debug_rounds", search.get("max_debug_depth", DEBUG_DEPTH)))
