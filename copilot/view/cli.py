"""`copilot view <run dir | sweep dir>`: write the run page (or a sweep's index page), print its path, and open it in
a browser when there is a desktop to show it on."""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser
from pathlib import Path

from copilot.errors import UserError
from copilot.view.records import is_run_dir


def is_sweep_dir(path: Path) -> bool:
    """Whether `path` is a Hydra sweep folder (Hydra's `multirun.yaml`, or job folders with `.hydra/`)."""
    if (path / "multirun.yaml").is_file():
        return True
    return not is_run_dir(path) and any((p / ".hydra").is_dir() for p in path.iterdir() if p.is_dir())


def has_desktop() -> bool:
    """Whether a browser window can be shown: a graphical session (X11, Wayland) or macOS, and a terminal."""
    graphical = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform == "darwin"
    return graphical and sys.stdout.isatty()


def write_page(folder: Path) -> Path:
    """Render the page of `folder` (a run or a sweep) and return its path; a folder that is neither is a UserError."""
    if not folder.is_dir():
        raise UserError(f"copilot view {folder}: no such directory")
    if is_sweep_dir(folder):
        from copilot.sweep import write_sweep_summary

        write_sweep_summary(folder)
        return folder / "index.html"
    if not is_run_dir(folder):
        raise UserError(f"copilot view {folder}: not a run directory (no run.json or .hydra/config.yaml in it) and "
                        "not a sweep directory (no multirun.yaml)")
    from copilot.view.page import write_run_page

    return write_run_page(folder, live=False)


def main(argv: list[str]) -> int:
    """`copilot view <dir> [--no-open]`: returns 0; bad input raises `UserError` (the CLI prints one line)."""
    parser = argparse.ArgumentParser(prog="copilot view", description="Write (and open) the page of a run or sweep.")
    parser.add_argument("folder", type=Path, help="a run directory (logs/<task>/<timestamp>) or a sweep directory")
    parser.add_argument("--no-open", action="store_true", help="only write the page and print its path")
    args = parser.parse_args(argv)
    page = write_page(args.folder.expanduser())
    print(page.resolve())
    if not args.no_open and has_desktop():
        webbrowser.open(page.resolve().as_uri())
    return 0
