"""Stage 1 in the run directory: each step's output is a JSON file in `idea/`, reused when it already exists.

Order: paper.json (or the plain-text problem) → analysis.json → related.json → hypotheses.json (ranked) → human gate
→ plan.json → idea.md. A resumed run whose `idea/plan.json` exists skips the stage entirely.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from copilot.constraints import (
    not_experiment_code,
    permitted_packages,
    prompt_lines,
    starter_imports,
    starter_reads,
)
from copilot.errors import UserError
from copilot.idea.chain import IdeaAgent, TaskFacts
from copilot.idea.material import (
    load_constraints,
    load_material,
    other_experiment_code,
    paper_notices,
    read_rejected,
    reproduction_source,
)
from copilot.idea.models import ExperimentPlan, Hypothesis, PaperAnalysis, RankedHypothesis
from copilot.idea.render import hypothesis_row, render_idea_md
from copilot.sandbox.packages import available_packages
from copilot.starter import describe_workspace

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.idea")

def _retrieve(ctx: RunContext, analysis: PaperAnalysis, paper: Any) -> list[Any]:
    from copilot.retrieval import build_retrievers
    from copilot.retrieval.base import PaperRef
    from copilot.retrieval.merge import gather_related

    if ctx.run.exists("idea/related.json"):
        return [PaperRef.model_validate(r) for r in ctx.run.read_json("idea/related.json")["works"]]
    references = paper.references if paper is not None else []
    retrievers = build_retrievers(ctx.cfg.retrieval, folder=ctx.task.related_dir, references=references)
    queries = [" ".join(analysis.keywords[:4]), *analysis.research_tasks[:2]]
    gathered = gather_related(retrievers, queries, int(ctx.cfg.retrieval.limit), progress=ctx.progress)
    for notice in gathered.notices:  # one short line per source; gather_related logged the detail (log files only)
        ctx.progress.notice(notice)
    ctx.run.write_json("idea/related.json", {"queries": queries, "warnings": gathered.warnings,
                                             "works": [w.model_dump(mode="json") for w in gathered.works]})
    return gathered.works


def _gate(ctx: RunContext, agent: IdeaAgent, material: str, analysis: PaperAnalysis, related: list[Any],
          ranked: list[RankedHypothesis]) -> tuple[int, Hypothesis] | None:
    """Ask the human which hypothesis to pursue: its rank (0-based) and the hypothesis, edited if the human edited
    it; regenerations are bounded. None means the user quit."""
    regenerations = 0
    while True:
        decision = ctx.feedback.on_ideas(hypotheses=[hypothesis_row(r) for r in ranked])
        log.info("feedback on ideas: %s", decision)
        if decision.action == "accept":
            return 0, ranked[0].hypothesis
        if decision.action == "pick":
            if decision.index is None or not 0 <= decision.index < len(ranked):
                raise UserError(f"feedback picked hypothesis {decision.index}; valid: 0..{len(ranked) - 1}")
            return decision.index, ranked[decision.index].hypothesis
        if decision.action == "edit" and decision.index is not None:  # the decision's validator requires the index
            merged = {**ranked[decision.index].hypothesis.model_dump(), **(decision.edited or {})}
            try:
                return decision.index, Hypothesis.model_validate(merged)
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                log.warning("the edited hypothesis is not valid (%s); asking again", problems)
                ctx.console.print(f"[red]the edited hypothesis is not valid: {problems}[/]")
                continue
        if decision.action == "quit":
            return None
        if decision.action == "regenerate":
            regenerations += 1
            if regenerations > int(ctx.cfg.idea.max_regenerations):
                raise UserError(f"hypotheses regenerated {regenerations - 1} times, the limit "
                                "(idea.max_regenerations); accept or pick one")
            ranked = ctx.run.idea.hypotheses.write(agent.propose(material, analysis, related,
                                                                 int(ctx.cfg.idea.related_in_prompt),
                                                                 comment=decision.comment))


def run_idea_stage(ctx: RunContext) -> ExperimentPlan | None:
    """Run (or reuse) stage 1 and return the plan; None when the user quit at the gate."""
    from copilot.records import ChosenHypothesis

    records = ctx.run.idea
    if records.plan.exists():
        log.info("idea stage: reusing %s", records.plan.path)
        return records.plan.read()
    task = ctx.task
    packages = available_packages(ctx.sandbox, ctx.run)
    rules = load_constraints(ctx)
    starter = starter_imports(task.workspace, exclude=not_experiment_code(task))  # the task's own code uses them
    workspace = describe_workspace(task.workspace, task.spec.run, hidden=task.spec.hidden,
                                   packages=permitted_packages(packages, rules, starter=starter))
    workspace += other_experiment_code(task)  # the code to change may not be in the run script
    if task.spec.models:  # resolved offline in stage 2; naming them keeps hypotheses to models that can be loaded
        workspace += f"\nPretrained models available offline: {', '.join(task.spec.models)}."
    facts = TaskFacts(workspace=workspace,
                      metric=task.spec.metric.name,
                      direction=task.spec.metric.direction, run=task.spec.run, read_only=task.spec.read_only,
                      packages=packages, constraints=rules,
                      starter_reads=starter_reads(task.workspace, exclude=not_experiment_code(task)),
                      starter_imports=starter, run_timeout_s=task.spec.budgets.run_timeout_s)
    ctx.console.print(f"[bold]Stage 1[/]: reading {task.paper_path or 'the research problem'}", soft_wrap=True)
    material, paper = load_material(ctx)
    for notice in paper_notices(paper):  # also at the top of idea.md
        ctx.progress.notice(f"paper: {notice}")
    reproduce = paper is not None and bool(ctx.cfg.idea.get("reproduce_paper", True))
    from copilot.paper.claims import claim_sentences  # imported here: copilot.paper loads PyMuPDF

    agent = IdeaAgent(ctx.llm, facts, num_hypotheses=int(ctx.cfg.idea.num_hypotheses),
                      max_reply_tokens=int(ctx.cfg.idea.max_reply_tokens),
                      paper_method=reproduction_source(paper) if reproduce else "", has_paper=paper is not None,
                      partial_input=bool(paper_notices(paper)), deadline=ctx.budget.idea_deadline(),
                      material=material, paper_claims=claim_sentences(paper.abstract) if reproduce else [])
    analysis = records.analysis.get_or_make(lambda: agent.analyse(material))
    related = _retrieve(ctx, analysis, paper)
    ctx.console.print(f"related works: {len(related)}; generating {agent.num_hypotheses} hypotheses")
    ranked = records.hypotheses.get_or_make(
        lambda: agent.propose(material, analysis, related, int(ctx.cfg.idea.related_in_prompt)))
    if agent.rejected:  # hypotheses that broke a rule of the problem, with the reasons (idea.md lists them)
        ctx.run.write_json("idea/rejected.json", [r.model_dump(mode="json") for r in agent.rejected])
    if not ranked:
        raise UserError(f"{ctx.llm.name} produced no hypotheses; try another llm or idea.num_hypotheses")
    gate = _gate(ctx, agent, material, analysis, related, ranked)
    if gate is None:
        log.info("idea stage: the user quit at the hypothesis gate")
        ctx.console.print("stopped at the hypothesis gate; hypotheses are in idea/hypotheses.json")
        return None
    rank, chosen = gate
    # The hypothesis the plan implements, and its rank: the execution loop tests the other ranked ones next.
    records.chosen.write(ChosenHypothesis(**chosen.model_dump(), rank=rank))
    plan = records.plan.write(agent.plan(chosen))
    ctx.run.path("idea/idea.md").write_text(
        render_idea_md(task.spec.title, paper, analysis, related, records.hypotheses.read(), chosen, plan,
                       rejected=read_rejected(ctx), rules=prompt_lines(facts.constraints),
                       notices=paper_notices(paper)),
        encoding="utf-8")
    ctx.console.print(f"plan written: {records.plan.path}", soft_wrap=True)
    return plan


__all__ = ["run_idea_stage"]
