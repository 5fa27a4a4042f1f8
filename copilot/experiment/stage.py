"""Stage 2 in the run directory: workspace copy, resources, data analysis, then the first implementation of the plan.

Outputs: `workspace/` (the working copy; `workspaces/<task>` is never edited), `experiment/resources.json`,
`experiment/data_analysis.json`, `experiment/episode.json`. Each is reused when present, so a resumed run goes on.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.errors import UserError
from copilot.experiment.agent import AgentConfig, EpisodeResult, ExperimentAgent
from copilot.experiment.analyst import DataFindings, analyse_data
from copilot.experiment.rewrite import RewriteAgent, script_for_command
from copilot.idea.models import ExperimentPlan
from copilot.sandbox.packages import available_packages
from copilot.starter import describe_workspace

if TYPE_CHECKING:
    from copilot.context import RunContext

log = logging.getLogger("copilot.experiment")

CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co")


def load_plan(ctx: RunContext) -> ExperimentPlan:
    """Stage 1's plan, or a plan made from the task alone when stage 1 did not run (plain research problem)."""
    if ctx.run.exists("idea/plan.json"):
        return ExperimentPlan.model_validate(ctx.run.read_json("idea/plan.json"))
    spec = ctx.task.spec
    return ExperimentPlan(
        hypothesis_title=spec.title, datasets=spec.datasets, baselines=["the starter code"], metric=spec.metric.name,
        metric_direction=spec.metric.direction,
        steps=[ctx.task.problem_text or f"Improve {spec.metric.name} of the starter code."],
        expected_outcome=f"a better {spec.metric.name} than the starter code", compute_budget="minutes on a CPU",
        workspace_files=[],
    )


def prepare_workspace(ctx: RunContext) -> Any:
    """The run's working copy of the starter code (created once)."""
    from copilot.experiment.workspace import Workspace

    root = ctx.run.path("workspace")
    traces = ctx.run.path("env_log", "traces")
    if root.is_dir():
        return Workspace.open(root, ctx.task.spec.read_only, traces, hidden=ctx.task.spec.hidden)
    return Workspace.create(ctx.task.workspace, root, ctx.task.spec.read_only, traces, hidden=ctx.task.spec.hidden)


def resource_manager(ctx: RunContext, dest: Path) -> Any:
    """A `ResourceManager` for `dest` configured by the `resources` group of the config."""
    from copilot.experiment.resources import ResourceManager

    conf = ctx.cfg.get("resources") or {}  # runs started before the group existed resume with the defaults
    cache = conf.get("hf_cache_dir")
    return ResourceManager(dest, local_model_dirs=[Path(p).expanduser() for p in conf.get("model_dirs") or []],
                           hf_cache_dir=Path(cache).expanduser() if cache else None,
                           hub_endpoint=conf.get("hub_endpoint"), max_model_mb=int(conf.get("max_model_mb", 2000)))


def gather_resources(ctx: RunContext) -> list[str]:
    """Clone prototype code, resolve models and datasets; returns one line per resource for the agent's context.
    Models with a hub id become loadable by that id in the sandbox, offline (`copilot/experiment/hub_links.py`)."""
    from copilot.experiment.hub_links import link_models
    from copilot.experiment.resources import describe_resource

    if ctx.run.exists("experiment/resources.json"):
        records = ctx.run.read_json("experiment/resources.json")
    else:
        manager = resource_manager(ctx, ctx.run.path("workspace"))
        spec = ctx.task.spec
        repos = list(spec.repositories)
        if ctx.run.exists("idea/paper.json"):
            links = ctx.run.read_json("idea/paper.json").get("links", [])
            repos += [url for url in links if "github.com" in url or "gitlab.com" in url]
        for repo in dict.fromkeys(repos):
            manager.clone_repo(repo)
        for model in spec.models:
            if manager.find_model(model) is None:
                log.warning("model %s: not found locally and the hub is unreachable", model)
        for dataset in spec.datasets:
            manager.get_dataset(dataset)
        manager.save(ctx.run.path("experiment/resources.json"))
        records = ctx.run.read_json("experiment/resources.json")
    items = records.get("resources", records) if isinstance(records, dict) else records
    if getattr(ctx.sandbox, "sees_host_files", False):  # docker sees only the workspace: no links to follow there
        ctx.sandbox.extra_env.update(link_models(items, ctx.run.path("experiment", "hub_cache")))
    return [describe_resource(r) for r in items]


STRATEGIES = ("tools", "rewrite")


def agent_strategy(cfg: Any) -> str:
    """`experiment.strategy`, else the LLM preset's `strategy`, else `tools` (see copilot/experiment/rewrite.py)."""
    strategy = str(cfg.experiment.get("strategy") or cfg.llm.get("strategy") or "tools")
    if strategy not in STRATEGIES:
        raise UserError(f"experiment.strategy={strategy}: unknown strategy; choose from {', '.join(STRATEGIES)}")
    return strategy


def starter_script(ctx: RunContext) -> str:
    """The text of the starter's experiment script (the Python file the run command runs), or "" when the command
    runs none. It is a working version the hints can point back to (`dropped_definition_hint`)."""
    script = script_for_command(ctx.task.spec.run, ctx.task.workspace)
    if script is None or script in ctx.task.spec.hidden:
        return ""
    return (ctx.task.workspace / script).read_text(encoding="utf-8", errors="replace")


CLOSING_S = 10.0  # the report, the plot and the summary after the last attempt


def work_deadline(ctx: RunContext) -> float:
    """The monotonic time by which implementation work must end so that the whole run ends within the task's
    `budgets.wall_clock_s`: the budget less what the run still does after the last episode (measuring that attempt
    and re-executing the best one from a clean copy: twice the longest attempt measured so far, plus `CLOSING_S`).
    A forecast run that stopped its last model call just in time still ended at 906 s of 900 without this."""
    longest = 0.0
    root = ctx.run.path("attempts")
    for record in root.glob("*/attempt.json") if root.is_dir() else []:
        try:
            longest = max(longest, float(json.loads(record.read_text(encoding="utf-8")).get("duration_s") or 0.0))
        except (OSError, ValueError):
            continue
    return ctx.started + ctx.task.spec.budgets.wall_clock_s - 2 * longest - CLOSING_S


def build_agent(ctx: RunContext, workspace: Any, step_offset: int = 0) -> ExperimentAgent | RewriteAgent:
    """An implementation agent over `workspace` with the run's budgets: the tool agent, or the whole-file agent when
    the strategy is `rewrite` and the run command runs one writable Python script of the workspace."""
    from copilot.experiment.tools import ToolBox

    spec = ctx.task.spec
    cfg = ctx.cfg.experiment
    toolbox = ToolBox(workspace, sandbox=ctx.sandbox, llm=ctx.llm, resources=resource_manager(ctx, workspace.root),
                      observation_max_chars=int(cfg.observation_max_chars),
                      run_timeout_s=spec.budgets.run_timeout_s)
    context = getattr(ctx.llm.backend, "n_ctx", None) or int(cfg.get("context_tokens") or 100_000)
    config = AgentConfig(
        max_steps=int(cfg.max_steps or spec.budgets.steps),
        max_tokens=spec.budgets.tokens,
        max_cost_usd=spec.budgets.cost_usd,
        deadline=work_deadline(ctx),
        context_tokens=context,
        compact_at=float(cfg.compact_at),
        refuse_unchanged_final=int(cfg.get("refuse_unchanged_final", 0)),
    )
    trace = ctx.run.jsonl("env_log/trace.jsonl")
    if agent_strategy(ctx.cfg) == "rewrite":
        script = script_for_command(spec.run, Path(workspace.root))
        if script is not None and not workspace.is_read_only(script):
            return RewriteAgent(ctx.llm, toolbox, config, script=script, run_command=spec.run, trace=trace,
                                step_offset=step_offset, max_rounds=int(cfg.get("rewrite_rounds") or 3),
                                earlier_versions=[starter_script(ctx)],
                                repair=bool(cfg.get("restore_dropped_lines", True)))
        log.warning("strategy=rewrite needs a run command that runs one writable Python script of the workspace; "
                    "`%s` does not, so the tool agent implements this episode", spec.run)
    return ExperimentAgent(ctx.llm, toolbox, config, trace=trace, step_offset=step_offset)


def paper_method(ctx: RunContext) -> str:
    """The method section(s) of the paper stage 1 read (`idea/paper.json`), verbatim; "" without a paper."""
    from copilot.paper.model import Paper

    if not ctx.run.exists("idea/paper.json"):
        return ""
    return Paper.model_validate(ctx.run.read_json("idea/paper.json")).method_text()


def chosen_method(ctx: RunContext, plan: ExperimentPlan) -> str:
    """The method of the hypothesis chosen at the gate (`idea/chosen.json`), which the plan implements; "" when there
    is none or it is not the plan's (a plan written by hand names its own hypothesis). The plan's title alone can be
    cut short: the embedded model titled the forecast reproduction "... sin and cos of 2 pi" and implemented the title,
    while the method named the log target and the yearly harmonics."""
    if not ctx.run.exists("idea/chosen.json"):
        return ""
    chosen = ctx.run.read_json("idea/chosen.json")
    if not isinstance(chosen, dict) or chosen.get("title") != plan.hypothesis_title:
        return ""
    return str(chosen.get("method") or "").strip()


def task_message(ctx: RunContext, agent: ExperimentAgent | RewriteAgent, plan: ExperimentPlan, instruction: str,
                 resources: list[str], findings: str, history: str = "",
                 testing: dict[str, Any] | None = None) -> str:
    """The fixed task block at the top of an episode's conversation. `testing`: a stage-1 hypothesis other than the
    plan's, which this episode tests; it replaces the plan, whose steps were written for the first hypothesis."""
    spec = ctx.task.spec
    return agent.render(
        "task.j2", title=spec.title, instruction=instruction, plan=plan, metric=spec.metric.name,
        direction=spec.metric.direction, evaluate=spec.evaluate, run=spec.run, timeout=int(spec.budgets.run_timeout_s),
        workspace=describe_workspace(Path(agent.toolbox.workspace.root), spec.run,
                                     script_lines=0 if isinstance(agent, RewriteAgent) else 40,  # it shows the file
                                     packages=available_packages(ctx.sandbox, ctx.run)),
        read_only=spec.read_only, resources=resources, findings=findings, history=history, hidden=spec.hidden,
        testing=testing if testing and testing.get("method") else None, paper_method=paper_method(ctx),
        plan_method=chosen_method(ctx, plan),
    )


def run_episode(agent: ExperimentAgent | RewriteAgent, message: str, instruction: str) -> EpisodeResult:
    """One implementation episode; the whole-file agent also gets the instruction to restate after the file."""
    return agent.run(message, instruction) if isinstance(agent, RewriteAgent) else agent.run(message)


def data_findings(ctx: RunContext, workspace: Any) -> str:
    """The data-analysis findings (run once, then read from `experiment/data_analysis.json`)."""
    if ctx.run.exists("experiment/data_analysis.json"):
        return ctx.run.read_json("experiment/data_analysis.json")["findings"]
    if not ctx.cfg.experiment.analyse_data:
        return ""
    findings: DataFindings = analyse_data(
        ctx.llm, ctx.sandbox, Path(workspace.root), describe_workspace(Path(workspace.root), ctx.task.spec.run),
        ctx.run.path("experiment", "profile_data.py"), timeout_s=ctx.task.spec.budgets.run_timeout_s,
    )
    ctx.run.write_json("experiment/data_analysis.json", findings)
    return findings.findings


def run_experiment_stage(ctx: RunContext) -> EpisodeResult:
    """Run (or reuse) stage 2 and return how the implementation episode ended."""
    if ctx.run.exists("experiment/episode.json"):
        log.info("experiment stage: reusing %s", ctx.run.path("experiment/episode.json"))
        return EpisodeResult.model_validate(ctx.run.read_json("experiment/episode.json")["result"])
    ctx.console.print("[bold]Stage 2[/]: preparing the workspace")
    plan = load_plan(ctx)
    workspace = prepare_workspace(ctx)
    resources = gather_resources(ctx)
    findings = data_findings(ctx, workspace)
    agent = build_agent(ctx, workspace)
    instruction = "Implement the plan below in the workspace, then make sure the experiment command runs."
    started = time.monotonic()
    ctx.console.print("implementing the plan")
    result = run_episode(agent, task_message(ctx, agent, plan, instruction, resources, findings), instruction)
    ctx.run.write_json("experiment/episode.json", {
        "instruction": instruction, "result": result.model_dump(mode="json"),
        "duration_s": round(time.monotonic() - started, 2), "steps_total": agent.step_counter,
    })
    ctx.console.print(f"implementation episode ended: {result.status} after {result.steps} steps")
    return result
