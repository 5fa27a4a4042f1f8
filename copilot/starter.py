"""What the starter code is, as the model is told it: its files with sizes, the head of the script the run command
runs, and the packages an experiment can import. Stage 1 and the implementation episodes both describe the
workspace this way."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from copilot.sandbox.packages import packages_line

SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def describe_workspace(root: Path, run_command: str, max_files: int = 40, script_lines: int = 40,
                       hidden: Collection[str] = (), packages: list[str] | None = None) -> str:
    """A short description of the starter code: its files with sizes (the `hidden` ones left out), the head of the
    script it runs, and the Python packages an experiment can import (`copilot.sandbox.packages`)."""
    lines = []
    files = sorted(p for p in root.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.relative_to(root).parts)
                   and p.relative_to(root).as_posix() not in hidden)
    for path in files[:max_files]:
        lines.append(f"- {path.relative_to(root)} ({path.stat().st_size:,} bytes)")
    if len(files) > max_files:
        lines.append(f"- ... and {len(files) - max_files} more files")
    scripts = [word for word in run_command.split() if word.endswith(".py") and (root / word).is_file()]
    if scripts and script_lines > 0:
        head = (root / scripts[0]).read_text(encoding="utf-8", errors="replace").splitlines()[:script_lines]
        lines.append(f"\n{scripts[0]} (first {len(head)} lines):\n" + "\n".join(head))
    if packages is not None:
        lines.append(f"\n{packages_line(packages)}")
    return "\n".join(lines)


def file_to_change(task: Any) -> str | None:
    """The workspace-relative Python file the whole-file and edit agents work on: the script the run command runs,
    unless the problem text names other Python files of the workspace and not that script; then the first of
    those it names (not one of the task's own: the evaluation and the read-only files). MLGym's 3-SAT task runs
    `solver.py`, a 379-line DPLL solver, and says the heuristic to write is in `heuristic.py`: working on the run
    script, the embedded model copied the solver into its edit blocks until its reply was cut off. None when the
    run command runs no single script."""
    import re

    from copilot.constraints import not_experiment_code
    from copilot.experiment.rewrite import script_for_command

    script = script_for_command(task.spec.run, task.workspace)
    text = task.problem_text or ""
    if script is None or not text or re.search(rf"(?<![\w/.]){re.escape(script)}\b", text):
        return script
    own = set(not_experiment_code(task)) | set(task.spec.hidden)
    named = sorted(
        ((match.start(), name) for name in _python_files(task.workspace) if name not in own
         for match in [re.search(rf"(?<![\w/.]){re.escape(name)}\b", text)] if match),
        key=lambda pair: pair[0])
    return named[0][1] if named else script


def _python_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py")
                  if not SKIP_DIRS & set(p.relative_to(root).parts))


def starter_script(task: Any) -> str:
    """The text of the starter's version of the file the agents work on (`file_to_change`), or "" when there is
    none or it is held out. It is a working version the coach may quote back when a rewrite drops a line."""
    script = file_to_change(task)
    if script is None or script in task.spec.hidden:
        return ""
    return str((task.workspace / script).read_text(encoding="utf-8", errors="replace"))
