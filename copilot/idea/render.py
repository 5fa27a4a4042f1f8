"""`idea.md` and the gate's rows: the human-readable views of stage 1's records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copilot.idea.chain import NOT_CHECKED
from copilot.idea.models import (
    REVIEWED,
    ExperimentPlan,
    Hypothesis,
    PaperAnalysis,
    RankedHypothesis,
    RejectedHypothesis,
)


def hypothesis_row(ranked: RankedHypothesis) -> dict[str, Any]:
    """One hypothesis as the gate shows it: its fields, scores, total and marks."""
    h = ranked.hypothesis
    return {**h.model_dump(), "scores": {k: v["score"] for k, v in ranked.scores.model_dump().items()},
            "total": ranked.total, "novel": None if ranked.novelty == NOT_CHECKED else ranked.novelty.novel,
            "missing_packages": ranked.missing_packages, "reproduces_paper": ranked.reproduces_paper,
            "partial_input": ranked.partial_input}


def _marks(ranked: RankedHypothesis) -> str:
    marks = []
    if ranked.reproduces_paper:
        marks.append("reproduces the paper")
    if ranked.missing_packages:
        marks.append(f"needs {', '.join(ranked.missing_packages)}: not installed")
    if ranked.partial_input:
        marks.append("based on partial input")
    return "".join(f" ({mark})" for mark in marks)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_idea_md(task_title: str, paper: Any, analysis: PaperAnalysis, related: list[Any],
                   ranked: list[RankedHypothesis], chosen: Hypothesis, plan: ExperimentPlan,
                   rejected: Sequence[RejectedHypothesis] = (), rules: Sequence[str] = (),
                   notices: Sequence[str] = ()) -> str:
    """The human-readable summary of stage 1. `notices` (what the paper parser could not read, or that the input
    does not look like a paper) come first, where a reader cannot miss them; `rules` are the problem's hard rules
    (`Constraint.prompt_line`), `rejected` the hypotheses that broke one."""
    out = [f"# Ideas for: {task_title}", ""]
    if notices:
        out += [f"> **Notice:** {notice}" for notice in notices]
        out += ["> ", "> Stage 1 used only what it could read: the hypotheses below are based on partial input.", ""]
    if paper is not None:
        out += [f"**Paper:** {paper.title}", ""]
    if rules:
        out += ["## Rules of the problem", "", "Every hypothesis and plan step must obey these; hypotheses that break "
                "one are rejected, not ranked.", ""]
        out += [f"- {rule}" for rule in rules]
        out.append("")
    out += ["## Analysis", "", "Tasks: " + "; ".join(analysis.research_tasks), "",
            "Gaps: " + "; ".join(analysis.gaps), "", "Keywords: " + ", ".join(analysis.keywords), "",
            f"## Related work ({len(related)})", ""]
    out += [f"- `{r.id}` {r.title} ({r.year or 'n.d.'}, {r.source})" for r in related[:15]]
    out += ["", "## Hypotheses (ranked)", "", "| # | title | clarity | validity | novelty | feasibility | "
            "significance | total | novel |", "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(ranked):
        s = r.scores
        novel = "not checked" if r.novelty == NOT_CHECKED else "yes" if r.novelty.novel else "no"
        out.append(f"| {i} | {_cell(r.hypothesis.title)}{_marks(r)} | {s.clarity.score} | {s.validity.score} | "
                   f"{s.novelty.score} | {s.feasibility.score} | {s.significance.score} | {r.total:.1f} | {novel} |")
    out.append("")
    for i, r in enumerate(ranked):
        scores = f"clarity {r.scores.clarity.score} ({r.scores.clarity.justification}), " + ", ".join(
            f"{c} {getattr(r.scores, c).score} ({getattr(r.scores, c).justification})" for c in REVIEWED)
        number = f" (hypothesis {r.review_number} in the review)" if r.review_number is not None else ""
        out += [f"**{i}. {r.hypothesis.title}**{_marks(r)}", "", f"- Method: {r.hypothesis.method}",
                f"- Why: {r.hypothesis.rationale}", f"- Scores: {scores}{number}",
                f"- Novelty: {r.novelty.explanation}", ""]
    if rejected:
        out += [f"## Rejected ({len(rejected)}): they break a rule of the problem or repeat another hypothesis", ""]
        for item in rejected:
            mark = " (reproduces the paper)" if item.reproduces_paper else ""
            out.append(f"- **{item.hypothesis.title}**{mark}: {'; '.join(item.reasons)}")
        out.append("")
    out += [f"## Chosen: {chosen.title}", "", f"- Problem: {chosen.problem}", f"- Method: {chosen.method}",
            f"- Supported if: {chosen.supporting_result}", f"- Refuted if: {chosen.refuting_result}", "",
            "## Plan", "", f"Metric: {plan.metric} ({plan.metric_direction}); data: "
            f"{', '.join(plan.datasets) or '(none)'}; baselines: {', '.join(plan.baselines) or '(none)'}; "
            f"budget: {plan.compute_budget}", ""]
    out += [f"{i}. {step}" for i, step in enumerate(plan.steps, 1)]
    if plan.broken_rules:
        out += ["", "**The plan still breaks a rule of the problem** (asked once more):", ""]
        out += [f"- {reason}" for reason in plan.broken_rules]
    out += ["", f"Expected: {plan.expected_outcome}", "", "Files: " + ", ".join(plan.workspace_files), ""]
    return "\n".join(out)
