"""Code snapshots of attempts: only what differs from the starter workspace is stored, so data is never copied
per attempt. A snapshot is enough to restore the workspace to that attempt (rollback, tree search) or to rebuild the
attempt in a clean copy for re-execution. The task's hidden files are never part of either: a snapshot neither
records their absence as a deletion nor keeps a file at their paths, and a restore or clean copy leaves them out.

Symbolic links the experiment made are recorded as links (`manifest["links"]`, present when there are any: path ->
where it points) and made
again as links on restore; none is ever followed by copilot (`copilot/links.py`): a starter file replaced by a link
to a file outside is replaced by the starter's file again, and the outside file is not touched.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import stat
from collections.abc import Collection
from pathlib import Path

from copilot import links
from copilot.hidden import copy_without_hidden, remove_hidden

SKIP_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints"}
MAX_SNAPSHOT_FILE = 5 * 1024 * 1024


def _entries(root: Path) -> dict[str, os.stat_result]:
    """Files and links under `root` (not following links) with their lstat."""
    return dict(links.walk(root, SKIP_PARTS)) if root.is_dir() else {}


def take_snapshot(workspace: Path, source: Path, dest: Path, *, ignore: frozenset[str] = frozenset()) -> dict:
    """Copy into `dest/files/` every workspace file that is new or differs from `source`; record links, deletions
    and files too large to keep in `dest/manifest.json`, which is returned. `ignore` names files never snapshotted
    (the results file, the hidden files).
    """
    files_dir = dest / "files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    files_dir.mkdir(parents=True)
    current, original = _entries(workspace), _entries(source)
    changed, too_large, linked = [], [], {}
    for rel in sorted(set(current) - ignore):
        path, info = workspace / rel, current[rel]
        if stat.S_ISLNK(info.st_mode):
            linked[rel] = os.readlink(path)
            continue
        if (rel in original and stat.S_ISREG(original[rel].st_mode)
                and filecmp.cmp(path, source / rel, shallow=False)):
            continue
        if info.st_size > MAX_SNAPSHOT_FILE:
            too_large.append(rel)
            continue
        target = files_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        changed.append(rel)
    manifest: dict = {"changed": changed, "deleted": sorted(set(original) - set(current) - ignore),
                      "too_large": too_large}
    if linked:
        manifest["links"] = linked
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def restore_snapshot(workspace: Path, source: Path, snapshot: Path | None, *, hidden: Collection[str] = ()) -> None:
    """Make `workspace` equal to `source` plus the snapshot's changes (None: the pristine starter code), without the
    `hidden` files of `source`.

    Files already equal to the source are left alone, so data files are not copied again. Links in the workspace are
    removed or kept as links, never written through.
    """
    manifest: dict = {"changed": [], "deleted": [], "links": {}}
    if snapshot is not None:
        manifest.update(json.loads((snapshot / "manifest.json").read_text(encoding="utf-8")))
    hidden = set(hidden)
    remove_hidden(workspace, hidden)
    keep = set(manifest["changed"]) - hidden
    linked = {rel: target for rel, target in manifest.get("links", {}).items() if rel not in hidden}
    deleted = set(manifest["deleted"])
    original = {rel: info for rel, info in _entries(source).items() if rel not in hidden}
    for rel, info in _entries(workspace).items():
        path = workspace / rel
        if stat.S_ISLNK(info.st_mode):
            if linked.get(rel) != os.readlink(path):
                path.unlink()
        elif (rel not in original and rel not in keep) or rel in linked or rel in deleted:
            path.unlink()
    for rel in sorted(set(original) - deleted - keep - set(linked)):
        target = workspace / rel
        if (not links.is_link(target) and target.is_file() and not _linked_folder(workspace, rel)
                and filecmp.cmp(target, source / rel, shallow=False)):
            continue
        if stat.S_ISLNK(original[rel].st_mode):  # a link of the starter's own: made again as a link
            placed = links.real_parent(workspace, rel)
            links.remove(placed)
            placed.symlink_to(os.readlink(source / rel))
        else:
            links.place_copy(source / rel, workspace, rel)
    for rel in sorted(keep):
        links.place_copy(snapshot / "files" / rel, workspace, rel)  # type: ignore[operator]
    for rel, target in sorted(linked.items()):
        placed = links.real_parent(workspace, rel)
        if links.is_link(placed) and os.readlink(placed) == target:
            continue
        links.remove(placed)
        placed.symlink_to(target)


def _linked_folder(root: Path, rel: str) -> bool:
    """Whether a folder on the way to `rel` inside `root` is a link."""
    current = root
    for part in Path(rel).parts[:-1]:
        current = current / part
        if links.is_link(current):
            return True
    return False


def clean_copy(source: Path, snapshot: Path | None, dest: Path, *, hidden: Collection[str] = ()) -> Path:
    """A fresh copy of the starter code without its `hidden` files and with a snapshot applied, for baseline runs and
    re-execution."""
    if dest.exists():
        shutil.rmtree(dest)
    copy_without_hidden(source, dest, set(hidden), SKIP_PARTS, symlinks=True)
    restore_snapshot(dest, source, snapshot, hidden=hidden)
    return dest


def same_code(snapshot: Path, other: Path | None, suffixes: Collection[str]) -> bool:
    """Whether two snapshots (`other` None: the starter code) hold the same code: the same files with one of
    `suffixes` changed or deleted against the starter, with the same contents. Data and outputs do not count."""
    def code(folder: Path | None) -> tuple[dict[str, bytes], set[str]]:
        if folder is None:
            return {}, set()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        is_code = [rel for rel in [*manifest["changed"], *manifest["too_large"]]
                   if Path(rel).suffix.lower() in suffixes]
        contents = {rel: (folder / "files" / rel).read_bytes() if rel in manifest["changed"] else b"(too large)"
                    for rel in is_code}
        deleted = {rel for rel in manifest["deleted"] if Path(rel).suffix.lower() in suffixes}
        return contents, deleted | {f"link:{rel}" for rel in manifest.get("links", {})}

    return code(snapshot) == code(other)
