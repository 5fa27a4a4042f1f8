"""Measuring an attempt: the experiment in its workspace, then the task's evaluation in a folder of its own.

`measure_attempt` is what `ExecutionLoop.measure` does:
1. Before the experiment: a stale results file and anything at a hidden path are removed, and the read-only files
   are set read-only (0444).
2. The experiment runs in the sandbox, in the workspace (the hidden files are never there).
3. After it: each read-only file must still be the starter's (same bytes, mode 0444, not a link); a changed one makes
   the attempt `invalid` and is restored. Anything at a hidden path makes it `invalid` too and is removed.
4. The evaluation runs in the sandbox in a fresh folder beside the workspace (`evaluation_folder`), never in the
   workspace: the experiment's files, except Python modules other than those the evaluation imports
   (`evaluated_modules`: the submission of a task whose evaluation imports the experiment's code, MLGym's
   `heuristic.py` or `strategy.py`); the starter's read-only files, pristine, over whatever the experiment left at
   their paths; the hidden files, read-only. Python runs with `PYTHONSAFEPATH=1` (the script's
   folder is not put first on `sys.path`) and no user site, and `PYTHONPATH` names only folders of the starter's
   read-only Python files (helpers beside the evaluation), so no file of the experiment is imported in place of a
   library. The experiment's processes are gone by then (each command has a PID namespace of its own). The metric is
   read from the evaluation folder (`copilot/execution/measure.py`), which is removed when the evaluation ends,
   however it ends: nothing the evaluation saw or wrote reaches the workspace.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copilot import links
from copilot.execution.attempt import Attempt
from copilot.execution.measure import MeasurementError, clear_results, read_measurement
from copilot.hidden import misplaced_hidden, remove_hidden
from copilot.task import Task

log = logging.getLogger("copilot.execution")

READ_ONLY_MODE = 0o444
IMPORTABLE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".pth")
"""Files of the experiment that are not carried into the evaluation's folder: an evaluation reads outputs, and a
module there could be imported in place of a library by an evaluation that puts its own folder on `sys.path`."""
SKIP_PARTS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".copilot"})
FOLDER_PREFIX = ".evaluation-"


def protect_read_only(task: Task, workspace: Path) -> None:
    """Set the workspace's read-only files to mode 0444 (a copy made by copying the starter folder has its modes)."""
    for rel in task.spec.read_only:
        path = workspace / rel
        if path.is_file() and not path.is_symlink() and stat.S_IMODE(path.lstat().st_mode) != READ_ONLY_MODE:
            path.chmod(READ_ONLY_MODE)


def restore_read_only(task: Task, workspace: Path) -> list[str]:
    """The read-only files the experiment changed (their bytes, their mode, or replaced them by a link or folder),
    each restored from the starter folder; links are never followed."""
    import filecmp

    changed = []
    for rel in task.spec.read_only:
        original, current = task.workspace / rel, workspace / rel
        if not original.is_file():
            continue
        intact = (not links.is_link(current) and current.is_file()
                  and stat.S_IMODE(current.lstat().st_mode) == READ_ONLY_MODE
                  and filecmp.cmp(original, current, shallow=False))
        parents_real = not any(links.is_link(folder) for folder in list(current.parents)[: len(Path(rel).parts) - 1])
        if not intact or not parents_real:
            changed.append(rel)
            links.place_copy(original, workspace, rel, READ_ONLY_MODE)
    return changed


def _remove_tree(folder: Path) -> None:
    """Remove a folder whose subfolders the evaluation may have made read-only."""
    def allow(function: Any, path: str, _: Any) -> None:
        os.chmod(os.path.dirname(path), 0o755)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o755)
        function(path)

    shutil.rmtree(folder, onerror=allow)


def _place(source: Path, target: Path) -> None:
    """A hard link to `source` at `target` where both are on one file system (data is not copied), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@functools.cache
def _importable_elsewhere() -> frozenset[str]:
    """Top-level names of the standard library and of every installed distribution."""
    from importlib.metadata import packages_distributions

    return frozenset(sys.stdlib_module_names) | frozenset(packages_distributions())


def _imported_names(source: Path) -> set[str]:
    """Top-level module names a Python file imports (absolute imports, anywhere in the file); none if it does not
    parse."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def evaluated_modules(task: Task, workspace: Path) -> list[str]:
    """The experiment's Python modules that the evaluation imports, as workspace paths: the starter's modules
    (`name.py`, in the folders of its read-only Python files: the evaluation's `PYTHONPATH`) that those read-only
    files import, the submission of a task such as MLGym's (`heuristic.py`, `strategy.py`), and, transitively, the
    experiment's modules these import in turn (a heuristic split into helpers). A module the starter does not have
    is never imported by the evaluation itself, and a name that is also a standard-library or installed module is
    never carried, so a `json.py` the experiment left is not imported in place of the library. (The submission runs
    inside the evaluation by the task's design; what it does there is the task's evaluation to judge.)"""
    helpers = [rel for rel in task.spec.read_only if rel.endswith(".py") and (task.workspace / rel).is_file()]
    folders = sorted({Path(rel).parent for rel in helpers})
    protected = set(task.spec.read_only) | set(task.spec.hidden)
    carried: list[str] = []
    pending = [(task.workspace / rel, True) for rel in helpers]
    while pending:
        source, by_evaluation = pending.pop()
        for name in sorted(_imported_names(source) - _importable_elsewhere()):
            for folder in folders:
                rel = (folder / f"{name}.py").as_posix()
                path = workspace / rel
                if (rel in carried or rel in protected or not path.is_file() or links.is_link(path)
                        or (by_evaluation and not (task.workspace / rel).is_file())):
                    continue
                carried.append(rel)
                pending.append((path, False))
    return carried


@contextmanager
def evaluation_folder(task: Task, workspace: Path) -> Iterator[Path]:
    """A fresh folder laid out for the evaluation (see the module docstring), removed when the block ends."""
    spec = task.spec
    for stale in workspace.parent.glob(f"{FOLDER_PREFIX}*"):  # left by a run that was killed during an evaluation
        _remove_tree(stale)
    folder = workspace.parent / f"{FOLDER_PREFIX}{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    try:
        protected = {*spec.read_only, *spec.hidden, spec.results_file}
        imported = set(evaluated_modules(task, workspace))
        for rel, info in links.walk(workspace, SKIP_PARTS):
            if rel in protected or (rel.endswith(IMPORTABLE_SUFFIXES) and rel not in imported):
                continue
            target = links.real_parent(folder, rel)
            if stat.S_ISLNK(info.st_mode):
                target.symlink_to(os.readlink(workspace / rel))  # a link stays a link; it is not followed
            else:
                _place(workspace / rel, target)
        for rel in [*spec.read_only, *spec.hidden]:
            if (task.workspace / rel).is_file():
                links.place_copy(task.workspace / rel, folder, rel, READ_ONLY_MODE)
        yield folder
    finally:
        _remove_tree(folder)


def evaluation_environment(task: Task, folder: Path) -> dict[str, str]:
    """Python's switches for the evaluation: no script folder first on `sys.path`, no user site, and only the folders
    of the starter's read-only Python files on `PYTHONPATH`."""
    helpers = sorted({str((folder / rel).parent) for rel in task.spec.read_only if rel.endswith(".py")})
    env = {"PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1", "PYTHONPATH": os.pathsep.join(helpers)}
    return env


def measure_attempt(attempt: Attempt, workspace: Path, task: Task, sandbox: Any) -> Attempt:
    """Run the experiment command in `workspace`, then the task's evaluation in a folder of its own; fill in the
    attempt's runs, measurement, status and error."""
    spec = task.spec
    started = time.monotonic()
    clear_results(workspace, spec.results_file)
    for rel in remove_hidden(workspace, spec.hidden):
        log.warning("removed %s before the experiment: only the evaluation may see a hidden file", rel)
    protect_read_only(task, workspace)
    attempt.run = sandbox.run(attempt.command, workspace, timeout_s=spec.budgets.run_timeout_s)
    tampered = restore_read_only(task, workspace)
    planted = misplaced_hidden(workspace, spec.hidden)
    remove_hidden(workspace, spec.hidden)
    if tampered or planted:
        attempt.status = "invalid"
        attempt.error = "; ".join(
            ([f"the experiment changed read-only files: {', '.join(tampered)} (restored)"] if tampered else [])
            + ([f"the experiment wrote where hidden files go: {', '.join(planted)}"] if planted else []))
    elif not attempt.run.ok:
        attempt.status = "failed"
        tail = (attempt.run.stderr_tail or attempt.run.stdout_tail).strip()[-2000:]
        attempt.error = f"experiment ended: {attempt.run.reason}, exit code {attempt.run.exit_code}\n{tail}"
    else:
        with evaluation_folder(task, workspace) as folder:
            attempt.evaluation = sandbox.run(spec.evaluate, folder, timeout_s=spec.budgets.run_timeout_s,
                                             extra_env=evaluation_environment(task, folder))
            try:
                attempt.measurement = read_measurement(folder, spec.results_file, spec.metric, attempt.evaluation)
                attempt.status = "ok"
            except MeasurementError as error:
                attempt.status = "failed"
                attempt.error = f"evaluation: {error}"
    attempt.duration_s = round(time.monotonic() - started, 3)
    return attempt
