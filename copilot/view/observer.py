"""`PageObserver`: keeps `run.html` of a run current while it runs (a `RunObserver`, see copilot/tracking/base.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from copilot.execution.attempt import Attempt
from copilot.execution.report import RunSummary
from copilot.records import RunInfo
from copilot.view.page import write_run_page

log = logging.getLogger("copilot.view")


class PageObserver:
    """Re-renders the run page when the run starts, after each attempt, and at the end (then it stops reloading).

    A page that cannot be written (a full disk, a read-only folder) is one warning and no further tries; the run goes
    on. A template or data error is our bug and is raised.
    """

    def __init__(self) -> None:
        self.disabled = False

    def run_started(self, run_dir: Path, info: RunInfo) -> None:
        """Write the first page (what earlier stages recorded, on resume) and log where it is."""
        path = self._write(run_dir, live=True)
        if path is not None:
            log.info("run page: %s", path)

    def attempt_recorded(self, run_dir: Path, attempt: Attempt) -> None:
        """Show the new attempt."""
        self._write(run_dir, live=True)

    def run_finished(self, run_dir: Path, summary: RunSummary) -> None:
        """The final page, with the summary and the verification; it no longer reloads itself."""
        self._write(run_dir, live=False)

    def _write(self, run_dir: Path, *, live: bool) -> Path | None:
        if self.disabled:
            return None
        try:
            return write_run_page(run_dir, live=live)
        except OSError as error:
            self.disabled = True
            log.warning("run page: cannot write %s (%s); the run goes on without it", Path(run_dir) / "run.html",
                        error)
            return None
