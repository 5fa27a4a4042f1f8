"""The run's working copy of the starter code, and every file action on it.

All paths are confined to the workspace root: absolute paths, `..` escapes and symlinks leading out are refused.
Links that commands made are listed and diffed as links (`name -> target`), never followed (`copilot/links.py`).
Read-only files (the task's evaluation, its input data) cannot be written, edited or deleted through any action,
and are also chmod 0444 in the copy. Hidden files (held-out labels, see `copilot.hidden`) are not in the copy at all,
and no action can create, read or list a file at their paths. Refusals raise `WorkspaceError`, whose message is an
observation the agent reads. Each step's changes (by tools or by commands the agent ran) are written as a unified
diff to `env_log/traces/step_N/changes.diff`; `undo_edit` restores the previous version of a file from a history
kept on disk.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Collection
from pathlib import Path

from copilot import links
from copilot.hidden import copy_without_hidden, remove_hidden

SKIP_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints", ".copilot"}
TEXT_LIMIT = 2 * 1024 * 1024
DATA_SUFFIXES = {".csv", ".tsv", ".jsonl"}
DATA_ROWS_PER_VIEW = 10
LINK_MARK = "link -> "

log = logging.getLogger("copilot.experiment")


class WorkspaceError(Exception):
    """An action the workspace refuses; the message tells the agent why and what to do instead."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_text(path: Path) -> bool:
    if path.stat().st_size > TEXT_LIMIT:
        return False
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in path.read_bytes()[:8192]


class Workspace:
    """A confined folder with read-only and hidden files, undo history and per-step change records."""

    def __init__(self, root: Path, read_only: list[str] | tuple[str, ...] = (), traces_dir: Path | None = None,
                 max_write_bytes: int = 1_000_000, hidden: Collection[str] = ()) -> None:
        self.root = Path(root).resolve()
        self.read_only = {str(Path(p)) for p in read_only}
        self.hidden = {Path(p).as_posix() for p in hidden}
        self.traces_dir = traces_dir
        self.max_write_bytes = max_write_bytes
        self.history_dir = self.root.parent / "experiment" / "history"
        self._step_hashes: dict[str, str] | None = None
        self._step_texts: dict[str, str] = {}

    @classmethod
    def create(cls, source: Path, root: Path, read_only: list[str] | tuple[str, ...] = (),
               traces_dir: Path | None = None, hidden: Collection[str] = ()) -> Workspace:
        """Copy `source` (never modified) to `root` without the hidden files, and protect the read-only files."""
        if root.exists():
            raise FileExistsError(f"workspace {root} already exists")
        workspace = cls(root, read_only, traces_dir, hidden=hidden)
        copy_without_hidden(source, root, workspace.hidden, SKIP_PARTS, symlinks=True)
        for rel in workspace.read_only:
            if (root / rel).is_file():
                (root / rel).chmod(0o444)
        return workspace

    @classmethod
    def open(cls, root: Path, read_only: list[str] | tuple[str, ...] = (), traces_dir: Path | None = None,
             hidden: Collection[str] = ()) -> Workspace:
        """An existing workspace (a resumed run); a hidden file in it, copied by a version before hidden files
        existed or left by a command, is removed."""
        workspace = cls(root, read_only, traces_dir, hidden=hidden)
        for rel in remove_hidden(workspace.root, workspace.hidden):
            log.warning("removed %s from the workspace: it is a hidden file of the task, which only the evaluation "
                        "may see", rel)
        return workspace

    # -- paths ---------------------------------------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """The absolute path of `rel` inside the workspace, or `WorkspaceError` for anything leading outside."""
        if not isinstance(rel, str) or not rel.strip():
            raise WorkspaceError("a path is required (relative to the workspace root)")
        if "\x00" in rel:
            raise WorkspaceError(f"invalid path {rel!r}: it contains a NUL byte")
        candidate = Path(rel)
        if candidate.is_absolute():
            raise WorkspaceError(f"'{rel}' is an absolute path; use a path relative to the workspace root")
        resolved = (self.root / candidate).resolve()
        if not resolved.is_relative_to(self.root):
            raise WorkspaceError(f"'{rel}' leads outside the workspace; only files inside it can be used")
        return resolved

    def relative(self, path: Path) -> str:
        """`path` relative to the root, with forward slashes."""
        return path.resolve().relative_to(self.root).as_posix()

    def is_read_only(self, rel: str) -> bool:
        """Whether `rel` (in any spelling: `./a`, `b/../a`) names a read-only file."""
        return self.relative(self.resolve(rel)) in self.read_only

    def _refuse_hidden(self, rel: str, path: Path) -> None:
        if self.relative(path) in self.hidden:
            raise WorkspaceError(f"'{rel}' is a held-out file of the task: only the evaluation sees it, after your "
                                 "experiment has run, so it cannot be read, written or listed here")

    def _writable(self, rel: str) -> Path:
        path = self.resolve(rel)
        self._refuse_hidden(rel, path)
        if self.relative(path) in self.read_only:
            raise WorkspaceError(f"'{rel}' is read-only (part of the task's evaluation); change other files")
        if path.is_dir():
            raise WorkspaceError(f"'{rel}' is a folder, not a file")
        return path

    # -- reading -------------------------------------------------------------------------------------------------
    def list_files(self, rel: str = ".", max_entries: int = 200) -> str:
        """The files under `rel` with sizes, one per line (caches and .git skipped)."""
        base = self.resolve(rel)
        self._refuse_hidden(rel, base)
        if not base.exists():
            raise WorkspaceError(f"'{rel}' does not exist")
        if base.is_file():
            return f"{self.relative(base)} ({base.stat().st_size:,} bytes)"
        entries = []
        for sub, info in sorted(links.walk(base, SKIP_PARTS), key=lambda entry: entry[0]):
            name = (base / sub).relative_to(self.root).as_posix()
            if name in self.hidden:
                continue
            if stat.S_ISLNK(info.st_mode):
                entries.append(f"{name} -> {os.readlink(base / sub)} (link)")
                continue
            mark = " [read-only]" if name in self.read_only else ""
            entries.append(f"{name} ({info.st_size:,} bytes){mark}")
        if len(entries) > max_entries:
            entries = [*entries[:max_entries], f"... and {len(entries) - max_entries} more files"]
        return "\n".join(entries) or "(empty)"

    def read_file(self, rel: str, start_line: int | None = None, end_line: int | None = None,
                  max_chars: int = 20_000, max_line_chars: int = 240) -> str:
        """Numbered lines of a text file (optionally a line range); binary files are described, not dumped.

        A line longer than `max_line_chars` (a wide CSV row, minified code) is cut with a note of how much, and data
        files (csv, tsv, jsonl) show at most `DATA_ROWS_PER_VIEW` rows of 160 characters: 17 rows of a 64-column CSV
        cost an embedded model 3.7k prompt tokens (minutes on 2 cores) and say nothing the profiling did not.
        """
        path = self.resolve(rel)
        self._refuse_hidden(rel, path)
        if not path.is_file():
            raise WorkspaceError(f"'{rel}' does not exist" if not path.exists() else f"'{rel}' is a folder")
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            raise WorkspaceError(f"'{rel}' is a binary file ({len(data):,} bytes); it cannot be shown as text")
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        start = max(1, start_line or 1)
        end = min(len(lines), end_line or len(lines))
        if start > max(len(lines), 1):
            raise WorkspaceError(f"'{rel}' has {len(lines)} lines; line {start} does not exist")
        def fit(line: str) -> str:
            if len(line) <= max_line_chars:
                return line
            return f"{line[:max_line_chars]} [... {len(line) - max_line_chars:,} more characters]"

        data_note = ""
        if path.suffix.lower() in DATA_SUFFIXES:
            max_line_chars = min(max_line_chars, 160)
            if end - start + 1 > DATA_ROWS_PER_VIEW:
                end = start + DATA_ROWS_PER_VIEW - 1
                data_note = (f"\n[data file: at most {DATA_ROWS_PER_VIEW} rows per view; the data findings in the task "
                             "describe the whole file]")
        shown = "\n".join(f"{n:>5}| {fit(lines[n - 1])}" for n in range(start, end + 1)) + data_note
        note = " (invalid UTF-8 bytes shown as U+FFFD)" if "\ufffd" in text else ""
        if len(shown) > max_chars:
            shown = shown[:max_chars] + f"\n[... cut at {max_chars:,} characters; read a line range]"
        return f"{self.relative(path)}: lines {start}-{end} of {len(lines)}{note}\n{shown}"

    # -- writing -------------------------------------------------------------------------------------------------
    def _remember(self, path: Path) -> None:
        """Push the current version of `path` (or its absence) on its undo history."""
        rel = self.relative(path)
        folder = self.history_dir / hashlib.sha1(rel.encode()).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        index = len([p for p in folder.iterdir() if p.suffix == ".json"])
        entry = {"path": rel, "existed": path.exists()}
        if path.exists():
            shutil.copy2(path, folder / f"{index:04d}.bak")
        (folder / f"{index:04d}.json").write_text(json.dumps(entry), encoding="utf-8")

    def write_file(self, rel: str, content: str) -> str:
        """Create or overwrite a file; returns a one-line summary."""
        path = self._writable(rel)
        size = len(content.encode("utf-8"))
        if size > self.max_write_bytes:
            raise WorkspaceError(f"refused to write {size:,} bytes to '{rel}': the limit is "
                                 f"{self.max_write_bytes:,} bytes per file")
        self._remember(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return f"wrote {self.relative(path)} ({content.count(chr(10)) + bool(content)} lines, {size:,} bytes)"

    def edit_file(self, rel: str, search: str, replace: str) -> str:
        """Replace the one exact occurrence of `search`; explain when it is missing or ambiguous."""
        path = self._writable(rel)
        if not path.is_file():
            raise WorkspaceError(f"'{rel}' does not exist; use write_file to create it")
        if not search:
            raise WorkspaceError("the search text is empty; give the exact text to replace")
        text = path.read_text(encoding="utf-8", errors="replace")
        count = text.count(search)
        if count == 0:
            first = search.strip().splitlines()[0] if search.strip() else search
            close = difflib.get_close_matches(first, text.splitlines(), n=2, cutoff=0.5)
            hint = ("; closest lines: " + " | ".join(repr(c.strip()) for c in close)) if close else ""
            raise WorkspaceError(f"the search text was not found in '{rel}'{hint}. Read the file and copy the text "
                                 "exactly, including indentation")
        if count > 1:
            raise WorkspaceError(f"the search text occurs {count} times in '{rel}'; include more surrounding lines "
                                 "so it matches exactly once")
        self._remember(path)
        path.write_text(text.replace(search, replace, 1), encoding="utf-8")
        return f"edited {self.relative(path)}: replaced {search.count(chr(10)) + 1} line(s)"

    def delete_file(self, rel: str) -> str:
        """Delete a file (undoable)."""
        path = self._writable(rel)
        if not path.exists():
            raise WorkspaceError(f"'{rel}' does not exist")
        self._remember(path)
        path.unlink()
        return f"deleted {self.relative(path)}"

    def undo_edit(self, rel: str) -> str:
        """Restore the version of `rel` before the last write, edit or delete through the tools."""
        path = self._writable(rel)
        folder = self.history_dir / hashlib.sha1(self.relative(path).encode()).hexdigest()[:16]
        entries = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not entries:
            raise WorkspaceError(f"there is no earlier version of '{rel}' to restore")
        last = entries[-1]
        entry = json.loads(last.read_text(encoding="utf-8"))
        backup = last.with_suffix(".bak")
        if entry["existed"]:
            shutil.copy2(backup, path)
            backup.unlink()
            message = f"restored the previous version of {entry['path']}"
        else:
            path.unlink(missing_ok=True)
            message = f"removed {entry['path']} (it did not exist before the last write)"
        last.unlink()
        return message

    # -- step records --------------------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, str]:
        """A digest of each file, and `link -> target` for each link (a link is never followed)."""
        hashes = {}
        for rel, info in links.walk(self.root, SKIP_PARTS):
            path = self.root / rel
            try:
                hashes[rel] = f"{LINK_MARK}{os.readlink(path)}" if stat.S_ISLNK(info.st_mode) else _digest(path)
            except OSError:  # gone, or unreadable (a command's chmod 000): a change either way
                hashes[rel] = "unreadable"
        return hashes

    def begin_step(self, step: int) -> None:
        """Remember the state before step `step` (hashes, and text of small text files for diffs)."""
        self._step_hashes = self._snapshot()
        self._step_texts = {}
        for rel, digest in self._step_hashes.items():
            path = self.root / rel
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if not digest.startswith(LINK_MARK) and _is_text(path):
                    self._step_texts[rel] = path.read_text(encoding="utf-8")

    def end_step(self, step: int) -> str:
        """Write the diff of step `step` to the traces folder; returns a short summary ('' when nothing changed)."""
        if self._step_hashes is None:
            return ""
        before, after = self._step_hashes, self._snapshot()
        self._step_hashes = None
        changed = sorted(rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel))
        if not changed:
            return ""
        chunks, notes = [], []
        for rel in changed:
            path = self.root / rel
            old = self._step_texts.get(rel, "")
            if after.get(rel, "").startswith(LINK_MARK):
                notes.append(f"{rel} -> {after[rel][len(LINK_MARK):]} (link)")
                continue
            try:
                if path.exists() and not _is_text(path):
                    notes.append(f"{rel} (binary/large, {path.stat().st_size:,} bytes)")
                    continue
                new = path.read_text(encoding="utf-8") if path.exists() else ""
            except (OSError, UnicodeDecodeError):
                notes.append(f"{rel} (unreadable)")
                continue
            chunks.append("".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       f"a/{rel}", f"b/{rel}")))
            notes.append(rel if path.exists() else f"{rel} (deleted)")
        if self.traces_dir is not None:
            folder = self.traces_dir / f"step_{step}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "changes.diff").write_text("".join(chunks), encoding="utf-8")
        return "changed " + ", ".join(notes)
