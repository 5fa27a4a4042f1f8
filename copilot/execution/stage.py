"""Stage 3 in the run directory: baseline, attempts chosen by the search policy, human feedback, verification, report.

Resume: recorded attempts and the journal are replayed and the loop goes on from the next id. The report is always
written at the end, also when the budget ended the loop or the human stopped it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from copilot.execution.assemble import build_loop
from copilot.execution.attempt import Attempt
from copilot.execution.journal import Ended
from copilot.execution.loop import ExecutionLoop, attempt_id
from copilot.execution.snapshots import clean_copy
from copilot.experiment.episode import prepare_episodes

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.execution")


def first_attempt(ctx: RunContext, loop: ExecutionLoop) -> Attempt | None:
    """Stage 2's episode as attempt a001 (implemented already, measured now); None without one, or once recorded."""
    episode = ctx.run.experiment.episode()
    if episode is None or len(loop.attempts) > 1:
        return None
    repair = episode.purpose == "repair"
    return Attempt(id=attempt_id(1), parent=attempt_id(0), kind="repair" if repair else "draft",
                   instruction=episode.instruction, command=ctx.task.spec.run,
                   hypothesis="" if repair or loop.queue.plan is None else loop.queue.plan.title,
                   agent_summary=episode.result.summary, claimed_metric=episode.result.claimed_metric)


def verify_tolerance(ctx: RunContext) -> float:
    """The relative tolerance of a re-run: the task metric's own (`metric.tolerance`), else the configured one."""
    own = ctx.task.spec.metric.tolerance
    return float(ctx.cfg.execution.verify_tolerance) if own is None else own


def reexecute(ctx: RunContext, loop: ExecutionLoop, best: Attempt) -> None:
    """Re-run the best attempt from a clean copy of the starter code plus its snapshot; compare the metric."""
    from copilot.execution.verify import Reexecution, judge_reexecution

    copy = clean_copy(ctx.task.workspace, loop.snapshot_dir(best), ctx.run.path("verify", "workspace"),
                      hidden=ctx.task.spec.hidden)
    check = Attempt(id=f"{best.id}-verify", parent=best.id, kind=best.kind, command=best.command)
    timeout = ctx.task.spec.budgets.run_timeout_s
    with ctx.progress.activity(f"re-executing {best.id} from a clean copy", total_s=timeout):
        loop.measure(check, copy)
    tolerance = verify_tolerance(ctx)
    ok, judged = judge_reexecution(ctx.task.spec.metric, best.metric, check.metric, tolerance)
    note = check.error or judged
    ctx.run.execution.reexecution.write(Reexecution(attempt_id=best.id, recorded=best.metric, reproduced=check.metric,
                                                    ok=ok, tolerance=tolerance, note=note))


def close(ctx: RunContext, loop: ExecutionLoop) -> None:
    """Verify the best attempt, check the agent's claims, write the summary and the report, ask at the end."""
    from copilot.execution.report import load_attempts, summarize, write_report
    from copilot.execution.verify import check_claims

    spec = ctx.task.spec
    attempts = load_attempts(ctx.run.root)
    best = loop.best()
    if best is not None and best.kind != "baseline":
        reexecute(ctx, loop, best)
    tolerance = float(ctx.cfg.execution.verify_tolerance)
    checks = check_claims(attempts, {a.id: a.claimed_metric for a in attempts if a.claimed_metric is not None},
                          tolerance)
    usage = ctx.llm.total_usage
    summary = summarize(attempts, spec.metric, task=ctx.task.name, llm=str(ctx.cfg.llm.name),
                        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                        cached_prompt_tokens=usage.cached_prompt_tokens, cost_usd=ctx.llm.total_cost_usd,
                        wall_time_s=ctx.budget.elapsed_s(), claim_checks=checks,
                        reexecution=ctx.run.execution.reexecution() if best is not None else None)
    idea = ctx.run.path("idea/idea.md")
    plan = ctx.run.idea.plan()
    write_report(ctx.run.root, summary, attempts, idea.read_text(encoding="utf-8") if idea.exists() else None,
                 plan.model_dump(mode="json") if plan else None)
    for observer in ctx.observers:
        observer.run_finished(ctx.run.root, summary)
    end = ctx.feedback.at_end(summary=summary.model_dump(mode="json"))
    loop.journal.append(Ended(attempts=len(attempts), comment=end.comment if end.action == "comment" else None))
    ctx.progress.line(f"report: {ctx.run.path('report.md')}")


def run_execution_stage(ctx: RunContext) -> None:
    """Run (or continue) stage 3 and write the report."""
    ctx.console.print("[bold]Stage 3[/]: baseline and attempts")
    episodes = prepare_episodes(ctx)
    loop = build_loop(ctx, episodes)
    loop.run(first=first_attempt(ctx, loop))
    close(ctx, loop)
