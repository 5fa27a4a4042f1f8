"""A cgroup per sandboxed command, where this process may make one: a hard limit on its number of processes
(`pids.max`: a fork beyond it fails with EAGAIN) and on its memory, page cache and /dev/shm included (the kernel's
OOM killer acts inside the group only).

The group is made below the cgroup this process is in (never elsewhere, so whatever accounts for this process goes
on accounting for its commands): cgroup v2 where the `pids` controller is already enabled for children there (a
delegated subtree; copilot never enables a controller itself), else the v1 `pids` and `memory` hierarchies. Where
neither can be written (an unprivileged user without delegation), `CommandCgroup.create` returns None and the sandbox
relies on its other limits (RLIMIT_NPROC in the command's own user namespace, and the watchdog's process count).

A command joins its group before anything of it runs: the sandbox starts it through `/bin/sh -c JOIN_SCRIPT`, which
writes its own pid to each `cgroup.procs` and then `exec`s the command (no `preexec_fn` in a threaded parent). Groups
are named `copilot-<owner pid>-<id>`; one left by a killed copilot (its owner pid gone) is removed by the next.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from pathlib import Path

import psutil

JOIN_FAILED_CODE = 125
JOIN_SCRIPT = ('while [ "$1" != -- ]; do echo $$ > "$1" || { echo "copilot sandbox: could not join the cgroup $1" >&2; '
               f'exit {JOIN_FAILED_CODE}; }}; shift; done; shift; exec "$@"')
OWNED = re.compile(r"^copilot-(\d+)-[0-9a-f]+$")


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, file system type, super options) of each cgroup mount in this process's view."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) > 4 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[4].replace("\\040", " "), tail[0], tail[2]))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per controller ('' for the v2 hierarchy), from /proc/self/cgroup."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
    except OSError:
        return False
    return True


def _remove_stale(parent: Path) -> None:
    """Remove groups that a copilot which is gone left behind (empty once its processes died)."""
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            match = OWNED.match(child.name)
            if match and not psutil.pid_exists(int(match.group(1))):
                with contextlib.suppress(OSError):
                    child.rmdir()


class CommandCgroup:
    """The cgroup(s) of one command: join them through `JOIN_SCRIPT`, read what happened, remove them."""

    def __init__(self, version: int, folders: dict[str, Path]) -> None:
        self.version = version
        self.folders = folders  # controller ("" for v2) -> the group's folder

    @property
    def procs_files(self) -> list[str]:
        """The `cgroup.procs` files the command's first process writes its pid to."""
        return [str(folder / "cgroup.procs") for folder in dict.fromkeys(self.folders.values())]

    @classmethod
    def create(cls, max_processes: int | None, memory_bytes: int | None) -> CommandCgroup | None:
        """A new group with these limits below this process's own cgroup, or None where none can be made."""
        if not max_processes and not memory_bytes:
            return None
        name = f"copilot-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        mounts, own = _mounts(), _own_paths()
        unified = next((point for point, kind, _ in mounts if kind == "cgroup2"), None)
        if unified is not None and "" in own:
            made = cls._create_v2(Path(unified + own[""]), name, max_processes, memory_bytes)
            if made is not None:
                return made
        return cls._create_v1(mounts, own, name, max_processes, memory_bytes)

    @classmethod
    def _create_v2(cls, parent: Path, name: str, max_processes: int | None,
                   memory_bytes: int | None) -> CommandCgroup | None:
        try:  # controllers are used only where they are already enabled for children (enabling them is not ours)
            enabled = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            return None
        if "pids" not in enabled or not os.access(parent, os.W_OK):
            return None
        _remove_stale(parent)
        folder = parent / name
        try:
            folder.mkdir()
        except OSError:
            return None
        group = cls(2, {"": folder})
        ok = not max_processes or _write(folder / "pids.max", str(max_processes))
        if memory_bytes and "memory" in enabled:
            ok = ok and _write(folder / "memory.max", str(memory_bytes))
            _write(folder / "memory.swap.max", "0")
        if not ok:
            group.remove()
            return None
        return group

    @classmethod
    def _create_v1(cls, mounts: list[tuple[str, str, str]], own: dict[str, str], name: str,
                   max_processes: int | None, memory_bytes: int | None) -> CommandCgroup | None:
        folders: dict[str, Path] = {}
        for controller, limit in (("pids", max_processes), ("memory", memory_bytes)):
            point = next((p for p, kind, opts in mounts if kind == "cgroup" and controller in opts.split(",")), None)
            if not limit or point is None or controller not in own:
                continue
            parent = Path(point + own[controller])
            if not os.access(parent, os.W_OK):
                continue
            _remove_stale(parent)
            with contextlib.suppress(OSError):
                (parent / name).mkdir()
                folders[controller] = parent / name
        group = cls(1, folders)
        if "pids" not in folders:  # the process limit is what the group is for; memory has the watchdog too
            group.remove()
            return None
        ok = _write(folders["pids"] / "pids.max", str(max_processes))
        if "memory" in folders:
            memory = folders["memory"]
            ok = ok and _write(memory / "memory.limit_in_bytes", str(memory_bytes))
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))  # absent without swap accounting
        if not ok:
            group.remove()
            return None
        return group

    def _counter(self, controller: str, file: str, key: str) -> int:
        folder = self.folders.get(controller if self.version == 1 else "")
        if folder is None:
            return 0
        with contextlib.suppress(OSError, ValueError):
            for line in (folder / file).read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == key:
                    return int(parts[1])
        return 0

    def forks_refused(self) -> int:
        """How many forks the process limit refused."""
        return self._counter("pids", "pids.events", "max")

    def oom_kills(self) -> int:
        """How many processes the kernel killed for passing the group's memory limit."""
        if self.version == 2:
            return self._counter("", "memory.events", "oom_kill")
        return self._counter("memory", "memory.oom_control", "oom_kill")

    def memory_peak(self) -> int:
        """The group's highest memory use in bytes (0 where the kernel does not say)."""
        file = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        folder = self.folders.get("" if self.version == 2 else "memory")
        with contextlib.suppress(OSError, ValueError):
            if folder is not None:
                return int((folder / file).read_text().split()[0])
        return 0

    def kill(self) -> None:
        """SIGKILL every process still in the group."""
        for folder in dict.fromkeys(self.folders.values()):
            if self.version == 2 and _write(folder / "cgroup.kill", "1"):
                continue
            with contextlib.suppress(OSError, ValueError):
                for pid in (folder / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(pid), 9)

    def remove(self) -> None:
        """Kill what is left in the group and remove it (a group can only be removed once it is empty)."""
        self.kill()
        for folder in dict.fromkeys(self.folders.values()):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
