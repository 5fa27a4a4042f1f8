"""`idea.md` and the gate's rows: the human-readable views of stage 1's records."""

from __future__ import annotations

from typing import Any

from copilot.idea.models import ExperimentPlan, Hypothesis, PaperAnalysis, RankedHypothesis


def hypothesis_row(ranked: RankedHypothesis) -> dict[str, Any]:
    """One hypothesis as the gate shows it: its fields, scores, total and marks."""
    h = ranked.hypothesis
    return {**h.model_dump(), "scores": {k: v["score"] for k, v in ranked.scores.model_dump().items()},
            "total": ranked.total, "novel": ranked.novelty.novel, "missing_packages": ranked.missing_packages,
            "reproduces_paper": ranked.reproduces_paper}


def render_idea_md(task_title: str, paper: Any, analysis: PaperAnalysis, related: list[Any],
                   ranked: list[RankedHypothesis], chosen: Hypothesis, plan: ExperimentPlan) -> str:
    """The human-readable summary of stage 1."""
    out = [f"# Ideas for: {task_title}", ""]
    if paper is not None:
        out += [f"**Paper:** {paper.title}", ""]
    out += ["## Analysis", "", "Tasks: " + "; ".join(analysis.research_tasks), "",
            "Gaps: " + "; ".join(analysis.gaps), "", "Keywords: " + ", ".join(analysis.keywords), "",
            f"## Related work ({len(related)})", ""]
    out += [f"- `{r.id}` {r.title} ({r.year or 'n.d.'}, {r.source})" for r in related[:15]]
    out += ["", "## Hypotheses (ranked)", "", "| # | title | clarity | validity | novelty | feasibility | "
            "significance | total | novel |", "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(ranked):
        s = r.scores
        novel = "yes" if r.novelty.novel else "no"
        needs = f" (needs {', '.join(r.missing_packages)}: not installed)" if r.missing_packages else ""
        needs = (" (reproduces the paper)" if r.reproduces_paper else "") + needs
        out.append(f"| {i} | {r.hypothesis.title}{needs} | {s.clarity.score} | {s.validity.score} | "
                   f"{s.novelty.score} | {s.feasibility.score} | {s.significance.score} | {r.total:.1f} | {novel} |")
    out += ["", f"## Chosen: {chosen.title}", "", f"- Problem: {chosen.problem}", f"- Method: {chosen.method}",
            f"- Supported if: {chosen.supporting_result}", f"- Refuted if: {chosen.refuting_result}", "",
            "## Plan", "", f"Metric: {plan.metric} ({plan.metric_direction}); datasets: {', '.join(plan.datasets)}; "
            f"baselines: {', '.join(plan.baselines)}; budget: {plan.compute_budget}", ""]
    out += [f"{i}. {step}" for i, step in enumerate(plan.steps, 1)]
    out += ["", f"Expected: {plan.expected_outcome}", "", "Files: " + ", ".join(plan.workspace_files), ""]
    return "\n".join(out)
