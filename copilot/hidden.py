"""Hidden (held-out) files of a task: test labels and other ground truth that the agent and its code never see.

They stay in the starter folder. Every copy of it that code runs in (the agent's workspace, the baseline's and the
re-execution's clean copies) is made without them; only the folder the task's own evaluation runs in holds them,
read-only (`copilot/execution/evaluation.py`), and that folder is removed when the evaluation ends. Paths are relative
to the workspace root, spelled with forward slashes (as `TaskSpec.hidden` normalises them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from pathlib import Path


def copy_without_hidden(source: Path, dest: Path, hidden: Collection[str], skip_names: Collection[str],
                        symlinks: bool = False) -> None:
    """`shutil.copytree(source, dest)` leaving out the hidden files and every entry named in `skip_names`."""
    source = Path(source)

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(source)
        return {name for name in names if name in skip_names or (rel / name).as_posix() in hidden}

    shutil.copytree(source, dest, ignore=ignore, symlinks=symlinks)


def _inside(root: Path, rel: str) -> bool:
    """Whether the folder of `rel` is a real folder inside `root` (no link in the way leads elsewhere)."""
    return (root / rel).parent.resolve() == root.resolve().joinpath(rel).parent


def remove_hidden(root: Path, hidden: Collection[str]) -> list[str]:
    """Remove whatever lies at a hidden path in `root` (a file, a link, a folder); returns the paths removed.

    A path whose folder is a link is left alone (removing through it could delete a file outside `root`) and reported
    by `misplaced_hidden`.
    """
    removed = []
    for rel in hidden:
        path = root / rel
        if not os.path.lexists(path) or not _inside(root, rel):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(rel)
    return removed


def misplaced_hidden(root: Path, hidden: Collection[str]) -> list[str]:
    """Hidden paths that cannot take their file: anything already there, or a folder on the way that is a link or a
    file. Each is named with what is wrong."""
    problems = []
    for rel in hidden:
        parts = Path(rel).parts
        for depth in range(1, len(parts)):
            folder = root.joinpath(*parts[:depth])
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                problems.append(f"{rel} (its folder {Path(*parts[:depth]).as_posix()} was replaced by a link or file)")
                break
        else:
            if os.path.lexists(root / rel):
                problems.append(f"{rel} (a file was put there; removed)")
    return problems
