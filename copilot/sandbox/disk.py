"""Disk use of the folders a sandboxed command may write (its working folder and its private TMPDIR), for the
`max_disk_mb` limit: RLIMIT_FSIZE bounds each file, not their number, and a workspace has no quota of its own.

A walk costs time proportional to the number of files, so `DiskWatch` measures at most every `min_interval_s` and
waits at least twenty times as long as the last walk took: a tree of 100,000 files (about 0.2 s to walk) is measured
every four seconds, a demo workspace every tenth of a second.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path


def disk_bytes(roots: Iterable[Path]) -> int:
    """Bytes allocated on disk under `roots`: files, links and folders, never following links, each inode once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    pending = [str(root) for root in roots]
    while pending:
        folder = pending.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    key = (info.st_dev, info.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                    total += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
    return total


class DiskWatch:
    """Tells when the folders' disk use passes `limit_bytes`, measuring at a rate the tree's size allows."""

    def __init__(self, roots: list[Path], limit_bytes: int, min_interval_s: float = 0.5) -> None:
        self.roots = roots
        self.limit_bytes = limit_bytes
        self.min_interval_s = min_interval_s
        self.used = 0
        self._next = 0.0

    def over(self, now: bool = False) -> bool:
        """Whether the folders hold more than the limit now (measured only when a measurement is due, or `now`)."""
        started = time.monotonic()
        if started < self._next and not now:
            return False
        self.used = disk_bytes(self.roots)
        took = time.monotonic() - started
        self._next = started + max(self.min_interval_s, 20 * took)
        return self.used > self.limit_bytes
