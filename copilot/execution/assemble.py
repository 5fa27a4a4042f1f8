"""`build_loop`: the run's execution loop put together from its parts (policy, queue, budget, coach, observers,
progress, the problem's rules). Stage 2 measures the baseline with it and stage 3 runs it; both import it from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hydra.utils import instantiate

from copilot.constraints import attempt_violations
from copilot.execution.journal import Candidate
from copilot.execution.loop import ExecutionLoop
from copilot.execution.policies.base import NextStep
from copilot.execution.queue import HypothesisQueue
from copilot.experiment.agent import EpisodeResult
from copilot.experiment.episode import Episodes, problem_rules
from copilot.feedback.points import load_points
from copilot.starter import starter_script

if TYPE_CHECKING:
    from copilot.context import RunContext


def build_loop(ctx: RunContext, episodes: Episodes) -> ExecutionLoop:
    """The execution loop of this run, with its policy, queue, budget, coach and observers."""

    def implement(instruction: str, step: NextStep, history: str) -> EpisodeResult:
        return episodes.run(instruction, step.candidate, history, repairing=step.kind == "repair")

    chosen = ctx.run.idea.chosen()
    plan = Candidate(title=chosen.title if chosen else episodes.plan.hypothesis_title, source="plan",
                     method=chosen.method if chosen else " ".join(episodes.plan.steps))
    queue = HypothesisQueue(ctx.run.idea.hypotheses(), chosen, plan=plan)
    rules = problem_rules(ctx)
    return ExecutionLoop(
        ctx.task, ctx.run, episodes.workspace.root, ctx.sandbox, ctx.feedback, implement=implement,
        policy=instantiate(ctx.cfg.search), queue=queue, budget=ctx.budget, coach=ctx.coach, observers=ctx.observers,
        say=ctx.console.print, expected_call_s=lambda: ctx.llm.expected_call_s("experiment."),
        llm_usage=lambda: (ctx.llm.total_usage.prompt_tokens, ctx.llm.total_usage.completion_tokens,
                           ctx.llm.total_cost_usd),
        earlier_versions=[text for text in [starter_script(ctx.task)] if text], progress=ctx.progress,
        check=lambda root: attempt_violations(ctx.task, root, rules) if rules else [],
        points=load_points(list(ctx.cfg.get("feedback_points") or [])))
