"""The observers of a run: told when it starts, after each attempt is recorded, and when it ends.

`RunObserver` is the `Tracker` extension point of DESIGN.md: the run page (`copilot.view.PageObserver`) and
experiment trackers (`tracking=mlflow`: `copilot.tracking.mlflow.MlflowTracker`) implement it, and `build_observers`
makes the list a run notifies. An observer reads and reports; it never changes the run. Contract for implementations:
a failure of the outside service (a tracking server that is down, a full disk) is one warning in the log and the run
goes on without that observer; a bug in our own code (a wrong attribute, a template error) is raised, so tests see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from omegaconf import DictConfig

from copilot.errors import UserError
from copilot.execution.attempt import Attempt
from copilot.execution.report import RunSummary
from copilot.records import RunInfo


@runtime_checkable
class RunObserver(Protocol):
    """Told of a run's progress by the loop, after each record is written to the run directory."""

    def run_started(self, run_dir: Path, info: RunInfo) -> None:
        """The run (or its resumption) starts; `run.json` is written. Called again when a run is resumed."""
        ...

    def attempt_recorded(self, run_dir: Path, attempt: Attempt) -> None:
        """`attempts/<id>/attempt.json` of `attempt` is written."""
        ...

    def run_finished(self, run_dir: Path, summary: RunSummary) -> None:
        """`summary.json`, `report.md` and `metric.png` are written."""
        ...


class NoTracker:
    """`tracking=none` (the default): no experiment tracker. The run page is written either way."""

    def run_started(self, run_dir: Path, info: RunInfo) -> None:
        """Nothing to do."""

    def attempt_recorded(self, run_dir: Path, attempt: Attempt) -> None:
        """Nothing to do."""

    def run_finished(self, run_dir: Path, summary: RunSummary) -> None:
        """Nothing to do."""


def build_trackers(node: DictConfig | None) -> list[RunObserver]:
    """The experiment trackers configured by the `tracking` group (`conf/tracking/`); [] for `none` or no node."""
    if node is None or not isinstance(node, DictConfig) or "_target_" not in node:
        return []
    from hydra.utils import instantiate

    try:
        tracker = instantiate(node)
    except Exception as error:  # Hydra wraps constructor errors; a missing package is the user's to fix
        cause = error.__cause__ or error
        if isinstance(cause, UserError):
            raise UserError(str(cause)) from None
        raise
    return [] if isinstance(tracker, NoTracker) else [tracker]


def build_observers(cfg: DictConfig) -> list[RunObserver]:
    """Every observer of a run: the run page first (so trackers that keep it as an artifact find it written), then
    the trackers of `cfg.tracking`."""
    from copilot.view.observer import PageObserver

    return [PageObserver(), *build_trackers(cfg.get("tracking"))]

