"""`run(cfg, run_root)`: validate everything, then run the selected stages into the run directory.

Each stage writes its outputs as JSON into the run directory before the next starts, and a stage whose outputs
already exist is reused rather than run again: that is all `resume` needs. Tests call `run` directly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from copilot.budget import Budget, idea_share_for
from copilot.coach.base import FiringLog
from copilot.context import RunContext
from copilot.errors import UserError
from copilot.feedback.base import jsonl_recorder
from copilot.feedback.points import load_points
from copilot.llm import build_llm
from copilot.progress import Progress
from copilot.records import RunRecords
from copilot.rundir import RunDir
from copilot.task import load_task
from copilot.tracking import RunInfo, build_observers

log = logging.getLogger("copilot")



def _instantiate(group: str, node: DictConfig, **extra: Any) -> Any:
    try:
        return instantiate(node, **extra)
    except Exception as error:  # Hydra wraps constructor errors; unwrap the user-facing ones
        cause = error.__cause__ or error
        if isinstance(cause, UserError):
            raise UserError(f"{group}: {cause}") from None
        raise


def _setup_logging(run: RunDir) -> None:
    logger = logging.getLogger("copilot")
    logger.setLevel(logging.INFO)
    for noisy in ("bm25s", "httpx", "urllib3", "arxiv"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == run.main_log for h in logger.handlers):
        run.attach_main_log(logger)


def run(cfg: DictConfig, run_root: Path) -> Path:
    """Run the configured stages of `cfg.task` into `run_root` and return the run directory."""
    from copilot.config import validate_config

    stages = validate_config(cfg)  # before any side effect: a bad key or option is one line
    load_points(list(cfg.get("feedback_points") or []))
    task = load_task(str(cfg.task), Path(cfg.paths.problems).resolve(), Path(cfg.paths.workspaces).resolve())
    if "experiment" in stages or "execution" in stages:
        from copilot.experiment.agents import choose_agent
        from copilot.starter import file_to_change

        choose_agent(cfg.agent, cfg.llm.get("agent"), task.spec.run, task.workspace,  # refuses a misfit agent now
                     file_to_change(task))
    rundir = RunRecords(run_root)
    _setup_logging(rundir)
    console = run_console()
    progress = Progress(console)
    with progress, progress.capture_logging():
        return _run(cfg, task, stages, rundir, console, progress)


def run_console(file: Any = None) -> Console:
    """The run's terminal output (stderr by default). Soft-wrapped: a line longer than the width is left for the
    terminal to wrap, never broken by rich; when stderr is not a terminal (CI, a log file, a pipe) rich's width is 80
    columns and lines such as "agent: edit (train.py has 167 lines: ...)" were cut in two."""
    return Console(file=file, stderr=file is None, soft_wrap=True)


def _run(cfg: DictConfig, task: Any, stages: list[str], rundir: RunRecords, console: Console,
         progress: Progress) -> Path:
    log.info("run %s: task=%s llm=%s stages=%s", rundir.root, task.name, cfg.llm.name, ",".join(stages))
    feedback = _instantiate("feedback", cfg.feedback, points=list(cfg.get("feedback_points") or []))
    feedback.recorder = jsonl_recorder(rundir.jsonl("env_log/feedback.jsonl"), feedback.mode)
    feedback.pause = progress.paused
    sandbox = _instantiate("sandbox", cfg.sandbox)
    sandbox.bind_task(task)  # its hidden files and masked sources hidden, what its starter links to readable
    llm = build_llm(cfg.llm, call_log=rundir.jsonl("agent_log/full_log.jsonl"), progress=progress)
    spec = task.spec.budgets
    budget = Budget(wall_clock_s=spec.wall_clock_s, tokens=spec.tokens, cost_usd=spec.cost_usd,
                    attempts=int(cfg.execution.max_attempts or spec.attempts),
                    idea_share=idea_share_for(stages, float(cfg.execution.get("idea_share", 0.25))),
                    usage=lambda: (llm.total_usage.prompt_tokens + llm.total_usage.completion_tokens,
                                   llm.total_cost_usd))
    progress.budget_left = budget.remaining_s
    coach = _instantiate("coach", cfg.coach)
    ctx = RunContext(cfg=cfg, task=task, run=rundir, llm=llm, feedback=feedback, sandbox=sandbox, console=console,
                     budget=budget, coach=coach, progress=progress, observers=build_observers(cfg))
    if hasattr(coach, "bind"):
        coach.bind(ctx, FiringLog(rundir.jsonl("coach/firings.jsonl")))
    record = {"task": task.name, "llm": cfg.llm.name, "model": llm.model, "stages": stages,
              "config": OmegaConf.to_container(cfg, resolve=True), "python": sys.version.split()[0]}
    rundir.write_json("run.json", record)
    for observer in ctx.observers:
        observer.run_started(rundir.root, RunInfo.model_validate(record))
    try:
        for stage in stages:
            progress.stage(stage)
            _run_stage(stage, ctx)
    finally:
        log.info("LLM usage: %d calls, %s, $%.4f", llm.calls, llm.total_usage.model_dump(), llm.total_cost_usd)
        rundir.close()
    progress.line(f"done: {rundir.root}", style="bold green")
    return rundir.root


def _run_stage(stage: str, ctx: RunContext) -> None:
    if stage == "idea":
        from copilot.idea.stage import run_idea_stage

        run_idea_stage(ctx)
    elif stage == "experiment":
        from copilot.experiment.stage import run_experiment_stage

        run_experiment_stage(ctx)
    elif stage == "execution":
        from copilot.execution.stage import run_execution_stage

        run_execution_stage(ctx)
