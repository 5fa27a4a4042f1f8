"""Stage 2 in the run directory: workspace copy, resources, data analysis, the baseline, then the first episode.

The starter code is run first (the baseline, attempt a000, which stage 3 reuses), as a researcher would: when it
runs, the episode implements the plan; when it does not, the episode makes it run with the smallest change (the error
is the instruction), and stage 3 implements the plan on top of the repaired code. Outputs: `workspace/` (the working
copy; `workspaces/<task>` is never edited), `experiment/resources.json`, `experiment/data_analysis.json`,
`experiment/episode.json`. Each is reused when present, so a resumed run goes on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from copilot.execution.policies.base import NextStep
from copilot.experiment.agent import EpisodeResult
from copilot.experiment.episode import prepare_episodes

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.experiment")

IMPLEMENT = "Implement the plan above in the workspace, then make sure the experiment command runs."


def run_experiment_stage(ctx: RunContext) -> EpisodeResult:
    """Run (or reuse) stage 2 and return how the implementation episode ended."""
    from copilot.execution.assemble import build_loop
    from copilot.execution.instructions import instruction_for
    from copilot.records import EpisodeRecord

    recorded = ctx.run.experiment.episode()
    if recorded is not None:
        log.info("experiment stage: reusing %s", ctx.run.experiment.episode.path)
        return recorded.result
    ctx.console.print("[bold]Stage 2[/]: preparing the workspace")
    episodes = prepare_episodes(ctx)
    loop = build_loop(ctx, episodes)
    baseline = loop.run_baseline()
    if baseline.status == "ok":
        purpose, instruction = "implement", IMPLEMENT
        ctx.console.print(f"baseline: {ctx.task.spec.metric.name} = {baseline.metric:.6g}; implementing the plan")
    else:
        purpose = "repair"
        instruction = instruction_for(NextStep("repair", baseline.id), loop.attempts, ctx.task.spec, ctx.coach,
                                      loop.earlier_versions)
        ctx.console.print("the starter code does not run: making it run first, with the smallest change")
    started = time.monotonic()
    ctx.coach.begin_attempt("a001")
    result = episodes.run(instruction)
    ctx.run.experiment.episode.write(EpisodeRecord(instruction=instruction, purpose=purpose, result=result,
                                                   duration_s=round(time.monotonic() - started, 2)))
    ctx.console.print(f"implementation episode ended: {result.status} after {result.steps} steps")
    return result
