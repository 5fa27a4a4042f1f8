"""The implementation agents' protocol, and how the `agent=` choice becomes one.

An agent implements one instruction in the workspace per episode and says how the episode ended. Each agent is one
class plus one yaml in `conf/agent/` naming it by `_target_` (with `_partial_: true` and its own options); `build_agent`
gives it what it needs of `EpisodeSetup` (the parameters its constructor names). `agent=auto` takes the LLM preset's
suggestion, adjusted to the task: see `choose_agent`.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig, OmegaConf

from copilot.coach.base import Coach, NoCoach
from copilot.errors import UserError
from copilot.experiment.agent import AgentConfig, EpisodeResult
from copilot.experiment.edit import EDIT_FROM_LINES, choose_strategy
from copilot.experiment.rewrite import CarriedConversation, script_for_command
from copilot.llm import LLM
from copilot.rundir import JsonlWriter

log = logging.getLogger("copilot.experiment")

AGENT_CONF = Path(__file__).resolve().parent.parent.parent / "conf" / "agent"
NEEDS_SCRIPT = frozenset({"rewrite", "edit"})


class Agent(Protocol):
    """Implements an instruction in a workspace, one episode at a time."""

    toolbox: Any
    step_counter: int

    def render(self, template: str, **values: Any) -> str:
        """Render one of the agent's prompt templates (the task block among them)."""
        ...

    def run(self, task_message: str, instruction: str) -> EpisodeResult:
        """One episode: `task_message` is the fixed task block, `instruction` what this episode must do."""
        ...


@dataclass
class EpisodeSetup:
    """Everything an agent may take at construction; each agent takes the parameters its constructor names."""

    llm: LLM
    toolbox: Any
    config: AgentConfig
    run_command: str
    trace: JsonlWriter | None = None
    step_offset: int = 0
    script: str | None = None
    earlier_versions: list[str] = field(default_factory=list)
    coach: Coach = field(default_factory=NoCoach)
    carried: CarriedConversation | None = None


def agent_options(name: str) -> DictConfig:
    """The yaml of agent `name` in conf/agent/ (a one-line error naming the choices when there is none)."""
    path = AGENT_CONF / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in AGENT_CONF.glob("*.yaml")))
        raise UserError(f"agent={name}: unknown agent; choose from {choices}")
    node = OmegaConf.load(path)
    assert isinstance(node, DictConfig)
    return node


def choose_agent(agent: DictConfig, suggested: str | None, run_command: str, workspace: Path,
                 script: str | None = None) -> tuple[str, str]:
    """The agent to use and why. A named agent is used as is (one that needs a single script refuses a command that
    runs none, with the choices); `auto` takes `suggested` (else `tools`), `edit` instead of `rewrite` for a script
    of at least `edit_from_lines` lines when the edit agent exists, and `tools` when there is no single script.
    `script` is the file the agent works on (`copilot.starter.file_to_change`), by default the run command's."""
    name = str(agent.get("name") or "auto")
    script = script or script_for_command(run_command, workspace)
    if name != "auto":
        if name in NEEDS_SCRIPT and script is None:
            raise UserError(f"agent={name} needs a run command that runs one Python script of the workspace; "
                            f"`{run_command}` does not: use agent=tools")
        return name, "chosen in the configuration"
    choice = suggested or "tools"
    if choice in NEEDS_SCRIPT and script is None:
        return "tools", f"the LLM preset suggests {choice}, but `{run_command}` runs no single Python script"
    if choice == "rewrite" and script is not None and (AGENT_CONF / "edit.yaml").is_file():
        lines = len((workspace / script).read_text(encoding="utf-8", errors="replace").splitlines())
        if choose_strategy(lines, int(agent.get("edit_from_lines", EDIT_FROM_LINES))) == "edit":
            return "edit", f"{script} has {lines} lines: search/replace edits instead of whole files"
    return choice, "the LLM preset's suggestion" if suggested else "the default"


def build_agent(name: str, setup: EpisodeSetup) -> Agent:
    """Agent `name` (conf/agent/<name>.yaml) for one episode."""
    from hydra.utils import instantiate

    options = agent_options(name)
    factory = instantiate({k: v for k, v in OmegaConf.to_container(options).items() if k != "name"})  # type: ignore[union-attr]
    target = getattr(factory, "func", factory)
    accepted = set(inspect.signature(target).parameters)
    given = {key: value for key, value in vars(setup).items() if key in accepted}
    return factory(**given)  # type: ignore[no-any-return]
