"""The idea chain: analyse → (retrieve) → hypotheses → rule check → novelty → review → plan, one
structured LLM call per step (one per criterion for the review).

Every call goes through `LLM.complete(..., schema=...)`, so replies are schema-validated and a malformed reply is
sent back to the model with the validation error a bounded number of times. Prompts are the Jinja templates in
`prompts/`, rendered with `StrictUndefined` so a missing variable fails loudly; the problem's hard rules
(`copilot.constraints`) are in the system prompt of every call and next to the instructions of every step that acts
on them. Retrieval is done by the caller.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel

from copilot.constraints import Constraint, prompt_lines, read_only_edits, text_violations
from copilot.idea.clarity import (
    generic_step,
    loads_foreign_data,
    measured_clarity,
    names_a_file,
    plan_misses_method,
    unspecific,
)
from copilot.idea.models import (
    REVIEWED,
    CriterionReview,
    ExperimentPlan,
    Hypothesis,
    HypothesisDraft,
    HypothesisSet,
    NoveltyJudgement,
    PaperAnalysis,
    PlanDraft,
    RankedHypothesis,
    RejectedHypothesis,
    ReproductionDraft,
    Score,
    Scores,
    criterion_review_schema,
    hypothesis_set_schema,
    is_code,
    names_only_a_file,
    not_a_step,
    plan_schema,
    strip_item_mark,
)
from copilot.idea.wording import jaccard, written_method
from copilot.llm import LLM, Message
from copilot.llm.base import LLMError, MalformedReplyError
from copilot.sandbox.packages import missing_packages_named

T = TypeVar("T", bound=BaseModel)
CODE_SUFFIXES = frozenset({".py", ".ipynb", ".sh", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini"})
log = logging.getLogger("copilot.idea")

@dataclass
class TaskFacts:
    """What the prompts need to know about the task's workspace, metric and rules."""

    workspace: str
    metric: str
    direction: str
    run: str
    read_only: list[str]
    packages: list[str] | None = None  # what the sandbox can import; None when unknown
    constraints: list[Constraint] = field(default_factory=list)  # the problem's hard rules
    starter_reads: list[str] = field(default_factory=list)  # files the starter code reads: allowed by the task itself
    starter_imports: list[str] = field(default_factory=list)  # modules the starter code imports: likewise
    run_timeout_s: float | None = None  # the task's limit on one run of the experiment command; None when unknown

    def data_files(self) -> list[str]:
        """The data files the starter code reads (its reads that are not code)."""
        return [f for f in self.starter_reads if PurePosixPath(f).suffix.lower() not in CODE_SUFFIXES]


REPEAT_SIMILARITY = 0.85  # word overlap (`jaccard`) of title and method above which a hypothesis repeats another


def _text(hypothesis: Hypothesis) -> str:
    return f"{hypothesis.title} {hypothesis.method}"


def _title(hypothesis: Hypothesis) -> str:
    return " ".join(hypothesis.title.lower().split())


@dataclass
class _Candidate:
    """A hypothesis on its way to the ranking."""

    hypothesis: Hypothesis
    reproduces_paper: bool = False


def ranking_key(ranked: RankedHypothesis) -> tuple[bool, bool, float, int, int]:
    """Sort key of ranked hypotheses: one that names a package the sandbox cannot import (Prophet, XGBoost, ...)
    comes after all the others whatever its scores (nothing can be installed offline, so its attempt would only fail
    on the import); then the reproduction of the paper's method; then the best review total; then the clearer
    (measured); then the order the model proposed them in (the reproduction first)."""
    return (bool(ranked.missing_packages), not ranked.reproduces_paper, -ranked.total, -ranked.scores.clarity.score,
            ranked.review_number if ranked.review_number is not None else 99)


def review_problems(scores: list[Scores]) -> list[str]:
    """What a review leaves undecided (logged): a hypothesis scored the same on all four criteria the model reviews
    (the embedded model gave 5/5/5/5/5, 3/3/3/3/3 and 1/1/1/1/1 when scoring one hypothesis at a time), and
    hypotheses with the same total."""
    problems = []
    for number, s in enumerate(scores, 1):
        values = {getattr(s, c).score for c in REVIEWED}
        if len(values) == 1 and len(scores) > 1:
            problems.append(f"hypothesis {number} has {values.pop()} on {', '.join(REVIEWED[:-1])} and "
                            f"{REVIEWED[-1]}")
    totals: dict[float, list[int]] = {}
    for number, s in enumerate(scores, 1):
        totals.setdefault(s.total(), []).append(number)
    for total, numbers in totals.items():
        if len(numbers) > 1:
            problems.append(f"hypotheses {' and '.join(map(str, numbers))} have the same mean score ({total:.1f})")
    return problems


NOT_CHECKED = NoveltyJudgement(novel=False, closest_work_ids=[],
                               explanation="not checked: stage 1's share of the wall clock was spent")


class IdeaAgent:
    """Runs the structured steps of stage 1 against one LLM."""

    def __init__(self, llm: LLM, facts: TaskFacts, num_hypotheses: int = 3, max_reply_tokens: int = 2048,
                 paper_method: str = "", has_paper: bool = True, partial_input: bool = False,
                 deadline: float | None = None, material: str = "", paper_claims: list[str] | None = None) -> None:
        self.llm = llm
        # The paper and/or research problem: with the workspace, the opening of every prompt that reads them
        # (prompts/_context.j2), the same text each time, so a local model reads it once (its KV cache).
        self.material = material
        self.deadline = deadline  # time.monotonic() by which stage 1 stops asking for more (the run's Budget)
        # The paper's abstract and method section (`idea.material.reproduction_source`); "" = no reproduction.
        self.paper_method = paper_method
        # The abstract's sentences that state its contribution (`paper.claims.claim_sentences`), shown to the
        # reproduction request: the method to reproduce is the one they name.
        self.paper_claims = paper_claims or []
        self.has_paper = has_paper  # False for a research problem without a paper
        self.partial_input = partial_input  # the paper could be read only in part: hypotheses are marked so
        self.max_reply_tokens = max_reply_tokens
        self.facts = facts
        self.num_hypotheses = num_hypotheses
        self.rules = prompt_lines(facts.constraints)
        self.rejected: list[RejectedHypothesis] = []  # what the latest `propose` rejected (idea/rejected.json)
        self.templates = Environment(
            loader=FileSystemLoader(Path(__file__).parent / "prompts"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def has_time(self) -> bool:
        """Whether one more optional request would likely end before stage 1's deadline. Past it, stage 1 goes on
        with what it has: no reproduction or second request, fewer hypotheses, no novelty checks, no second review."""
        return self.deadline is None or time.monotonic() + self.llm.expected_call_s() < self.deadline

    def _messages(self, template: str, **values: Any) -> list[Message]:
        system = self.templates.get_template("system.j2").render(rules=self.rules)
        values = {"material": self.material, "workspace": self.facts.workspace, **values}
        prompt = self.templates.get_template(template).render(rules=self.rules, **values)
        return [Message(role="system", content=system), Message(role="user", content=prompt)]

    def _ask(self, template: str, schema: type[T], purpose: str, **values: Any) -> T:
        messages = self._messages(template, **values)
        return self.llm.complete(messages, schema, max_tokens=self.max_reply_tokens, purpose=f"idea.{purpose}").parsed

    def analyse(self, material: str) -> PaperAnalysis:
        """Research tasks, gaps and search keywords of the paper or problem."""
        self.material = self.material or material
        return self._ask("analyse.j2", PaperAnalysis, "analyse", material=material)

    def hypothesize(
        self, material: str, analysis: PaperAnalysis, related: list[Any], comment: str | None = None,
        avoid: list[str] | None = None, rejected: list[RejectedHypothesis] | None = None, n: int | None = None,
    ) -> list[Hypothesis]:
        """`n` (default `num_hypotheses`) hypotheses testable in the workspace; `comment` carries the user's wish when
        regenerating, `avoid` the packages earlier hypotheses needed and the sandbox lacks, `rejected` the earlier
        hypotheses that broke a rule, with the reasons."""
        count = n or self.num_hypotheses
        messages = self._messages(
            "hypotheses.j2", material=material, analysis=analysis, related=related, n=count,
            workspace=self.facts.workspace, metric=self.facts.metric, direction=self.facts.direction, comment=comment,
            avoid=", ".join(avoid or []), reproduced=bool(self.paper_method), paper=self.has_paper,
            rejected=rejected or [],
        )
        completion = self.llm.complete(messages, hypothesis_set_schema(count), max_tokens=self.max_reply_tokens,
                                       purpose="idea.hypotheses")
        reply: HypothesisSet = completion.parsed
        conversation = [*messages, Message(role="assistant", content=completion.text)]
        hypotheses = [self._completed(draft) for draft in reply.hypotheses[:count]]
        return [self.sharpen(h, conversation) if self.needs_sharpening(h) and self.has_time() else h
                for h in hypotheses]

    def _completed(self, draft: HypothesisDraft) -> Hypothesis:
        return Hypothesis.from_draft(draft, self.facts.metric, self.facts.direction)

    def needs_sharpening(self, hypothesis: Hypothesis) -> bool:
        """Whether the method does not say what to change: it names only a file, or neither code nor a setting, or it
        is code instead of a description."""
        return (names_only_a_file(hypothesis.method) or is_code(hypothesis.method)
                or unspecific(hypothesis, self.facts.workspace))

    def sharpen(self, hypothesis: Hypothesis, conversation: list[Message]) -> Hypothesis:
        """`hypothesis` with its method written out, asked for as the next turn of `conversation` (the request for
        hypotheses and the reply, so the cached prompt is reused), when the reply gave only a file name as the method:
        on sat-heuristic the embedded model wrote "heuristic.py" as every method, and the review scored all three 1.
        The answer is free text: under the JSON grammar the model wrote "heuristic.py" again, nine times out of nine.
        Also asked when the method names neither code nor a setting (`clarity.unspecific`), or is code (`is_code`). An
        answer that still names only a file or is code, or is less specific by measured clarity (or as specific and
        shorter) than a method that was not code, leaves the hypothesis as it was."""
        request = [*conversation, Message(role="user", content=self.templates.get_template("method.j2").render(
            hypothesis=hypothesis))]
        try:
            text = self.llm.complete(request, max_tokens=min(320, self.max_reply_tokens), purpose="idea.method").text
        except LLMError as error:
            log.warning("hypothesis %r: asking for its method again failed (%s)", hypothesis.title, error)
            return hypothesis
        method = written_method(text)
        if names_only_a_file(method):
            log.warning("hypothesis %r names only a file as its method, and asked again too (%r)", hypothesis.title,
                        method[:80])
            return hypothesis
        if is_code(method):
            log.warning("hypothesis %r: its method asked again came back as code too (%r); kept as it was",
                        hypothesis.title, method[:80])
            return hypothesis
        if not method or method == hypothesis.method:
            log.warning("hypothesis %r: its method asked again came back the same or empty (%r); kept as it was",
                        hypothesis.title, text[:80])
            return hypothesis
        sharpened = hypothesis.model_copy(update={"method": method})
        if is_code(hypothesis.method):
            log.info("hypothesis %r: its method, code, written out as %r", hypothesis.title, method)
            return sharpened
        workspace = self.facts.workspace
        before, after = (measured_clarity(h, workspace).score for h in (hypothesis, sharpened))
        if after < before or (after == before and len(method.split()) < len(hypothesis.method.split())):
            log.warning("hypothesis %r: its method asked again came back less specific (%r); kept as it was",
                        hypothesis.title, method[:80])
            return hypothesis
        log.info("hypothesis %r: its method %r written out as %r", hypothesis.title, hypothesis.method, method)
        return sharpened

    def reproduction(self, broken: tuple[Hypothesis, list[str]] | None = None) -> Hypothesis:
        """The hypothesis that the method the paper reports as best, as its abstract and method section state it, beats
        the starter code. Asked for separately because a small model, asked for N hypotheses at once, varies the
        paper's details (forecast-sales: "add a yearly harmonic" without the day-of-week indicators or the log link).
        `broken`: an earlier reproduction and the rules it broke, shown so that this one keeps the method and obeys
        them (monthly-nbeats: N-BEATS itself was rejected because its method said it "changes the evaluate.py file")."""
        messages = self._messages("reproduce.j2", method=self.paper_method, workspace=self.facts.workspace,
                                  metric=self.facts.metric, direction=self.facts.direction,
                                  data_files=self.facts.data_files(), run=self.facts.run,
                                  read_only=self.facts.read_only, claims=self.paper_claims)
        if broken is not None:
            earlier, reasons = broken
            messages += [Message(role="assistant", content=earlier.model_dump_json(
                include=set(HypothesisDraft.model_fields))), Message(role="user", content=(
                "This hypothesis breaks a rule of the problem: " + "; ".join(reasons) + ". Write the reproduction "
                "again: the same method of the paper, changing only what the rules allow."))]
        completion = self.llm.complete(messages, ReproductionDraft, max_tokens=self.max_reply_tokens,
                                       purpose="idea.reproduce")
        hypothesis = self._completed(completion.parsed)
        if self.needs_sharpening(hypothesis) and self.has_time():
            return self.sharpen(hypothesis, [*messages, Message(role="assistant", content=completion.text)])
        return hypothesis

    def broken_rules(self, hypothesis: Hypothesis) -> list[str]:
        """Why `hypothesis` breaks a rule of the problem, checked on its title and method ([] when it breaks none
        that can be checked): it proposes a library the rules forbid or do not allow, reading a forbidden file, or
        changing a file the task keeps read-only."""
        text = f"{hypothesis.title}. {hypothesis.method}"
        return text_violations(text, self.facts.constraints, allowed_reads=self.facts.starter_reads,
                               allowed_modules=self.facts.starter_imports) + read_only_edits(text, self.facts.read_only)

    def screen(self, candidates: list[_Candidate], earlier: list[_Candidate] | None = None,
               ) -> tuple[list[_Candidate], list[RejectedHypothesis]]:
        """The candidates that obey every checkable rule and propose a change of their own, and the rejected ones
        with their reasons. A candidate with the title of one kept before it (among `earlier` or this batch), or
        whose title and method share at least `REPEAT_SIMILARITY` of their words with it, repeats it: the embedded
        model's three SPECTER hypotheses were one citation-based triplet loss as "Add a", "Use a more advanced" and
        "Use a different" citation-based loss (0.86 to 0.89), and prisoners-dilemma's were a "more sophisticated /
        aggressive / cautious strategy" with the same method (0.93); distinct hypotheses of the suite run at
        d2f7672 and of the stage-1 checks shared at most 0.77 (a larger and a smaller learning rate). Asked again,
        the model wrote "Use a different citation-based loss function" twice, with methods worded apart."""
        kept: list[_Candidate] = []
        rejected: list[RejectedHypothesis] = []
        for candidate in candidates:
            reasons = self.broken_rules(candidate.hypothesis)
            text = _text(candidate.hypothesis)
            repeated = next((c for c in [*(earlier or []), *kept]
                             if jaccard(text, _text(c.hypothesis)) >= REPEAT_SIMILARITY
                             or _title(c.hypothesis) == _title(candidate.hypothesis)), None)
            if repeated is not None and not reasons:
                reasons = [f'repeats "{repeated.hypothesis.title}" in other words: propose a different change']
            if reasons:
                log.warning("hypothesis rejected: %s (%s)", candidate.hypothesis.title, "; ".join(reasons))
                rejected.append(RejectedHypothesis(hypothesis=candidate.hypothesis, reasons=reasons,
                                                   reproduces_paper=candidate.reproduces_paper))
            else:
                kept.append(candidate)
        return kept, rejected

    def _missing(self, hypothesis: Hypothesis) -> list[str]:
        return missing_packages_named(f"{hypothesis.title} {hypothesis.method}", self.facts.packages)

    def propose(self, material: str, analysis: PaperAnalysis, related: list[Any], in_prompt: int,
                comment: str | None = None) -> list[RankedHypothesis]:
        """Hypotheses, ranked (`in_prompt` of the related works are shown when generating); those rejected for
        breaking a rule of the problem or repeating another (`screen`) are in `self.rejected` afterwards, with the
        reasons. With a paper method, the
        hypothesis reproducing it comes first: a researcher reproduces the paper before extending it. When rejections
        leave fewer than `num_hypotheses`, the missing ones are asked for once more, naming the rules they broke;
        when every remaining one needs a package the sandbox lacks, they are asked for once more, naming those
        packages (the embedded model built all three forecast-sales hypotheses on Prophet, which is not installed).
        Everything kept is reviewed together."""
        shown = related[:in_prompt]
        candidates: list[_Candidate] = []
        if self.paper_method and self.has_time():
            try:
                candidates = [_Candidate(self.reproduction(), reproduces_paper=True)]
            except MalformedReplyError as error:
                log.warning("no hypothesis reproducing the paper: %s; going on with the others", error)
        if not candidates or self.has_time():
            candidates += [_Candidate(h) for h in self.hypothesize(material, analysis, shown, comment=comment,
                                                                   n=None if self.has_time() else 1)]
        else:
            log.warning("stage 1's share of the wall clock is spent: going on with the reproduction hypothesis alone")
        kept, rejected = self.screen(candidates)
        broken = next((r for r in rejected if r.reproduces_paper), None)
        # Asked again even past stage 1's share of the wall clock: without it the run loses the paper's method and
        # its parts (the suite's monthly-nbeats at ba96b5f, rejected for "changes evaluate.py" and never re-asked).
        if broken is not None:
            log.warning("the reproduction of the paper broke a rule of the problem; asking for it once more")
            try:
                again, rejected_again = self.screen([_Candidate(
                    self.reproduction((broken.hypothesis, broken.reasons)), reproduces_paper=True)], kept)
                kept, rejected = [*again, *kept], [*rejected, *rejected_again]
            except MalformedReplyError as error:
                log.warning("no second reproduction: %s", error)
        fresh = [c for c in kept if not c.reproduces_paper]
        if rejected and len(fresh) < self.num_hypotheses and self.has_time():
            log.warning("%d hypotheses broke a rule of the problem or repeated another; asking once more for %d that "
                        "obey the rules", len(rejected), self.num_hypotheses - len(fresh))
            again, rejected_again = self.screen([_Candidate(h) for h in self.hypothesize(
                material, analysis, shown, comment=comment, rejected=rejected, n=self.num_hypotheses - len(fresh))],
                kept)
            kept, rejected, fresh = [*kept, *again], [*rejected, *rejected_again], [*fresh, *again]
        if fresh and all(self._missing(c.hypothesis) for c in fresh) and self.has_time():
            missing = sorted({name for c in fresh for name in self._missing(c.hypothesis)})
            log.warning("every hypothesis needs a package the sandbox lacks (%s); asking once more without them",
                        ", ".join(missing))
            again, rejected_again = self.screen([_Candidate(h) for h in self.hypothesize(
                material, analysis, shown, comment=comment, avoid=missing, rejected=rejected)], kept)
            kept, rejected = [*kept, *again], [*rejected, *rejected_again]
        self.rejected = rejected
        return self.rank_candidates(kept, related)

    def check_novelty(self, hypothesis: Hypothesis, related: list[Any]) -> tuple[float, str | None, NoveltyJudgement]:
        """Lexical similarity to every retrieved work, then the model's judgement against the three closest."""
        text = f"{hypothesis.title} {hypothesis.method}"
        similarities = sorted(
            ((jaccard(text, f"{ref.title} {ref.abstract}"), ref) for ref in related), key=lambda pair: -pair[0]
        )
        closest = [ref for _, ref in similarities[:3]]
        if not self.has_time():
            top = similarities[0] if similarities else (0.0, None)
            return round(top[0], 4), (top[1].id if top[1] is not None else None), NOT_CHECKED
        judgement = self._ask("novelty.j2", NoveltyJudgement, "novelty", hypothesis=hypothesis, closest=closest)
        known = {ref.id for ref in related}
        judgement.closest_work_ids = [i for i in judgement.closest_work_ids if i in known]
        top = similarities[0] if similarities else (0.0, None)
        return round(top[0], 4), (top[1].id if top[1] is not None else None), judgement

    def review(self, items: list[dict[str, Any]]) -> list[Scores]:
        """The five 1-5 scores of every hypothesis: clarity measured (`copilot.idea.clarity`), the other four asked
        for one criterion per request, all hypotheses side by side with a reason before each score. The requests share
        their opening (the rules and the hypotheses' titles and methods, not the workspace) and end with the
        criterion's anchors, so the model reads the hypotheses once (its KV cache). Scored one hypothesis at a time,
        the embedded model gave whole hypotheses 5/5/5/5/5 or 1/1/1/1/1; all criteria in one reply, it scored by
        position (5, 3, 1, 1 on every criterion) or copied the novelty checks as reasons; one criterion per request,
        its reasons name each hypothesis' method and its scores differ between criteria. `items` holds each
        `hypothesis` and its `novelty`."""
        n = len(items)
        clarity = [measured_clarity(item["hypothesis"], self.facts.workspace) for item in items]
        schema = criterion_review_schema(n)
        by_criterion: dict[str, list[Score]] = {}
        for criterion in REVIEWED:
            messages = self._messages("score.j2", hypotheses=items, criterion=criterion, metric=self.facts.metric,
                                      direction=self.facts.direction, not_checked=NOT_CHECKED)
            reply: CriterionReview = self.llm.complete(messages, schema, max_tokens=self.max_reply_tokens,
                                                       purpose="idea.score").parsed
            by_criterion[criterion] = reply.in_order(n)
        scores = [Scores(clarity=clarity[i], **{c: by_criterion[c][i] for c in REVIEWED}) for i in range(n)]
        problems = review_problems(scores)
        if problems:
            log.info("the review leaves these undecided: %s", "; ".join(problems))
        return scores

    def rank(self, hypotheses: list[Hypothesis], related: list[Any],
             reproduces_paper: bool = False) -> list[RankedHypothesis]:
        """Novelty-check and review `hypotheses` (all reproductions of the paper when `reproduces_paper`), in
        `ranking_key` order."""
        return self.rank_candidates([_Candidate(h, reproduces_paper) for h in hypotheses], related)

    def rank_candidates(self, candidates: list[_Candidate], related: list[Any]) -> list[RankedHypothesis]:
        """Novelty-check every candidate, review them all together, and sort them by `ranking_key`."""
        if not candidates:
            return []
        novelty = [self.check_novelty(c.hypothesis, related) for c in candidates]
        scores = self.review([{"hypothesis": c.hypothesis, "novelty": judgement}
                              for c, (_, _, judgement) in zip(candidates, novelty, strict=True)])
        ranked = [RankedHypothesis(hypothesis=c.hypothesis, lexical_overlap=overlap, closest_lexical_id=closest_id,
                                   novelty=judgement, scores=s, total=s.total(),
                                   missing_packages=self._missing(c.hypothesis), reproduces_paper=c.reproduces_paper,
                                   review_number=number,
                                   partial_input=self.partial_input)
                  for number, (c, (overlap, closest_id, judgement), s)
                  in enumerate(zip(candidates, novelty, scores, strict=True), 1)]
        return sorted(ranked, key=ranking_key)

    def plan(self, hypothesis: Hypothesis) -> ExperimentPlan:
        """The experiment plan for the chosen hypothesis; the model drafts its steps, data and files (`_ask_plan`). A
        plan
        whose steps break a rule of the problem, do not do the hypothesis' method (`clarity.plan_misses_method`) or
        are all boilerplate, is asked for once more, naming the reason (`_ask_again`); what it still breaks is
        recorded in `broken_rules`. Boilerplate
        steps that name nothing of this experiment ("Compare the results") are dropped (`clarity.generic_step`),
        unless nothing else is left."""
        values = dict(hypothesis=hypothesis, metric=self.facts.metric, direction=self.facts.direction,
                      run=self.facts.run, workspace=self.facts.workspace, read_only=self.facts.read_only)
        schema = plan_schema(3)
        try:
            plan = self._ask_plan(schema, [], values)
        except MalformedReplyError as error:  # three tries without three distinct steps: take what it can write
            log.warning("no plan of three distinct steps (%s); asking for any plan", error)
            schema = plan_schema(1)
            plan = self._ask_plan(schema, [], values)
        broken = self._plan_violations(plan)
        off_method = plan_misses_method(plan.steps, hypothesis, self.facts.workspace)
        foreign = self._foreign_data_steps(plan)
        boilerplate = [] if self._specific_steps(plan) else [
            "every step is boilerplate or a placeholder; write the steps of this experiment, each naming the code it "
            "changes"]
        if broken or off_method or boilerplate or foreign:
            reasons = [*broken, *([off_method] if off_method else []), *boilerplate, *foreign]
            log.warning("the plan was sent back (%s); asking once more", "; ".join(reasons))
            plan = self._ask_again(plan, schema, reasons, values)
        if not self._specific_steps(plan) and self.has_time():
            plan = self._steps_in_text(plan, values)
        plan.broken_rules = self._plan_violations(plan)
        own_data = [step for step in plan.steps if not loads_foreign_data(step, self.facts.data_files())]
        if len(own_data) < len(plan.steps) and self._specific_steps(plan.model_copy(update={"steps": own_data})):
            log.info("plan: dropped %d steps loading data the workspace does not have", len(plan.steps) - len(own_data))
            plan.steps = own_data
        specific = self._specific_steps(plan)
        if specific and len(specific) < len(plan.steps):
            log.info("plan: dropped %d generic steps (%s)", len(plan.steps) - len(specific),
                     "; ".join(step for step in plan.steps if step not in specific))
            plan.steps = specific
        plan.workspace_files = self._own_files(plan.workspace_files)
        plan.datasets = self._workspace_datasets(plan.datasets)
        return plan

    def _ask_plan(self, schema: type[PlanDraft], broken: list[str], values: dict[str, Any]) -> ExperimentPlan:
        """The plan the model drafts (`broken`: why an earlier one was sent back), completed with what is the task's
        and the hypothesis': its title, the metric and direction, the expected outcome (what would support the
        hypothesis) and the compute budget (the task's limit on one run, when known)."""
        draft = self._ask("plan.j2", schema, "plan", broken=broken, **values)
        hypothesis: Hypothesis = values["hypothesis"]
        timeout = self.facts.run_timeout_s
        return ExperimentPlan(
            **draft.model_dump(include=set(PlanDraft.model_fields) - {"hypothesis_title"}),
            hypothesis_title=hypothesis.title,
            metric=self.facts.metric, metric_direction=self.facts.direction,
            expected_outcome=hypothesis.supporting_result,
            compute_budget=(f"at most {timeout:g} s per run of `{self.facts.run}` (the task's limit)" if timeout
                            else "minutes on a CPU"))

    def _own_files(self, named: list[str]) -> list[str]:
        """The files a plan may change, as named once each: none that the task keeps read-only, and only files the
        workspace shows or new code files (the embedded model's SPECTER plan listed "scidocs3.zip" five times)."""
        return [f for f in dict.fromkeys(named) if f not in self.facts.read_only
                and (f in self.facts.workspace or PurePosixPath(f).suffix.lower() in CODE_SUFFIXES)]

    def _foreign_data_steps(self, plan: ExperimentPlan) -> list[str]:
        """Why each step of `plan` that loads data the workspace does not have must change (`loads_foreign_data`)."""
        data = self.facts.data_files()
        return [f"step \"{step[:80]}\" loads data the workspace does not have; the experiment's data are "
                f"{', '.join(data)}" for step in self._specific_steps(plan) if loads_foreign_data(step, data)]

    def _workspace_datasets(self, named: list[str]) -> list[str]:
        """The plan's datasets as the workspace has them: an entry that names none of the data files the starter
        code reads is left out, and those files are listed (the embedded model's plan for the MGP-RNN paper on the
        sales workspace listed the paper's hospital records, which are not there). Without such files, as named."""
        data = self.facts.data_files()
        if not data:
            return named
        ours = [entry for entry in named if names_a_file(entry, data)]
        if len(ours) < len(named):
            log.info("plan: datasets not in the workspace left out (%s); the experiment reads %s",
                     "; ".join(entry for entry in named if entry not in ours), ", ".join(data))
        unnamed = [f for f in data if not any(names_a_file(entry, [f]) for entry in ours)]
        return [*ours, *unnamed][:5]

    def _specific_steps(self, plan: ExperimentPlan) -> list[str]:
        return [step for step in plan.steps if not generic_step(step, self.facts.workspace)]

    def _ask_again(self, first: ExperimentPlan, schema: type[PlanDraft], reasons: list[str],
                   values: dict[str, Any]) -> ExperimentPlan:
        """The plan asked for once more, naming `reasons`; when no valid reply of `schema` comes, any plan; of that
        and `first`, the one whose steps do the hypothesis' method (`clarity.plan_misses_method`), then the one with
        more steps of this experiment (the new one on a tie). On sat-heuristic the embedded model answered the re-ask
        with one step three times, which had ended stage 1; on ViT, a first plan of seven steps that rebuilt the
        starter's decision tree was kept over a re-asked one that did the method in fewer."""
        try:
            again = self._ask_plan(schema, reasons, values)
        except MalformedReplyError as error:
            log.warning("no valid plan when asked again (%s); asking for any plan", error)
            try:
                again = self._ask_plan(plan_schema(1), reasons, values)
            except MalformedReplyError as error:
                log.warning("no valid plan (%s); keeping the first one", error)
                return first
        hypothesis, workspace = values["hypothesis"], self.facts.workspace

        def merit(plan: ExperimentPlan) -> tuple[bool, int]:
            return plan_misses_method(plan.steps, hypothesis, workspace) is None, len(self._specific_steps(plan))

        if merit(first) > merit(again):
            log.warning("the plan asked for again misses the method or has fewer steps of this experiment; keeping "
                        "the first one")
            return first
        return again

    def _steps_in_text(self, plan: ExperimentPlan, values: dict[str, Any]) -> ExperimentPlan:
        """`plan` with its steps asked for once more in plain text, one per line, as the next turn after the plan
        request (its prompt is cached), when every step it has is boilerplate: under the JSON grammar the embedded
        model's sat-heuristic plans were "description of the first step" six times, then "step_name", "file_name".
        Lines that are boilerplate too are left out; with none left, `plan` stays as it was."""
        request = [*self._messages("plan.j2", broken=[], **values),
                   Message(role="assistant", content=plan.model_dump_json(include={"steps"})),
                   Message(role="user", content=self.templates.get_template("plan_steps.j2").render(
                       hypothesis=values["hypothesis"]))]
        try:
            text = self.llm.complete(request, max_tokens=min(512, self.max_reply_tokens), purpose="idea.plan").text
        except LLMError as error:
            log.warning("the plan's steps asked for in text: %s; keeping the plan as it is", error)
            return plan
        lines = [strip_item_mark(line.strip(" *#`")).strip(" *#`") for line in text.splitlines()]
        steps = [line[:400] for line in dict.fromkeys(lines) if not not_a_step(line) and not line.endswith(":")
                 and not generic_step(line, self.facts.workspace)][:6]
        if not steps:
            log.warning("the plan's steps asked for in text were boilerplate too; keeping the plan as it is")
            return plan
        log.info("plan: %d steps written in text replace %d boilerplate ones", len(steps), len(plan.steps))
        return plan.model_copy(update={"steps": steps})

    def _plan_violations(self, plan: ExperimentPlan) -> list[str]:
        return list(dict.fromkeys(
            f"step \"{step[:80]}\" {reason}" for step in plan.steps
            for reason in text_violations(step, self.facts.constraints, allowed_reads=self.facts.starter_reads,
                                          allowed_modules=self.facts.starter_imports)
            + read_only_edits(step, self.facts.read_only)))
