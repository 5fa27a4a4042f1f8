"""The run's summary, report and plot, derived only from attempt records (never from LLM text)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from copilot.execution.attempt import Attempt
from copilot.execution.policies.base import best_attempt
from copilot.execution.verify import ClaimCheck, Reexecution
from copilot.rundir import write_json_atomic
from copilot.task import MetricSpec

SUCCESS_THRESHOLD = 0.10  # MLAgentBench: at least 10% relative improvement over the baseline


class RunSummary(BaseModel):
    """The numbers of a run, as written to `summary.json`."""

    task: str
    llm: str
    metric: str
    direction: str
    baseline: float | None
    baseline_attempt: str | None = Field(None, description="a000, or the repair that made a failing starter run")
    baseline_repaired: bool = Field(False, description="the starter code did not run; the baseline is its repair")
    best: float | None
    best_attempt: str | None
    improvement_abs: float | None
    improvement_rel: float | None
    success: bool
    attempts: dict[str, int]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost_usd: float = 0.0
    cached_share: float | None = Field(None, description="share of prompt tokens served from the model's KV cache")
    wall_time_s: float = 0.0
    claim_checks: list[ClaimCheck] = Field(default_factory=list)
    reexecution: Reexecution | None = None


def summarize(attempts: list[Attempt], metric: MetricSpec, *, task: str, llm: str, prompt_tokens: int = 0,
              completion_tokens: int = 0, cached_prompt_tokens: int = 0, cost_usd: float = 0.0,
              wall_time_s: float = 0.0, claim_checks: list[ClaimCheck] | None = None,
              reexecution: Reexecution | None = None) -> RunSummary:
    """Baseline, best, improvement (signed so that positive is better) and success. When the starter code did not
    run, the baseline is the first repair that made it run (the smallest change; later attempts build on it). A best
    attempt whose clean re-execution did not reproduce its number is no success, whatever it measured once."""
    baseline_attempt = next((a for a in attempts if a.kind == "baseline"), None)
    repaired = baseline_attempt is not None and baseline_attempt.metric is None
    if repaired:
        baseline_attempt = next((a for a in attempts if a.kind == "repair" and a.metric is not None), None)
    baseline = baseline_attempt.metric if baseline_attempt else None
    best = best_attempt(attempts, metric)
    improvement_abs = improvement_rel = None
    if baseline is not None and best is not None and best.metric is not None:
        sign = 1 if metric.direction == "maximize" else -1
        improvement_abs = sign * (best.metric - baseline) + 0.0  # + 0.0: no "-0" when minimising without a change
        improvement_rel = improvement_abs / abs(baseline) if baseline != 0 else None
    return RunSummary(
        task=task, llm=llm, metric=metric.name, direction=metric.direction, baseline=baseline,
        baseline_attempt=baseline_attempt.id if baseline_attempt else None,
        baseline_repaired=repaired and baseline_attempt is not None,
        best=best.metric if best else None, best_attempt=best.id if best else None,
        improvement_abs=improvement_abs, improvement_rel=improvement_rel,
        success=(improvement_rel is not None and improvement_rel >= SUCCESS_THRESHOLD
                 and (reexecution is None or reexecution.ok)),
        attempts=dict(Counter(a.status for a in attempts)), prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens, cached_prompt_tokens=cached_prompt_tokens, cost_usd=cost_usd,
        cached_share=round(cached_prompt_tokens / prompt_tokens, 4) if prompt_tokens else None,
        wall_time_s=round(wall_time_s, 2), claim_checks=claim_checks or [], reexecution=reexecution,
    )


def load_attempts(run_root: Path) -> list[Attempt]:
    """Every finished attempt of a run, in id order."""
    folder = run_root / "attempts"
    records = sorted(folder.glob("*/attempt.json")) if folder.is_dir() else []
    return [Attempt.model_validate_json(p.read_text(encoding="utf-8")) for p in records]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def plot_metric(path: Path, attempts: list[Attempt], metric: MetricSpec, baseline: float | None) -> None:
    """metric.png: the metric per attempt in order, failures marked, the baseline as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = list(range(len(attempts)))
    measured = [(x, a.metric) for x, a in zip(xs, attempts, strict=True) if a.metric is not None]
    failed = [x for x, a in zip(xs, attempts, strict=True) if a.metric is None]
    if measured:
        ax.plot([x for x, _ in measured], [v for _, v in measured], "o-", label=metric.name)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label="baseline")
    for x in failed:
        ax.axvline(x, color="red", alpha=0.3)
    if failed:
        ax.plot([], [], color="red", alpha=0.3, label="failed / invalid")
    if not measured:
        ax.text(0.5, 0.5, "no attempt produced a metric", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks(xs, [a.id for a in attempts], rotation=45)
    ax.set_ylabel(f"{metric.name} ({metric.direction})")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _verdict(summary: RunSummary) -> str:
    """Success or not by the >= 10% criterion, and why not when the number was not reproduced."""
    if summary.success:
        return "success by the >= 10% criterion"
    if (summary.improvement_rel is not None and summary.improvement_rel >= SUCCESS_THRESHOLD
            and summary.reexecution is not None and not summary.reexecution.ok):
        return ("not a success: >= 10% once, but the clean re-execution of the best attempt did not reproduce it; "
                "see Verification")
    return "not a success by the >= 10% criterion"


def render_report(
    summary: RunSummary, attempts: list[Attempt], idea_md: str | None, plan: dict[str, Any] | None
) -> str:
    """report.md text: every number comes from `summary` and `attempts`."""
    out = [f"# Report: {summary.task}", "",
           f"LLM: `{summary.llm}` · metric: **{summary.metric}** ({summary.direction}) · "
           f"tokens: {summary.prompt_tokens:,} prompt ({summary.cached_prompt_tokens:,} cached), "
           f"{summary.completion_tokens:,} completion · cost ${summary.cost_usd:.4f} · "
           f"wall time {summary.wall_time_s:.0f} s", ""]
    if plan:
        out += ["## Plan", "", f"Hypothesis: {plan.get('hypothesis_title', '')}", ""]
        out += [f"{i}. {step}" for i, step in enumerate(plan.get("steps", []), 1)] + [""]
    out += ["## Result", "",
            (f"- Baseline (the starter code did not run; attempt {summary.baseline_attempt} repaired it with the "
             f"smallest change, and later attempts are compared with that): **{_fmt(summary.baseline)}**"
             if summary.baseline_repaired else f"- Baseline (unmodified starter code): **{_fmt(summary.baseline)}**"),
            f"- Best: **{_fmt(summary.best)}** (attempt {summary.best_attempt or '-'})",
            f"- Improvement: {_fmt(summary.improvement_abs)} absolute, "
            f"{'-' if summary.improvement_rel is None else f'{100 * summary.improvement_rel:.1f}%'} relative "
            f"({_verdict(summary)})", "",
            "## Attempts", "", "| id | parent | kind | hypothesis | status | metric | duration (s) | note |",
            "|---|---|---|---|---|---|---|---|"]
    for a in attempts:
        note = (a.error or a.agent_summary or "").strip().splitlines()
        cell = note[0][:100].replace("|", "/") if note else ""
        hypothesis = a.hypothesis[:60].replace("|", "/") or "-"
        out.append(f"| {a.id} | {a.parent or '-'} | {a.kind} | {hypothesis} | {a.status} | {_fmt(a.metric)} | "
                   f"{a.duration_s:.1f} | {cell} |")
    out += ["", "## Verification", ""]
    flags = []
    if summary.reexecution:
        r = summary.reexecution
        out.append(f"- Re-execution of {r.attempt_id} from a clean copy: recorded {_fmt(r.recorded)}, reproduced "
                   f"{_fmt(r.reproduced)} (tolerance {r.tolerance:g}): {'OK' if r.ok else 'MISMATCH'} — {r.note}")
        if not r.ok:
            flags.append(f"the best attempt {r.attempt_id} did not reproduce")
    else:
        measured = [a for a in attempts if a.kind != "baseline" and a.metric is not None]
        out.append("- No attempt beyond the baseline was measured, so nothing was re-executed." if not measured else
                   f"- {len(measured)} attempt(s) measured, none better than the baseline (the starter code, which "
                   "is the reference and is not re-executed).")
    if summary.claim_checks:
        out += ["", "| attempt | claimed by the agent | measured | check |", "|---|---|---|---|"]
        for c in summary.claim_checks:
            out.append(f"| {c.attempt_id} | {c.claimed:.6g} | {_fmt(c.recorded)} | {'OK' if c.ok else c.note} |")
            if not c.ok:
                flags.append(f"the agent claimed {c.claimed:.6g} for {c.attempt_id}: {c.note}")
    else:
        out.append("- The agent claimed no metric.")
    out += [""] + [f"**FLAG:** {flag}" for flag in flags]
    best = next((a for a in attempts if a.id == summary.best_attempt), None)
    if best is not None and best.code_diff:
        diff = best.code_diff if len(best.code_diff) < 8000 else best.code_diff[:8000] + "\n[... diff cut ...]\n"
        out += ["", f"## Code of the best attempt ({best.id})", "", "```diff", diff.rstrip(), "```"]
    if idea_md:
        out += ["", "---", "", idea_md]
    return "\n".join(out) + "\n"


def write_report(run_root: Path, summary: RunSummary, attempts: list[Attempt], idea_md: str | None,
                 plan: dict[str, Any] | None) -> None:
    """summary.json, report.md and metric.png in the run directory."""
    write_json_atomic(run_root / "summary.json", summary)
    (run_root / "report.md").write_text(render_report(summary, attempts, idea_md, plan), encoding="utf-8")
    plot_metric(run_root / "metric.png", attempts, MetricSpec(name=summary.metric, direction=summary.direction),
                summary.baseline)
