"""`ReproductionParts` (a `derive` rule): when the attempt reproducing the paper's method falls short of the
baseline, test the method's parts one at a time.

A model may write a paper's method as one large change and get some part of it wrong, so that the script fails, or
runs and scores worse than the starter code. Written down slot by slot (the model with its settings, how it is
trained, the target's transform, each input feature, the prediction's transform: `MethodParts`; a slot the method
leaves alone is "unchanged", so that a paper whose method is an optimiser is not cut into "input features"), each
part becomes a single change to test, one per attempt, on top of the best code so far; a reproduction whose parts are
queued is not debugged further, since its parts are the smaller steps. A method with no such parts (all "unchanged":
an optimiser, a search) queues none, and the run goes on with its other hypotheses and `next_changes`. A part that
does not help is measured and left behind like any attempt.

The parts are asked for once, when first needed, and recorded in the journal (`Queued`, of the reproduction).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field, StringConstraints

from copilot.execution.attempt import Attempt
from copilot.execution.journal import Candidate, Queued
from copilot.llm import Message
from copilot.llm.base import LLMError, ReplayError
from copilot.task import MetricSpec

log = logging.getLogger("copilot.coach")

PROMPTS = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
PART_TITLE = "Part {index} of the paper's method: {part}"

Slot = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
UNCHANGED = {"", "unchanged", "none", "n/a", "no change", "same", "identity"}


class MethodParts(BaseModel):
    """The paper's method, slot by slot. A free list of parts came back as one sentence cut into pieces at the length
    limit; with a slot per kind of change each input feature comes on its own."""

    model: Slot = Field(description="the model or estimator and its settings, or 'unchanged'")
    training: Slot = Field(description="how the model is fitted: the optimiser and its update rule, the loss, the "
                                       "learning rate and other settings of training, or 'unchanged'")
    target: Slot = Field(description="how the target is transformed before fitting, or 'unchanged'")
    inputs: list[Slot] = Field(max_length=8, description="each input feature or input transformation the method "
                                                         "adds, one per item; empty when it adds none")
    prediction: Slot = Field(description="how the prediction is turned into the output, or 'unchanged'")

    def as_changes(self) -> list[str]:
        """The parts as single changes, in the order they are tried: each input, then the target's transform with
        its inverse on the prediction (one change: either alone would be wrong), then the training, then the
        model."""
        changes = [f"the input feature {item}" for item in self.inputs if item.lower() not in UNCHANGED]
        target, prediction = self.target.lower() not in UNCHANGED, self.prediction.lower() not in UNCHANGED
        if target or prediction:
            changes.append(" and ".join(([f"fit the model on {self.target}"] if target else [])
                                        + ([f"turn its prediction into the output by {self.prediction}"]
                                           if prediction else [])))
        if self.training.lower() not in UNCHANGED:
            changes.append(f"train it with {self.training}")
        if self.model.lower() not in UNCHANGED:
            changes.append(f"the model {self.model}")
        return list(dict.fromkeys(changes))  # the model repeats items; keep the first of each


def fell_short(attempts: list[Attempt], title: str, metric: MetricSpec) -> bool:
    """True when the attempts that tested the hypothesis `title` measured nothing better than the baseline, and
    either one of them ran or two failed (the reproduction and a fix of it): a script that crashed once says nothing
    about the method, and its fix keeps the method whole (parts tested one at a time lose what only works together,
    such as a transformed target and the features fitted on it)."""
    tested = [a for a in attempts if a.hypothesis == title]
    baseline = attempts[0].metric if attempts else None
    if not tested or any(a.metric is not None and (baseline is None or metric.better(a.metric, baseline))
                         for a in tested):
        return False
    return any(a.metric is not None for a in tested) or len(tested) >= 2


def part_candidates(parts: list[str], reproduction_title: str) -> list[Candidate]:
    """One candidate per part, in order, phrased as a single change on top of the current code."""
    return [Candidate(title=PART_TITLE.format(index=index, part=part.rstrip(".")), source="part",
                      method=f"Add only this one part of the paper's method ({reproduction_title}) to the current "
                             f"code, and change nothing else: {part.rstrip('.')}. Follow the paper's method section "
                             f"for its exact form (formula, count, values).")
            for index, part in enumerate(parts, 1)]


class ReproductionParts:
    """The rule; `bind` gives it the run's LLM, its records and its console."""

    event = "derive"

    def __init__(self, name: str, max_tokens: int = 512) -> None:
        self.name = name
        self.max_tokens = max_tokens
        self.context: Any = None

    def bind(self, context: Any) -> None:
        """Receive the run's context (`llm`, `run` records, `console`)."""
        self.context = context

    def __call__(self, state: Any) -> Queued | None:
        """The parts of the reproduction once it fell short, asked once; None otherwise."""
        run = self.context.run
        reproduction = run.idea.reproduction()
        if reproduction is None or state.journal.asked_about(reproduction.title):
            return None
        if not fell_short(state.attempts, reproduction.title, state.metric):
            return None
        parts = self._ask(paper_source(run))
        if parts:
            self.context.console.print(f"the reproduction fell short of the baseline: testing its {len(parts)} "
                                       "parts one at a time")
        else:
            self.context.console.print("the reproduction fell short of the baseline; its method has no parts to "
                                       "test one at a time")
        return Queued(reason="the reproduction fell short of the baseline", of=reproduction.title,
                      candidates=part_candidates(parts, reproduction.title))

    def _ask(self, paper: str) -> list[str]:
        messages = [Message(role="system", content=PROMPTS.get_template("parts_system.j2").render()),
                    Message(role="user", content=PROMPTS.get_template("parts.j2").render(paper=paper))]
        try:
            reply = self.context.llm.complete(messages, MethodParts, max_tokens=self.max_tokens,
                                              purpose="coach.parts")
        except ReplayError:
            raise
        except LLMError as error:
            log.warning("could not get the parts of the paper's method (%s); going on with the other hypotheses",
                        error)
            return []
        return reply.parsed.as_changes()  # type: ignore[union-attr]


def paper_source(run: Any) -> str:
    """The paper's abstract and method section as stage 1 read them (`idea/paper.json`); "" without a paper."""
    from copilot.idea.material import reproduction_source

    paper = run.idea.paper()
    return reproduction_source(paper) if paper is not None else ""
