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

from copilot.context import RunContext
from copilot.errors import UserError
from copilot.feedback.base import jsonl_recorder
from copilot.llm import build_llm
from copilot.rundir import RunDir
from copilot.task import load_task

log = logging.getLogger("copilot")

STAGES = ("idea", "experiment", "execution")


def _validate_stages(cfg: DictConfig) -> list[str]:
    stages = list(cfg.stages) if not isinstance(cfg.stages, str) else [cfg.stages]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise UserError(f"stages={stages}: unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    return [s for s in STAGES if s in stages]


def _instantiate(group: str, node: DictConfig) -> Any:
    try:
        return instantiate(node)
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
    stages = _validate_stages(cfg)
    if "experiment" in stages or "execution" in stages:
        from copilot.experiment.stage import agent_strategy

        agent_strategy(cfg)  # an unknown strategy is refused before anything starts
    task = load_task(str(cfg.task), Path(cfg.paths.problems).resolve(), Path(cfg.paths.workspaces).resolve())
    rundir = RunDir(run_root)
    _setup_logging(rundir)
    console = Console(stderr=True)
    log.info("run %s: task=%s llm=%s stages=%s", rundir.root, task.name, cfg.llm.name, ",".join(stages))
    feedback = _instantiate("feedback", cfg.feedback)
    feedback.recorder = jsonl_recorder(rundir.jsonl("env_log/feedback.jsonl"), feedback.mode)
    sandbox = _instantiate("sandbox", cfg.sandbox)
    hide = getattr(sandbox, "hide", None)  # the local sandbox; docker mounts only the workspace, so nothing to hide
    if callable(hide) and task.spec.hidden:
        hide([task.workspace / rel for rel in task.spec.hidden])
    llm = build_llm(cfg.llm, call_log=rundir.jsonl("agent_log/full_log.jsonl"))
    ctx = RunContext(cfg=cfg, task=task, run=rundir, llm=llm, feedback=feedback, sandbox=sandbox, console=console)
    rundir.write_json("run.json", {
        "task": task.name,
        "llm": cfg.llm.name,
        "model": llm.model,
        "stages": stages,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "python": sys.version.split()[0],
    })
    try:
        for stage in stages:
            _run_stage(stage, ctx)
    finally:
        log.info("LLM usage: %d calls, %s, $%.4f", llm.calls, llm.total_usage.model_dump(), llm.total_cost_usd)
        rundir.close()
    console.print(f"[bold green]done[/]: {rundir.root}")
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
