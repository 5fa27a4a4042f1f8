"""Files of a folder that experiment code wrote, handled without ever following a link it made.

Experiment code can put a symbolic link anywhere in its workspace, pointing anywhere (`train.py -> ~/.ssh/id_rsa`,
`data -> /etc`). copilot itself runs outside the sandbox, so each of its file operations on a workspace (snapshots,
restores, diffs, the evaluation's folder) reads links as links (`os.lstat`), removes them instead of writing through
them, and makes every folder on the way to a path it writes a real folder inside the root.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Collection, Iterator
from pathlib import Path


def walk(root: Path, skip_parts: Collection[str] = ()) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every file and link under `root`, never descending into a linked folder; folders
    named in `skip_parts` are left out with what they hold."""
    pending = [Path(root)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name in skip_parts:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(Path(entry.path))
            elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                yield Path(entry.path).relative_to(root).as_posix(), info


def is_link(path: Path) -> bool:
    """Whether `path` itself is a symbolic link (dangling or not)."""
    return os.path.islink(path)


def remove(path: Path) -> None:
    """Remove whatever is at `path` (a file, a link, a folder with what it holds) without following a link."""
    if not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def real_parent(root: Path, rel: str) -> Path:
    """`root / rel`, after making each folder on the way a real folder inside `root`: a link or a file in the way is
    removed (never followed), a missing folder created. Writing to the returned path cannot leave `root`."""
    current = Path(root)
    for part in Path(rel).parts[:-1]:
        current = current / part
        if os.path.islink(current) or (os.path.lexists(current) and not current.is_dir()):
            current.unlink()
        if not os.path.lexists(current):
            current.mkdir()
    return current / Path(rel).name


def place_copy(source: Path, root: Path, rel: str, mode: int | None = None) -> Path:
    """Copy the file `source` to `root / rel` (whatever was there removed first, links never followed), with
    `mode` when given; returns the new file."""
    target = real_parent(root, rel)
    remove(target)
    shutil.copy2(source, target)
    if mode is not None:
        target.chmod(mode)
    return target
