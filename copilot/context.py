"""`RunContext`: what every stage receives. In its own module so that stages import it downwards, never from
`copilot.app`, which imports the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig
from rich.console import Console

from copilot.budget import Budget
from copilot.coach.base import Coach
from copilot.feedback.base import Feedback
from copilot.llm import LLM
from copilot.progress import Progress
from copilot.records import RunRecords
from copilot.sandbox.base import Sandbox
from copilot.task import Task


@dataclass
class RunContext:
    """What every stage receives: the validated configuration, the task, the run's records, the participants (LLM,
    human, sandbox, coach), the run's one budget, the live progress display, and the observers told of every
    attempt."""

    cfg: DictConfig
    task: Task
    run: RunRecords
    llm: LLM
    feedback: Feedback
    sandbox: Sandbox
    console: Console
    budget: Budget
    coach: Coach
    progress: Progress
    observers: list[Any] = field(default_factory=list)
