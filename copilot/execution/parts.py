"""Reproduction by parts: when the attempt reproducing the paper's method falls short, test the method's parts one
at a time.

Why: the embedded 1.5B model writes the paper's method as one large change and gets some part of it wrong. On
forecast-sales it wrote the trend, the weekday and the yearly harmonics in one go (the weekday as a number, the
harmonics of the year instead of the day of the year); the script either failed, and two debug attempts spent the
rest of the 15 minutes on it, or ran and scored worse than the starter code (RMSE 110 against 64.8), since a trend
without the seasonal terms extrapolates badly. Asked for one part at a time, the same model wrote each one correctly
and the script ran. So when no attempt of the reproduction beats the baseline (it failed, or it measured no better),
the model is asked once to write the method down slot by slot (model, target transform, each input feature,
prediction transform: `MethodParts`), and the next attempts add the parts one per attempt, each on top of the best
code so far; a failed reproduction is not debugged further, since its parts are the smaller steps. An attempt's
number still comes only from the task's evaluation, so a part that does not help is measured and left behind like
any other attempt.

The parts are asked for when first needed and kept in `execution/reproduction_parts.json` (resume reads them).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field, StringConstraints

from copilot.execution.attempt import Attempt
from copilot.llm import Message
from copilot.llm.base import LLMError, ReplayError
from copilot.task import MetricSpec

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.execution")

PARTS_FILE = "execution/reproduction_parts.json"
PART_TITLE = "Part {index} of the paper's method: {part}"

Slot = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
UNCHANGED = {"", "unchanged", "none", "n/a", "no change", "same", "identity"}


class MethodParts(BaseModel):
    """The paper's method, slot by slot. A list of free-form parts came back as one sentence cut into pieces (the
    embedded model split "add the features: ..., six day-of-week indicators, ..." at the length limit); with a slot
    per kind of change it listed each input feature on its own."""

    model: Slot = Field(description="the model or estimator and its settings")
    target: Slot = Field(description="how the target is transformed before fitting, or 'unchanged'")
    inputs: list[Slot] = Field(min_length=1, max_length=8,
                               description="each input feature or input transformation, one per item")
    prediction: Slot = Field(description="how the prediction is turned into the output, or 'unchanged'")

    def as_changes(self) -> list[str]:
        """The parts as single changes, in the order they are tried: each input, then the target's transform with
        its inverse on the prediction (one change: either alone would be wrong), then the model."""
        changes = [f"the input feature {item}" for item in self.inputs if item.lower() not in UNCHANGED]
        target, prediction = self.target.lower() not in UNCHANGED, self.prediction.lower() not in UNCHANGED
        if target or prediction:
            changes.append(" and ".join(([f"fit the model on {self.target}"] if target else [])
                                        + ([f"turn its prediction into the output by {self.prediction}"]
                                           if prediction else [])))
        if self.model.lower() not in UNCHANGED:
            changes.append(f"the model {self.model}")
        return changes


def reproduction_hypothesis(ctx: RunContext) -> dict[str, Any] | None:
    """Stage 1's hypothesis reproducing the paper's method (`reproduces_paper`), or None when there is none."""
    if not ctx.run.exists("idea/hypotheses.json"):
        return None
    for record in ctx.run.read_json("idea/hypotheses.json"):
        if isinstance(record, dict) and record.get("reproduces_paper") and isinstance(record.get("hypothesis"), dict):
            return record["hypothesis"]
    return None


def fell_short(attempts: list[Attempt], title: str, metric: MetricSpec) -> bool:
    """True when some attempt tested the hypothesis `title` and none of them measured better than the baseline."""
    tested = [a for a in attempts if a.hypothesis == title]
    baseline = attempts[0].metric if attempts else None
    return bool(tested) and not any(
        a.metric is not None and (baseline is None or metric.better(a.metric, baseline)) for a in tested)


def ask_parts(ctx: RunContext) -> list[str]:
    """The method's parts, from the model's reading of the paper's abstract and method section (the same text the
    reproduction was written from); [] when the model gives no valid reply (the run goes on with the other
    hypotheses)."""
    here = Path(__file__).parent
    templates = Environment(loader=FileSystemLoader([here / "prompts", here.parent / "idea" / "prompts"]),
                            undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    prompt = templates.get_template("parts.j2").render(paper=paper_source(ctx))
    system = templates.get_template("system.j2").render()  # stage 1's: this reads the paper, as stage 1 does
    try:
        reply = ctx.llm.complete([Message(role="system", content=system), Message(role="user", content=prompt)],
                                 MethodParts, max_tokens=512, purpose="execution.parts")
    except ReplayError:
        raise
    except LLMError as error:
        log.warning("could not get the parts of the paper's method (%s); going on with the other hypotheses", error)
        return []
    parts = reply.parsed.as_changes()  # type: ignore[union-attr]
    return list(dict.fromkeys(parts))  # the model repeats items; keep the first of each


def paper_source(ctx: RunContext) -> str:
    """The paper's abstract and method section as stage 1 read them (`idea/paper.json`); "" without a paper."""
    from copilot.idea.material import reproduction_source
    from copilot.paper.model import Paper

    if not ctx.run.exists("idea/paper.json"):
        return ""
    return reproduction_source(Paper.model_validate(ctx.run.read_json("idea/paper.json")))


def method_parts(ctx: RunContext, hypothesis: dict[str, Any]) -> list[str]:
    """The parts of the reproduction hypothesis, asked for once per run and then read from `PARTS_FILE`."""
    if ctx.run.exists(PARTS_FILE):
        return list(ctx.run.read_json(PARTS_FILE).get("parts", []))
    parts = ask_parts(ctx)
    ctx.run.write_json(PARTS_FILE, {"hypothesis": hypothesis.get("title", ""), "parts": parts})
    if parts:
        ctx.console.print(f"the reproduction fell short of the baseline: testing its {len(parts)} parts one at a time")
    return parts


def part_hypotheses(parts: list[str], reproduction_title: str) -> list[dict[str, Any]]:
    """One hypothesis per part, in order, phrased as a single change on top of the current code."""
    return [{"title": PART_TITLE.format(index=index, part=part.rstrip(".")),
             "method": f"Add only this one part of the paper's method ({reproduction_title}) to the current code, and "
                       f"change nothing else: {part.rstrip('.')}. Follow the paper's method section for its exact "
                       f"form (formula, count, values).",
             "problem": "", "rationale": "", "supporting_result": "", "refuting_result": ""}
            for index, part in enumerate(parts, 1)]
