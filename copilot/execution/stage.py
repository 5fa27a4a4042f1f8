"""Stage 3 in the run directory: baseline, attempts chosen by the search policy, human feedback, verification, report.

Resume: recorded attempts are reused and the loop goes on from the next id; `execution/done.json` marks a finished
stage. The report is always written at the end, also when the budget ended the loop or the human stopped it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from copilot.execution.attempt import Attempt, AttemptKind
from copilot.execution.loop import ExecutionLoop, attempt_id
from copilot.execution.parts import PARTS_FILE, fell_short, method_parts, part_hypotheses, reproduction_hypothesis
from copilot.execution.search import NextStep, build_search, error_signature, repeats_parent_failure
from copilot.execution.snapshots import clean_copy
from copilot.experiment.stage import (
    build_agent,
    data_findings,
    gather_resources,
    load_plan,
    prepare_workspace,
    run_episode,
    starter_script,
    work_deadline,
)
from copilot.experiment.stage import task_message as render_task
from copilot.sandbox.hints import dropped_definition_hint, failure_hint

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.execution")

NEXT_HYPOTHESIS: dict[AttemptKind, str] = {
    "draft": "Starting again from the starter code, test another hypothesis from stage 1: {title}. {method} "
             "Implement it, then make sure the experiment command runs.",
    "improve": "The current code works (attempt {parent}, {metric} = {value}). On top of it, test the next "
               "hypothesis from stage 1: {title}. {method} Implement it, then make sure the experiment command still "
               "runs.",
}

INSTRUCTIONS: dict[AttemptKind, str] = {
    "draft": "Implement the plan below from the starter code, then make sure the experiment command runs.",
    "improve": "The current code works (attempt {parent}, {metric} = {value}). Make one focused change that should "
               "improve {metric} ({direction}), then make sure the experiment command still runs.",
    "debug": "Attempt {parent} failed. Fix the cause of this error, then make sure the experiment command runs:\n"
             "{error}",
    "baseline": "",
}


def history_lines(attempts: list[Attempt]) -> str:
    """One line per attempt for the agent's context: id, kind, status, measured metric, short error."""
    lines = []
    for a in attempts:
        metric = f"{a.metric:.6g}" if a.metric is not None else "-"
        error = (a.error or "").strip().splitlines()[:1]
        lines.append(f"- {a.id} ({a.kind} from {a.parent or 'start'}): {a.status}, metric {metric}"
                     + (f", {error[0][:160]}" if error else ""))
    return "\n".join(lines)


def untried_hypotheses(ctx: RunContext, attempts: list[Attempt]) -> list[dict[str, Any]]:
    """Stage 1's ranked hypotheses that no attempt has tested yet, best first. The one chosen at the gate counts as
    tried (the plan implements it, edited or not), recognised by its rank in `idea/chosen.json`, or by its title.

    Empty when stage 1 did not run (a plain research problem) or every hypothesis has had its attempt.
    """
    if not ctx.run.exists("idea/hypotheses.json"):
        return []
    ranked = [r["hypothesis"] for r in ctx.run.read_json("idea/hypotheses.json") if isinstance(r, dict)]
    chosen = ctx.run.read_json("idea/chosen.json") if ctx.run.exists("idea/chosen.json") else {"rank": 0}
    tried = {chosen.get("title")} | {a.hypothesis for a in attempts if a.hypothesis}
    return [h for rank, h in enumerate(ranked)
            if h.get("title") and h["title"] not in tried and rank != chosen.get("rank")]


def hypothesis_for(step: NextStep, attempts: list[Attempt], ctx: RunContext) -> dict[str, Any] | None:
    """The hypothesis the next attempt tests: a debug attempt keeps its parent's; a draft or an improvement takes the
    best-ranked untried one (None when none is left: the agent then chooses its own change)."""
    if step.kind == "debug":
        parent = next((a for a in attempts if a.id == step.parent), None)
        return {"title": parent.hypothesis} if parent and parent.hypothesis else None
    untried = untried_hypotheses(ctx, attempts)
    return untried[0] if untried and step.kind in NEXT_HYPOTHESIS else None


def instruction_for(step: NextStep, attempts: list[Attempt], ctx: RunContext, extra: str | None,
                    hypothesis: dict[str, Any] | None = None) -> str:
    """The instruction text of the next attempt (naming `hypothesis` when it is a new one to test)."""
    parent = next((a for a in attempts if a.id == step.parent), None)
    metric = ctx.task.spec.metric
    template = INSTRUCTIONS[step.kind]
    if hypothesis is not None and step.kind in NEXT_HYPOTHESIS and hypothesis.get("method"):
        template = NEXT_HYPOTHESIS[step.kind]
    error = ""
    if parent is not None and parent.error:
        error = parent.error[-1500:] + failure_hint(parent.error)
        if "NameError" in parent.error:
            error += dropped_definition_hint(parent.error, [starter_script(ctx)])
    text = template.format(
        title=(hypothesis or {}).get("title", "").rstrip("."), method=(hypothesis or {}).get("method", ""),
        parent=step.parent, metric=metric.name, direction=metric.direction,
        value=f"{parent.metric:.6g}" if parent and parent.metric is not None else "n/a", error=error,
    )
    return text + (f"\n\nThe human asks: {extra}" if extra else "")


def parts_to_test(ctx: RunContext, attempts: list[Attempt]) -> list[dict[str, Any]]:
    """The untried parts of the paper's method, as hypotheses, once the reproduction fell short of the baseline
    (`copilot/execution/parts.py`); [] before that, after it succeeded, or with `execution.reproduce_in_parts` off."""
    if not ctx.cfg.execution.get("reproduce_in_parts", True):
        return []
    reproduction = reproduction_hypothesis(ctx)
    if reproduction is None or not fell_short(attempts, reproduction.get("title", ""), ctx.task.spec.metric):
        return []
    parts = part_hypotheses(method_parts(ctx, reproduction), reproduction.get("title", ""))
    tried = {a.hypothesis for a in attempts if a.hypothesis}
    return [part for part in parts if part["title"] not in tried]


def _reexecute(ctx: RunContext, loop: ExecutionLoop, best: Attempt) -> dict[str, Any]:
    """Re-run the best attempt from a clean copy of the starter code plus its snapshot; compare the metric."""
    from copilot.execution.verify import Reexecution, compare_reproduction

    copy = clean_copy(ctx.task.workspace, loop.snapshot_dir(best), ctx.run.path("verify", "workspace"),
                      hidden=ctx.task.spec.hidden)
    check = Attempt(id=f"{best.id}-verify", parent=best.id, kind=best.kind, command=best.command)
    loop.measure(check, copy)
    tolerance = float(ctx.cfg.execution.verify_tolerance)
    reproduced = check.metric
    ok = reproduced is not None and compare_reproduction(best.metric, reproduced, tolerance)
    note = check.error or ("reproduced" if ok else "the metric differs beyond the tolerance")
    record = Reexecution(attempt_id=best.id, recorded=best.metric, reproduced=reproduced, ok=ok, tolerance=tolerance,
                         note=note)
    ctx.run.write_json("verify/reexecution.json", record)
    return record.model_dump(mode="json")


def run_execution_stage(ctx: RunContext) -> None:
    """Run (or continue) stage 3 and write the report."""
    from copilot.execution.report import load_attempts, summarize, write_report
    from copilot.execution.verify import Reexecution, check_claims

    spec = ctx.task.spec
    ctx.console.print("[bold]Stage 3[/]: baseline and attempts")
    plan = load_plan(ctx)
    workspace = prepare_workspace(ctx)
    loop = ExecutionLoop(ctx.task, ctx.run, workspace.root, ctx.sandbox, ctx.feedback,
                         llm_usage=lambda: (ctx.llm.total_usage.prompt_tokens, ctx.llm.total_usage.completion_tokens,
                                            ctx.llm.total_cost_usd))
    resources = gather_resources(ctx)  # before the baseline: starter code may load a model by its hub id
    loop.run_baseline()
    findings = data_findings(ctx, workspace)
    episodes = [0]
    testing: dict[str, Any] = {}  # the hypothesis of the attempt being implemented, when it is not the plan's

    def implement(instruction: str, kind: AttemptKind, parent: Attempt | None) -> tuple[str, float | None]:
        agent = build_agent(ctx, workspace, step_offset=_steps_so_far(ctx))
        message = render_task(ctx, agent, plan, instruction, resources, findings, history_lines(loop.attempts),
                              testing=testing or None)
        result = run_episode(agent, message, instruction)
        episodes[0] += 1
        return f"{result.status} after {result.steps} steps. {result.summary}".strip(), result.claimed_metric

    if ctx.run.exists("experiment/episode.json") and len(loop.attempts) == 1:
        episode = ctx.run.read_json("experiment/episode.json")
        chosen = ctx.run.read_json("idea/chosen.json") if ctx.run.exists("idea/chosen.json") else {}
        first = Attempt(id=attempt_id(1), parent=loop.attempts[0].id, kind="draft", instruction=episode["instruction"],
                        hypothesis=chosen.get("title", plan.hypothesis_title), command=spec.run,
                        agent_summary=episode["result"].get("summary", ""),
                        claimed_metric=episode["result"].get("claimed_metric"))
        loop.execute_current(first)
        _after(ctx, loop, first)
    search = build_search(str(ctx.cfg.search.policy), max_debug_rounds=int(ctx.cfg.execution.max_debug_rounds),
                          **{k: int(v) for k, v in ctx.cfg.search.items() if k != "policy"})
    max_attempts = int(ctx.cfg.execution.max_attempts or spec.budgets.attempts)
    extra: str | None = None
    stopped = ctx.run.exists("execution/stopped.json")
    while not stopped and len(loop.attempts) - 1 < max_attempts and time.monotonic() < work_deadline(ctx):
        if time.monotonic() + ctx.llm.expected_call_s() >= work_deadline(ctx):
            log.info("execution: no time left for another model call before the wall-clock deadline")
            break
        step = search.next_step(loop.attempts, spec.metric)
        latest = loop.attempts[-1]
        parts = parts_to_test(ctx, loop.attempts)
        if parts and step.kind == "debug" and latest.hypothesis == (reproduction_hypothesis(ctx) or {}).get("title"):
            best_so_far = loop.best()
            step = NextStep("improve", best_so_far.id if best_so_far else None)  # its parts are the smaller fixes
        if step.kind != "debug" and repeats_parent_failure(latest, {a.id: a for a in loop.attempts}):
            ctx.console.print(f"{latest.id} failed with the error it was fixing "
                              f"({error_signature(latest.error)[:120]}): no more fixes, moving on")
        rollback = ctx.run.read_json("execution/rollback.json") if ctx.run.exists("execution/rollback.json") else None
        if rollback and rollback.get("pending"):
            step = NextStep("improve", rollback["attempt_id"])
            ctx.run.write_json("execution/rollback.json", {**rollback, "pending": False})
        try:
            hypothesis = parts[0] if parts and step.kind in NEXT_HYPOTHESIS else hypothesis_for(step, loop.attempts,
                                                                                                 ctx)
            testing.clear()
            testing.update(_full_hypothesis(ctx, hypothesis))
            attempt = loop.run_attempt(step, instruction_for(step, loop.attempts, ctx, extra, hypothesis), implement,
                                       hypothesis=hypothesis["title"] if hypothesis else "")
        except KeyboardInterrupt:
            ctx.console.print("[yellow]interrupted[/]: the current attempt is discarded; press Ctrl-C again to exit")
            attempt = None
            best_so_far = loop.best()
            decision = ctx.feedback.after_execution(
                attempt_id="(interrupted)", status="interrupted", metric=None, baseline=loop.attempts[0].metric,
                best=best_so_far.metric if best_so_far else None, stdout_tail="", stderr_tail="",
                attempt_ids=[a.id for a in loop.attempts])
            stopped, extra = _apply_after(ctx, decision)
            continue
        stopped, extra = _after(ctx, loop, attempt)
    if len(loop.attempts) - 1 >= max_attempts:
        log.info("execution: attempt budget (%d) reached", max_attempts)
    elif time.monotonic() + ctx.llm.expected_call_s() >= work_deadline(ctx):
        log.info("execution: wall-clock budget reached")
    attempts = load_attempts(ctx.run.root)
    best = loop.best()
    reexecution = _reexecute(ctx, loop, best) if best is not None and best.kind != "baseline" else None
    claims = {a.id: a.claimed_metric for a in attempts if a.claimed_metric is not None}
    checks = check_claims(attempts, claims, float(ctx.cfg.execution.verify_tolerance))
    summary = summarize(attempts, spec.metric, task=ctx.task.name, llm=str(ctx.cfg.llm.name),
                        prompt_tokens=ctx.llm.total_usage.prompt_tokens,
                        completion_tokens=ctx.llm.total_usage.completion_tokens,
                        cached_prompt_tokens=ctx.llm.total_usage.cached_prompt_tokens,
                        cost_usd=ctx.llm.total_cost_usd, wall_time_s=time.monotonic() - ctx.started,
                        claim_checks=checks,
                        reexecution=Reexecution.model_validate(reexecution) if reexecution else None)
    idea_md = ctx.run.path("idea/idea.md").read_text(encoding="utf-8") if ctx.run.exists("idea/idea.md") else None
    write_report(ctx.run.root, summary, attempts, idea_md, plan.model_dump(mode="json"))
    end = ctx.feedback.at_end(summary=summary.model_dump(mode="json"))
    if getattr(end, "comment", None):
        ctx.run.write_json("execution/end_comment.json", {"comment": end.comment})
    ctx.run.write_json("execution/done.json", {"attempts": len(attempts), "episodes_this_session": episodes[0]})
    ctx.console.print(f"report: {ctx.run.path('report.md')}")


def _full_hypothesis(ctx: RunContext, hypothesis: dict[str, Any] | None) -> dict[str, Any]:
    """The stage-1 hypothesis, or part of the paper's method, named by `hypothesis` (a debug attempt only carries the
    title), or {} for the plan's own hypothesis or none."""
    if not hypothesis or not ctx.run.exists("idea/hypotheses.json"):
        return {}
    chosen = ctx.run.read_json("idea/chosen.json") if ctx.run.exists("idea/chosen.json") else {}
    if hypothesis.get("title") == chosen.get("title"):
        return {}
    ranked = [r["hypothesis"] for r in ctx.run.read_json("idea/hypotheses.json") if isinstance(r, dict)]
    if ctx.run.exists(PARTS_FILE):
        record = ctx.run.read_json(PARTS_FILE)
        ranked += part_hypotheses(record.get("parts", []), record.get("hypothesis", ""))
    return next((h for h in ranked if h.get("title") == hypothesis.get("title")), {})


def _steps_so_far(ctx: RunContext) -> int:
    path = ctx.run.trace
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def _after(ctx: RunContext, loop: ExecutionLoop, attempt: Attempt | None) -> tuple[bool, str | None]:
    if attempt is None:
        return False, None
    best = loop.best()
    decision = ctx.feedback.after_execution(
        attempt_id=attempt.id, status=attempt.status, metric=attempt.metric, baseline=loop.attempts[0].metric,
        best=best.metric if best else None,
        stdout_tail=attempt.run.stdout_tail if attempt.run else "",
        stderr_tail=attempt.run.stderr_tail if attempt.run else "",
        attempt_ids=[a.id for a in loop.attempts])
    return _apply_after(ctx, decision)


def _apply_after(ctx: RunContext, decision: Any) -> tuple[bool, str | None]:
    """Turn an after-execution decision into loop state (persisted, so resume honours it)."""
    log.info("feedback after execution: %s", decision)
    if decision.action == "stop":
        ctx.run.write_json("execution/stopped.json", {"by": "human"})
        return True, None
    if decision.action == "rollback" and decision.attempt_id:
        ctx.run.write_json("execution/rollback.json", {"attempt_id": decision.attempt_id, "pending": True})
    if decision.action == "instruct":
        return False, decision.instruction
    return False, None
