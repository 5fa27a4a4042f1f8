"""The configuration's schema, checked before any side effect (no folder made, no model loaded).

Plain sections (`idea`, `experiment`, `execution`, `resources`, `paths`) are pydantic models that forbid unknown keys;
each swappable part (`llm.backend`, `feedback`, `sandbox`, `retrieval.retrievers.*`, `search`, `agent`, `coach`, and
any other group node with a `_target_`) must name an importable class or function whose parameters accept the node's
keys. A problem is one `UserError` line naming the key.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.errors import UserError

STAGES = ("idea", "experiment", "execution")
TOP_LEVEL = {"defaults", "task", "stages", "resume", "seed", "feedback_points", "paths", "idea", "experiment",
             "resources", "execution", "llm", "feedback", "sandbox", "retrieval", "search", "agent", "coach",
             "tracking", "hydra"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdeaSettings(_Section):
    """Stage 1 (`idea:` in conf/config.yaml)."""

    num_hypotheses: int = Field(3, ge=1, le=8)
    max_pages: int = Field(60, ge=1)
    paper_chars: int = Field(6000, ge=500)
    related_in_prompt: int = Field(8, ge=0)
    max_regenerations: int = Field(3, ge=0)
    max_reply_tokens: int = Field(2048, ge=64)
    reproduce_paper: bool = True


class ExperimentSettings(_Section):
    """Stage 2 and the implementation episodes (`experiment:`)."""

    max_steps: int | None = Field(None, ge=1)
    observation_max_chars: int = Field(4000, ge=200)
    compact_at: float = Field(0.75, gt=0, le=1)
    analyse_data: bool = True
    profiler: Literal["auto", "model", "builtin"] = "auto"
    context_tokens: int | None = Field(None, ge=512)


class ResourceSettings(_Section):
    """Where stage 2 looks for models (`resources:`)."""

    model_dirs: list[str] = Field(default_factory=list)
    hf_cache_dir: str | None = None
    hub_endpoint: str | None = None
    max_model_mb: int = Field(2000, ge=1)


class ExecutionSettings(_Section):
    """Stage 3 (`execution:`)."""

    max_attempts: int | None = Field(None, ge=0)
    idea_share: float = Field(0.25, gt=0, le=1)
    verify_tolerance: float = Field(0.02, ge=0)


class PathSettings(_Section):
    """Where tasks are found (`paths:`)."""

    problems: str
    workspaces: str


SECTIONS: dict[str, type[BaseModel]] = {"idea": IdeaSettings, "experiment": ExperimentSettings,
                                        "resources": ResourceSettings, "execution": ExecutionSettings,
                                        "paths": PathSettings}


def _problem(error: ValidationError, section: str) -> str:
    first = error.errors()[0]
    where = ".".join([section, *(str(p) for p in first["loc"])])
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    return f"{where}: {message}"


def check_target(key: str, node: Any, ignore: frozenset[str] = frozenset()) -> None:
    """`node` (a group's config) names an importable `_target_` whose parameters accept its other keys (but the
    `ignore`d ones, which the caller reads itself)."""
    target = node.get("_target_")
    try:
        factory = get_object(str(target))
    except Exception:
        raise UserError(f"{key}._target_={target}: cannot be imported") from None
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    for name in node:
        if not str(name).startswith("_") and name not in parameters and name not in ignore:
            accepted = ", ".join(p for p in parameters if p not in ("self", "cls")) or "none"
            raise UserError(f"{key}.{name!s}: unknown option of {target} (accepted: {accepted})")


def _targets(key: str, node: Any) -> list[tuple[str, Any]]:
    """Every node with a `_target_` at or under `node`, with its dotted key."""
    if not isinstance(node, DictConfig):
        return []
    found = [(key, node)] if "_target_" in node else []
    for name in node:
        if OmegaConf.is_missing(node, name):
            raise UserError(f"{key}.{name!s}: required; set it on the command line ({key}.{name!s}=...)")
        child = node.get(name)
        if name != "_target_" and isinstance(child, DictConfig):
            found += _targets(f"{key}.{name!s}", child)
    return found


def validate_config(cfg: DictConfig) -> list[str]:
    """Check the composed configuration and return the stages to run, in pipeline order."""
    unknown = sorted(str(key) for key in set(cfg.keys()) - TOP_LEVEL)
    if unknown:
        known = ", ".join(sorted(TOP_LEVEL - {"defaults"}))
        raise UserError(f"{unknown[0]}: unknown configuration key (known: {known})")
    stages = list(cfg.stages) if not isinstance(cfg.stages, str) else [cfg.stages]
    wrong = [s for s in stages if s not in STAGES]
    if wrong:
        raise UserError(f"stages={stages}: unknown stage {wrong[0]!r}; choose from {', '.join(STAGES)}")
    for section, model in SECTIONS.items():
        try:
            model.model_validate(OmegaConf.to_container(cfg.get(section) or {}, resolve=True))
        except ValidationError as error:
            raise UserError(_problem(error, section)) from None
    agent = cfg.get("agent") or {}
    if agent.get("name") == "auto":
        extra = set(agent.keys()) - {"name", "edit_from_lines"}
        if extra:
            raise UserError(f"agent.{sorted(extra)[0]}: unknown option of agent=auto (accepted: edit_from_lines)")
    for group in ("llm", "feedback", "sandbox", "retrieval", "search", "agent", "coach", "tracking"):
        for key, node in _targets(group, cfg.get(group)):
            check_target(key, node, frozenset({"name"}) if group == "agent" else frozenset())
    return [s for s in STAGES if s in stages]
