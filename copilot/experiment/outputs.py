"""The files an experiment must write: the ones the task's evaluation reads that the starter code writes.

A run that exits 0 but no longer writes them cannot be measured (the embedded model, asked to compare the paper's
model with the starter's, wrote `predictions_rbf.csv` and `predictions_tree.csv` and no `predictions.csv`). Found
from the code alone: a file name quoted in both the evaluation script and the starter's other Python files that is
not an input (a read-only, hidden or existing file of the starter folder) and not the evaluation's own results file.
An evaluation that builds its file names at run time gives none, and then nothing is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from copilot.task import Task

FILE_LITERAL = re.compile(r"""["']([\w./-]+\.[A-Za-z][A-Za-z0-9]{0,7})["']""")
CLOCK_SLACK_S = 0.05
"""File times come from the kernel's coarse clock, which may lag the run's start by a tick."""


def quoted_files(text: str) -> set[str]:
    """File names quoted in Python source (`"predictions.csv"`, `'out/model.pt'`), without a leading `./`."""
    return {name.removeprefix("./") for name in FILE_LITERAL.findall(text)}


def expected_outputs(task: Task, evaluation: str | None) -> list[str]:
    """The files the evaluation script (`evaluation`, relative to the starter folder) reads and the starter code
    writes, relative to the workspace."""
    spec, root = task.spec, task.workspace
    if evaluation is None or not (root / evaluation).is_file():
        return []
    inputs = {*spec.read_only, *spec.hidden, *([spec.results_file] if spec.results_file else [])}
    written: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel != evaluation and rel not in inputs:
            written |= quoted_files(path.read_text(encoding="utf-8", errors="replace"))
    read = quoted_files((root / evaluation).read_text(encoding="utf-8", errors="replace"))
    return sorted(name for name in read & written
                  if name not in inputs and not name.endswith(".py") and not (root / name).exists())


def unwritten(workspace: Path, outputs: list[str], since: float) -> list[str]:
    """The `outputs` that a run started at `since` (a `time.time()` value) did not write."""
    missing = []
    for name in outputs:
        path = workspace / name
        if not path.is_file() or path.stat().st_mtime < since - CLOCK_SLACK_S:
            missing.append(name)
    return missing


def unwritten_message(missing: list[str], evaluate: str) -> str:
    """What the agent is told when the experiment ran but left the evaluation's inputs unwritten."""
    names = ", ".join(missing)
    return (f"The experiment ran, but it did not write {names}: the task's evaluation (`{evaluate}`) reads "
            f"{'that file' if len(missing) == 1 else 'these files'}, as the starter code wrote "
            f"{'it' if len(missing) == 1 else 'them'}. Write {names} with the same name and columns as before, "
            "from the model the experiment is about.")
