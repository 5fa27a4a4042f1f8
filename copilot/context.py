"""`RunContext`: what every stage receives. In its own module so that stages import it downwards, never from
`copilot.app`, which imports the stages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig
from rich.console import Console

from copilot.llm import LLM
from copilot.rundir import RunDir
from copilot.task import Task


@dataclass
class RunContext:
    """What every stage receives: the configuration, the task, the run directory and the shared participants."""

    cfg: DictConfig
    task: Task
    run: RunDir
    llm: LLM
    feedback: Any
    sandbox: Any
    console: Console
    started: float = field(default_factory=time.monotonic)
