"""The LLM layer: `LLM` (the one entry point), value types, and `build_llm` that turns a `conf/llm/<preset>` into one.

Nothing outside this package imports an LLM SDK.
"""

from __future__ import annotations

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from copilot.errors import UserError
from copilot.llm.base import Completion, LLMError, Message, ToolCall, ToolSpec, Usage
from copilot.llm.client import LLM
from copilot.llm.pricing import Price
from copilot.progress import Progress
from copilot.rundir import JsonlWriter

__all__ = ["LLM", "Completion", "LLMError", "Message", "ToolCall", "ToolSpec", "Usage", "build_llm"]


def _takes_progress(target: str) -> bool:
    try:
        return "progress" in inspect.signature(get_class(target)).parameters
    except ImportError:  # instantiate reports a bad target below, in its own words
        return False


def build_llm(cfg: DictConfig | dict[str, Any], call_log: JsonlWriter | None = None,
              progress: Progress | None = None) -> LLM:
    """Instantiate the backend named by an llm preset and wrap it in `LLM`; `progress` sees every call (and a
    backend that takes it, the local one, shows its model's assembly there).

    Errors a user can fix (missing key, missing model package, bad path) surface as `UserError` with their own message.
    """
    conf = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    extra = {"progress": progress} if progress is not None and _takes_progress(str(conf.backend._target_)) else {}
    try:
        backend = instantiate(conf.backend, **extra)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, UserError | LLMError):
            raise UserError(f"llm={conf.get('name', '?')}: {cause}") from None
        raise
    except (UserError, LLMError) as error:
        raise UserError(f"llm={conf.get('name', '?')}: {error}") from None
    price = conf.get("price")
    return LLM(
        backend,
        name=str(conf.get("name", "llm")),
        call_log=call_log,
        max_retries=int(conf.get("max_retries", 4)),
        backoff_initial_s=float(conf.get("backoff_initial_s", 1.0)),
        backoff_max_s=float(conf.get("backoff_max_s", 30.0)),
        max_format_retries=int(conf.get("max_format_retries", 2)),
        price=Price(**OmegaConf.to_container(price)) if price else None,  # type: ignore[arg-type]
        progress=progress,
    )
