"""What the run page shows, read from the run directory only, with the run's own models.

A file that is not there yet (a run still in stage 1, a failed run) is None or empty here and the page says "not yet";
a file that cannot be read (an older schema) is named in `problems` and the rest is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from copilot.execution.attempt import Attempt
from copilot.execution.policies.base import best_attempt
from copilot.execution.report import RunSummary
from copilot.execution.verify import Reexecution
from copilot.idea.models import ExperimentPlan, RankedHypothesis
from copilot.paper.model import Paper
from copilot.records import ChosenHypothesis, RunInfo
from copilot.task import MetricSpec

T = TypeVar("T")

RECORDS = ("run.json", "idea/paper.json", "idea/chosen.json", "idea/hypotheses.json", "idea/plan.json",
           "verify/reexecution.json", "summary.json")
"""The JSON records the page reads, besides `attempts/*/attempt.json`."""


@dataclass
class AttemptNode:
    """An attempt in the search tree, with the attempts that modified it."""

    attempt: Attempt
    children: list[AttemptNode] = field(default_factory=list)


@dataclass
class RunView:
    """Everything the run page shows, as recorded so far."""

    root: Path
    info: RunInfo | None = None
    paper: Paper | None = None
    chosen: ChosenHypothesis | None = None
    hypotheses: list[RankedHypothesis] = field(default_factory=list)
    plan: ExperimentPlan | None = None
    attempts: list[Attempt] = field(default_factory=list)
    reexecution: Reexecution | None = None
    summary: RunSummary | None = None
    problems: list[str] = field(default_factory=list)
    """Records that exist but could not be read, each as `path: reason`."""

    @property
    def finished(self) -> bool:
        """Whether the run wrote its summary (stage 3 ended)."""
        return self.summary is not None

    @property
    def task(self) -> str:
        """The task's name, from the first record that has it."""
        if self.info is not None:
            return self.info.task
        return self.summary.task if self.summary is not None else self.root.name

    @property
    def metric(self) -> MetricSpec | None:
        """The task's metric and direction, from the summary or else the plan; None before either is written."""
        if self.summary is not None and self.summary.direction in ("maximize", "minimize"):
            return MetricSpec(name=self.summary.metric, direction=self.summary.direction)  # type: ignore[arg-type]
        if self.plan is not None:
            measured = next((a.measurement.metric for a in self.attempts if a.measurement), self.plan.metric)
            return MetricSpec(name=measured, direction=self.plan.metric_direction)
        return None

    @property
    def baseline(self) -> Attempt | None:
        """The baseline attempt (the unmodified starter code), once measured."""
        return next((a for a in self.attempts if a.kind == "baseline"), None)

    @property
    def best(self) -> Attempt | None:
        """The best attempt: the summary's, else the best measured so far."""
        if self.summary is not None:
            return next((a for a in self.attempts if a.id == self.summary.best_attempt), None)
        return best_attempt(self.attempts, self.metric) if self.metric is not None else None

    def tree(self) -> list[AttemptNode]:
        """The search tree: roots (the baseline, and any attempt whose parent is not recorded) with their children,
        in id order."""
        nodes = {a.id: AttemptNode(a) for a in self.attempts}
        roots: list[AttemptNode] = []
        for attempt in self.attempts:
            parent = nodes.get(attempt.parent or "")
            (parent.children if parent is not None and attempt.parent != attempt.id else roots).append(
                nodes[attempt.id])
        return roots

    def tested_by(self, title: str) -> list[str]:
        """Ids of the attempts that tested the hypothesis `title`."""
        return [a.id for a in self.attempts if a.hypothesis and a.hypothesis == title]


def _read(view: RunView, relative: str, kind: Any) -> Any:
    path = view.root / relative
    if not path.is_file():
        return None
    try:
        return TypeAdapter(kind).validate_json(path.read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the record"
        view.problems.append(f"{relative}: {where}: {first['msg']}")
    except (ValueError, OSError) as error:
        view.problems.append(f"{relative}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    return None


def load_run_view(root: Path) -> RunView:
    """Read every record the page shows from the run directory `root` (nothing is written)."""
    view = RunView(root=Path(root).resolve())
    view.info = _read(view, "run.json", RunInfo)
    view.paper = _read(view, "idea/paper.json", Paper)
    view.chosen = _read(view, "idea/chosen.json", ChosenHypothesis)
    view.hypotheses = _read(view, "idea/hypotheses.json", list[RankedHypothesis]) or []
    view.plan = _read(view, "idea/plan.json", ExperimentPlan)
    folder = view.root / "attempts"
    for record in sorted(folder.glob("*/attempt.json")) if folder.is_dir() else []:
        attempt = _read(view, str(record.relative_to(view.root)), Attempt)
        if attempt is not None:
            view.attempts.append(attempt)
    view.reexecution = _read(view, "verify/reexecution.json", Reexecution)
    view.summary = _read(view, "summary.json", RunSummary)
    return view


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a run directory (a run wrote `run.json` or Hydra its `.hydra/` there)."""
    return (path / "run.json").is_file() or (path / ".hydra" / "config.yaml").is_file()

