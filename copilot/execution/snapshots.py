"""Code snapshots of attempts: only what differs from the starter workspace is stored, so data is never copied
per attempt. A snapshot is enough to restore the workspace to that attempt (rollback, tree search) or to rebuild the
attempt in a clean copy for re-execution. The task's hidden files are never part of either: a snapshot neither
records their absence as a deletion nor keeps a file at their paths, and a restore or clean copy leaves them out.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from collections.abc import Collection
from pathlib import Path

from copilot.hidden import copy_without_hidden, remove_hidden

SKIP_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints"}
MAX_SNAPSHOT_FILE = 5 * 1024 * 1024


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if (p.is_file() or p.is_symlink()) and not SKIP_PARTS & set(p.relative_to(root).parts)
    }


def take_snapshot(workspace: Path, source: Path, dest: Path, *, ignore: frozenset[str] = frozenset()) -> dict:
    """Copy into `dest/files/` every workspace file that is new or differs from `source`; record deletions and files
    too large to keep in `dest/manifest.json`, which is returned. `ignore` names files never snapshotted (the results
    file, the hidden files).
    """
    files_dir = dest / "files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    files_dir.mkdir(parents=True)
    current, original = _files(workspace), _files(source)
    changed, too_large = [], []
    for rel in sorted(current - ignore):
        path = workspace / rel
        if path.is_symlink():
            continue
        if rel in original and filecmp.cmp(path, source / rel, shallow=False):
            continue
        if path.stat().st_size > MAX_SNAPSHOT_FILE:
            too_large.append(rel)
            continue
        target = files_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        changed.append(rel)
    manifest = {"changed": changed, "deleted": sorted(original - current - ignore), "too_large": too_large}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def restore_snapshot(workspace: Path, source: Path, snapshot: Path | None, *, hidden: Collection[str] = ()) -> None:
    """Make `workspace` equal to `source` plus the snapshot's changes (None: the pristine starter code), without the
    `hidden` files of `source`.

    Files already equal to the source are left alone, so data files are not copied again.
    """
    manifest: dict[str, list[str]] = {"changed": [], "deleted": []}
    if snapshot is not None:
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    remove_hidden(workspace, hidden)
    keep = set(manifest["changed"]) - set(hidden)
    current, original = _files(workspace), _files(source) - set(hidden)
    for rel in current - original - keep:
        (workspace / rel).unlink()
    for rel in original - set(manifest["deleted"]):
        target = workspace / rel
        if rel in keep:
            continue
        if not target.exists() or not filecmp.cmp(target, source / rel, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.chmod(0o644)
                target.unlink()
            shutil.copy2(source / rel, target)
    for rel in manifest["deleted"]:
        (workspace / rel).unlink(missing_ok=True)
    for rel in keep:
        target = workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(snapshot / "files" / rel, target)  # type: ignore[operator]


def clean_copy(source: Path, snapshot: Path | None, dest: Path, *, hidden: Collection[str] = ()) -> Path:
    """A fresh copy of the starter code without its `hidden` files and with a snapshot applied, for baseline runs and
    re-execution."""
    if dest.exists():
        shutil.rmtree(dest)
    copy_without_hidden(source, dest, set(hidden), SKIP_PARTS)
    restore_snapshot(dest, source, snapshot, hidden=hidden)
    return dest
