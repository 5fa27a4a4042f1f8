"""The run page (`run.html`) and a sweep's index page, rendered from the run directory; `copilot view <dir>`."""

from copilot.view.observer import PageObserver
from copilot.view.page import render_run_page, write_run_page, write_sweep_index
from copilot.view.records import RunView, load_run_view

__all__ = ["PageObserver", "RunView", "load_run_view", "render_run_page", "write_run_page", "write_sweep_index"]
