"""The idea chain: analyse → (retrieve) → hypotheses → novelty → scores → plan, one structured LLM call per step.

Every call goes through `LLM.complete(..., schema=...)`, so replies are schema-validated and a malformed reply is
sent back to the model with the validation error a bounded number of times. Prompts are the Jinja templates in
`prompts/`, rendered with `StrictUndefined` so a missing variable fails loudly. Retrieval is done by the caller.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel

from copilot.idea.models import (
    ExperimentPlan,
    Hypothesis,
    HypothesisSet,
    NoveltyJudgement,
    PaperAnalysis,
    RankedHypothesis,
    Scores,
)
from copilot.llm import LLM, Message
from copilot.sandbox.packages import missing_packages_named

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger("copilot.idea")

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from in is it of on or that the this to with we our using use".split()  # noqa: SIM905
)


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def jaccard(a: str, b: str) -> float:
    """Token-set Jaccard similarity of two texts, ignoring stop words (the lexical half of the novelty check)."""
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


@dataclass
class TaskFacts:
    """What the prompts need to know about the task's workspace and metric."""

    workspace: str
    metric: str
    direction: str
    run: str
    read_only: list[str]
    packages: list[str] | None = None  # what the sandbox can import; None when unknown


def ranking_key(ranked: RankedHypothesis) -> tuple[bool, bool, float]:
    """Sort key of ranked hypotheses: one that names a package the sandbox cannot import (Prophet, XGBoost, ...)
    comes after all the others whatever its scores (nothing can be installed offline, so its attempt would only fail
    on the import); then the reproduction of the paper's method; then the best review total."""
    return bool(ranked.missing_packages), not ranked.reproduces_paper, -ranked.total


class IdeaAgent:
    """Runs the structured steps of stage 1 against one LLM."""

    def __init__(self, llm: LLM, facts: TaskFacts, num_hypotheses: int = 3, max_reply_tokens: int = 2048,
                 paper_method: str = "") -> None:
        self.llm = llm
        # The paper's abstract and method section (`idea.material.reproduction_source`); "" = no reproduction hypothesis.
        self.paper_method = paper_method
        self.max_reply_tokens = max_reply_tokens
        self.facts = facts
        self.num_hypotheses = num_hypotheses
        self.templates = Environment(
            loader=FileSystemLoader(Path(__file__).parent / "prompts"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def _ask(self, template: str, schema: type[T], purpose: str, **values: Any) -> T:
        system = self.templates.get_template("system.j2").render()
        prompt = self.templates.get_template(template).render(**values)
        messages = [Message(role="system", content=system), Message(role="user", content=prompt)]
        return self.llm.complete(messages, schema, max_tokens=self.max_reply_tokens, purpose=f"idea.{purpose}").parsed

    def analyse(self, material: str) -> PaperAnalysis:
        """Research tasks, gaps and search keywords of the paper or problem."""
        return self._ask("analyse.j2", PaperAnalysis, "analyse", material=material)

    def hypothesize(
        self, material: str, analysis: PaperAnalysis, related: list[Any], comment: str | None = None,
        avoid: list[str] | None = None,
    ) -> list[Hypothesis]:
        """N hypotheses testable in the workspace; `comment` carries the user's wish when regenerating, `avoid` the
        packages earlier hypotheses needed and the sandbox lacks."""
        reply = self._ask(
            "hypotheses.j2", HypothesisSet, "hypotheses",
            material=material, analysis=analysis, related=related, n=self.num_hypotheses,
            workspace=self.facts.workspace, metric=self.facts.metric, direction=self.facts.direction, comment=comment,
            avoid=", ".join(avoid or []), reproduced=bool(self.paper_method),
        )
        return reply.hypotheses[: self.num_hypotheses]

    def reproduction(self) -> Hypothesis:
        """The hypothesis that the method the paper reports as best, as its abstract and method section state it, beats
        the starter code. Asked for separately because a small model, asked for N hypotheses at once, varies the
        paper's details (forecast-sales: "add a yearly harmonic" without the day-of-week indicators or the log link)."""
        return self._ask("reproduce.j2", Hypothesis, "reproduce", method=self.paper_method,
                         workspace=self.facts.workspace, metric=self.facts.metric, direction=self.facts.direction)

    def propose(self, material: str, analysis: PaperAnalysis, related: list[Any], in_prompt: int,
                comment: str | None = None) -> list[RankedHypothesis]:
        """Hypotheses, ranked (`in_prompt` of the related works are shown when generating). With a paper method,
        the hypothesis reproducing it comes first: a researcher reproduces the paper before extending it. When every
        other one needs a package the sandbox lacks, they are asked for once more, naming those packages, and both
        sets are ranked together: the embedded model built all three forecast-sales hypotheses on Prophet, which is
        not installed."""
        reproduced = self.rank([self.reproduction()], related, reproduces_paper=True) if self.paper_method else []
        ranked = self.rank(self.hypothesize(material, analysis, related[:in_prompt], comment=comment), related)
        if ranked and all(r.missing_packages for r in ranked):
            missing = sorted({name for r in ranked for name in r.missing_packages})
            log.warning("every hypothesis needs a package the sandbox lacks (%s); asking once more without them",
                        ", ".join(missing))
            again = self.hypothesize(material, analysis, related[:in_prompt], comment=comment, avoid=missing)
            ranked = [*self.rank(again, related), *ranked]
        return sorted([*reproduced, *ranked], key=ranking_key)

    def check_novelty(self, hypothesis: Hypothesis, related: list[Any]) -> tuple[float, str | None, NoveltyJudgement]:
        """Lexical similarity to every retrieved work, then the model's judgement against the three closest."""
        text = f"{hypothesis.title} {hypothesis.method}"
        similarities = sorted(
            ((jaccard(text, f"{ref.title} {ref.abstract}"), ref) for ref in related), key=lambda pair: -pair[0]
        )
        closest = [ref for _, ref in similarities[:3]]
        judgement = self._ask("novelty.j2", NoveltyJudgement, "novelty", hypothesis=hypothesis, closest=closest)
        known = {ref.id for ref in related}
        judgement.closest_work_ids = [i for i in judgement.closest_work_ids if i in known]
        top = similarities[0] if similarities else (0.0, None)
        return round(top[0], 4), (top[1].id if top[1] is not None else None), judgement

    def score(self, hypothesis: Hypothesis, novelty: NoveltyJudgement) -> Scores:
        """The five 1-5 review scores with justifications."""
        return self._ask("score.j2", Scores, "score", hypothesis=hypothesis, novelty=novelty,
                         workspace=self.facts.workspace)

    def rank(self, hypotheses: list[Hypothesis], related: list[Any],
             reproduces_paper: bool = False) -> list[RankedHypothesis]:
        """Novelty-check and score every hypothesis, in `ranking_key` order (ties keep generation order)."""
        ranked = []
        for hypothesis in hypotheses:
            overlap, closest_id, novelty = self.check_novelty(hypothesis, related)
            scores = self.score(hypothesis, novelty)
            missing = missing_packages_named(f"{hypothesis.title} {hypothesis.method}", self.facts.packages)
            ranked.append(RankedHypothesis(hypothesis=hypothesis, lexical_overlap=overlap,
                                           closest_lexical_id=closest_id, novelty=novelty, scores=scores,
                                           total=scores.total(), missing_packages=missing,
                                           reproduces_paper=reproduces_paper))
        return sorted(ranked, key=ranking_key)

    def plan(self, hypothesis: Hypothesis) -> ExperimentPlan:
        """The experiment plan for the chosen hypothesis; metric and direction are the task's, not the model's."""
        plan = self._ask(
            "plan.j2", ExperimentPlan, "plan", hypothesis=hypothesis, metric=self.facts.metric,
            direction=self.facts.direction, run=self.facts.run, workspace=self.facts.workspace,
            read_only=self.facts.read_only,
        )
        plan.metric = self.facts.metric
        plan.metric_direction = self.facts.direction  # type: ignore[assignment]
        plan.hypothesis_title = hypothesis.title
        plan.workspace_files = [f for f in plan.workspace_files if f not in self.facts.read_only]
        return plan
