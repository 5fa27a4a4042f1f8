"""Implementation episodes, shared by stage 2 (the plan's first implementation) and stage 3 (every later attempt).

`prepare_episodes(ctx)` sets up, once per run and each part reused when recorded: the workspace (a copy of the
starter code; `workspaces/<task>` is never edited), the resources (prototype code, models, datasets), the data
findings, and the plan. `Episodes.run(instruction, candidate, history)` then builds the chosen agent over the
workspace and runs one episode. The task block at the top of its conversation is the same for every episode of the
run up to its last sections (earlier attempts, the hypothesis under test, the instruction), so an embedded model
reuses its KV cache for it from one episode to the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.constraints import Constraint, constraints_for, prompt_lines
from copilot.execution.journal import Candidate
from copilot.experiment.agent import AgentConfig, EpisodeResult
from copilot.experiment.agents import EpisodeSetup, build_agent, choose_agent
from copilot.experiment.analyst import DataFindings, analyse_data
from copilot.experiment.outputs import expected_outputs
from copilot.experiment.rewrite import CarriedConversation, script_for_command
from copilot.idea.models import ExperimentPlan
from copilot.sandbox.packages import available_packages
from copilot.starter import describe_workspace, file_to_change, starter_script

if TYPE_CHECKING:
    from copilot.context import RunContext
    from copilot.experiment.workspace import Workspace

log = logging.getLogger("copilot.experiment")


def load_plan(ctx: RunContext) -> ExperimentPlan:
    """Stage 1's plan, or a plan made from the task alone when stage 1 did not run (plain research problem)."""
    plan = ctx.run.idea.plan()
    if plan is not None:
        return plan
    spec = ctx.task.spec
    return ExperimentPlan(
        hypothesis_title=spec.title, datasets=spec.datasets, baselines=["the starter code"], metric=spec.metric.name,
        metric_direction=spec.metric.direction,
        steps=[(ctx.task.problem_text or f"Improve {spec.metric.name} of the starter code.")[:400]],
        expected_outcome=f"a better {spec.metric.name} than the starter code", compute_budget="minutes on a CPU",
        workspace_files=[],
    )


def prepare_workspace(ctx: RunContext) -> Workspace:
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
    from copilot.records import ResourceList

    def gather() -> ResourceList:
        manager = resource_manager(ctx, ctx.run.path("workspace"))
        spec = ctx.task.spec
        paper = ctx.run.idea.paper()
        repos = [*spec.repositories, *(paper_repositories(paper) if paper is not None else [])]
        for repo in dict.fromkeys(repos):
            manager.clone_repo(repo)
        for model in spec.models:
            if manager.find_model(model) is None:
                log.warning("model %s: not found locally and the hub is unreachable", model)
        for dataset in spec.datasets:
            manager.get_dataset(dataset)
        return ResourceList(resources=[r.model_dump(mode="json") for r in manager.resources])

    items = ctx.run.experiment.resources.get_or_make(gather).resources
    ctx.sandbox.expose([Path(r["local_path"]) for r in items if r.get("local_path")])  # readable to the experiment
    if ctx.sandbox.sees_host_files:  # docker sees only the workspace: no links to follow there
        ctx.sandbox.extra_env.update(link_models(items, ctx.run.path("experiment", "hub_cache")))
    return [describe_resource(r) for r in items]


def paper_repositories(paper: Any) -> list[str]:
    """The paper's own code repositories (not the other work it links to), for stage 2 to clone as prototype code."""
    return [url for url in paper.code_links if "github.com" in url or "gitlab.com" in url]


def data_findings(ctx: RunContext, workspace: Workspace) -> str:
    """The data-analysis findings (run once, then read from `experiment/data_analysis.json`)."""
    if not ctx.cfg.experiment.analyse_data and not ctx.run.experiment.findings.exists():
        return ""

    def analyse() -> DataFindings:
        root = Path(workspace.root)
        return analyse_data(ctx.llm, ctx.sandbox, root, describe_workspace(root, ctx.task.spec.run),
                            ctx.run.path("experiment", "profile_data.py"),
                            timeout_s=ctx.task.spec.budgets.run_timeout_s,
                            can_ask=lambda: ctx.budget.can_start(ctx.llm.expected_call_s()),
                            advise=lambda output: ctx.coach.run_failed(output, []),
                            use_model=profiler(ctx.cfg) == "model")

    return ctx.run.experiment.findings.get_or_make(analyse).findings


def profiler(cfg: Any) -> str:
    """Who writes the data-profiling script: `experiment.profiler`, where `auto` takes the llm preset's suggestion
    (`profiler:` in conf/llm/<preset>.yaml), else the model."""
    choice = str(cfg.experiment.get("profiler", "auto"))
    return str(cfg.llm.get("profiler") or "model") if choice == "auto" else choice


def chosen_method(ctx: RunContext, plan: ExperimentPlan) -> str:
    """The method of the hypothesis chosen at the gate, which the plan implements; "" when there is none or it is
    not the plan's (a plan written by hand names its own hypothesis). The plan's title alone can be cut short."""
    chosen = ctx.run.idea.chosen()
    if chosen is None or chosen.title != plan.hypothesis_title:
        return ""
    return chosen.method.strip()


def paper_method(ctx: RunContext) -> str:
    """The method section(s) of the paper stage 1 read, verbatim; "" without a paper."""
    paper = ctx.run.idea.paper()
    return paper.method_text() if paper is not None else ""


@dataclass
class Episodes:
    """Runs implementation episodes over the run's workspace with the run's agent choice, LLM, coach and budget."""

    ctx: RunContext
    workspace: Workspace
    plan: ExperimentPlan
    resources: list[str]
    findings: str
    carried: CarriedConversation = field(default_factory=CarriedConversation)  # from one episode to the next

    def __post_init__(self) -> None:
        spec = self.ctx.task.spec
        self.script = file_to_change(self.ctx.task)
        self.agent_name, why = choose_agent(self.ctx.cfg.agent, self.ctx.cfg.llm.get("agent"), spec.run,
                                            Path(self.workspace.root), self.script)
        log.info("implementation agent: %s (%s)", self.agent_name, why)
        if why not in ("chosen in the configuration", "the default"):
            self.ctx.console.print(f"agent: {self.agent_name} ({why})")

    def task_block(self, agent: Any, instruction: str, candidate: Candidate | None, history: str,
                   repairing: bool = False) -> str:
        """The fixed task block of an episode, ending with what varies: history, candidate, instruction. An episode
        `repairing` the starter (making it run first) is shown no plan and no paper method: with the plan there, the
        embedded model's repair of a crashing starter put in the plan's model instead of fixing the failing line."""
        ctx, spec = self.ctx, self.ctx.task.spec
        chosen = ctx.run.idea.chosen()
        testing = candidate if candidate is not None and candidate.method and candidate.source != "plan" and (
            chosen is None or candidate.title != chosen.title) and not repairing else None
        return agent.render(
            "task.j2", title=spec.title, instruction=instruction, plan=None if repairing else self.plan,
            metric=spec.metric.name,
            direction=spec.metric.direction, evaluate=spec.evaluate, run=spec.run,
            timeout=int(spec.budgets.run_timeout_s),
            workspace=describe_workspace(ctx.task.workspace, spec.run, hidden=spec.hidden,
                                         script_lines=0 if self.agent_name != "tools" else 40,
                                         packages=available_packages(ctx.sandbox, ctx.run)),
            read_only=spec.read_only, resources=self.resources, findings=self.findings, history=history,
            hidden=spec.hidden, testing=testing, paper_method="" if repairing else paper_method(ctx),
            plan_method=chosen_method(ctx, self.plan), constraints=prompt_lines(problem_rules(ctx)))

    def run(self, instruction: str, candidate: Candidate | None = None, history: str = "",
            repairing: bool = False) -> EpisodeResult:
        """One episode implementing `instruction` (testing `candidate`, when given; making the starter run when
        `repairing`)."""
        agent = self.agent()
        return agent.run(self.task_block(agent, instruction, candidate, history, repairing), instruction)

    def agent(self) -> Any:
        """A fresh agent of the run's choice over the workspace, its steps numbered after the trace's."""
        from copilot.experiment.tools import ToolBox

        ctx, spec, cfg = self.ctx, self.ctx.task.spec, self.ctx.cfg.experiment
        earlier = [text for text in [starter_script(ctx.task)] if text]
        toolbox = ToolBox(self.workspace, sandbox=ctx.sandbox, llm=ctx.llm,
                          resources=resource_manager(ctx, Path(self.workspace.root)),
                          observation_max_chars=int(cfg.observation_max_chars),
                          run_timeout_s=spec.budgets.run_timeout_s, coach=ctx.coach, earlier_versions=earlier,
                          experiment=spec.run, evaluate=spec.evaluate,
                          outputs=expected_outputs(ctx.task, script_for_command(spec.evaluate, ctx.task.workspace)))
        config = AgentConfig(max_steps=int(cfg.max_steps or spec.budgets.steps), max_tokens=spec.budgets.tokens,
                             max_cost_usd=spec.budgets.cost_usd, deadline=ctx.budget.work_deadline(),
                             context_tokens=ctx.llm.context_tokens or int(cfg.get("context_tokens") or 100_000),
                             compact_at=float(cfg.compact_at))
        setup = EpisodeSetup(llm=ctx.llm, toolbox=toolbox, config=config, run_command=spec.run,
                             trace=ctx.run.jsonl("env_log/trace.jsonl"), step_offset=steps_so_far(ctx),
                             script=self.script, earlier_versions=earlier,
                             coach=ctx.coach, carried=self.carried)
        return build_agent(self.agent_name, setup)


def problem_rules(ctx: RunContext) -> list[Constraint]:
    """The problem's hard rules: as stage 1 recorded them, else read from the task alone (no model pass)."""
    recorded = ctx.run.idea.constraints()
    return recorded.constraints if recorded is not None else constraints_for(ctx.task)


def steps_so_far(ctx: RunContext) -> int:
    """How many steps the trace holds (the next episode's steps are numbered after them)."""
    path = ctx.run.trace
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def prepare_episodes(ctx: RunContext) -> Episodes:
    """The run's workspace, resources, data findings and plan, each reused when recorded, ready for episodes."""
    workspace = prepare_workspace(ctx)
    resources = gather_resources(ctx)  # before the baseline: starter code may load a model by its hub id
    return Episodes(ctx, workspace, load_plan(ctx), resources, data_findings(ctx, workspace))
