"""The processes one sandboxed command started, as its watchdog sees them: sampled while it runs, all killed at the end.

Inside a PID namespace (bubblewrap) every process of the command stays a descendant of the sandbox's own process in
the host's view, re-parented ones included, and the kernel kills them all when the namespace's first process dies.
Without one (the fallback), a process that called setsid and was re-parented is found by the run's marker variable
in its environment, which a process can drop (an `execve` with an empty environment): the fallback's notice says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

MARKER_VAR = "COPILOT_SANDBOX_RUN"


class ProcessTree:
    """The processes of one run: `sample` while it runs (memory, count), `kill` at the end."""

    def __init__(self, root_pid: int, marker: str, namespaced: bool) -> None:
        self.root_pid = root_pid
        self.marker = marker
        self.namespaced = namespaced
        self.seen: dict[int, psutil.Process] = {}
        self.wrappers: set[int] = {root_pid}
        """The sandbox's own processes: the root, and in a PID namespace the namespace's init (the root's child)."""
        self.count = 0
        """How many processes the last sample found (the sandbox's own wrapper processes included)."""

    def sample(self) -> int:
        """Summed RSS in bytes of the root and its descendants now; remembers each process for `kill`."""
        try:
            root = psutil.Process(self.root_pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            self.count = 0
            return 0
        self.count = len(tree)
        total = 0
        for process in tree:
            if process.pid not in self.seen and self.namespaced:
                with contextlib.suppress(psutil.Error):
                    if process.ppid() == self.root_pid:
                        self.wrappers.add(process.pid)
            self.seen.setdefault(process.pid, process)
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def inner_pids(self) -> list[int]:
        """Pids of the processes sampled below the root (inside the sandbox's namespaces when there are any)."""
        return [pid for pid in self.seen if pid != self.root_pid]

    @staticmethod
    def _wait_gone(processes: list[psutil.Process], timeout_s: float) -> None:
        """Wait until each process has exited or is a zombie (one re-parented to init may stay a zombie a while)."""
        deadline = time.monotonic() + timeout_s
        while processes and time.monotonic() < deadline:
            still = []
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                        still.append(process)
            processes = still
            if processes:
                time.sleep(0.01)

    def proportional_memory(self) -> int:
        """Summed PSS in bytes (shared pages divided among their users): slower, but fair to forked workers."""
        total = 0
        for process in list(self.seen.values()):
            with contextlib.suppress(psutil.Error):
                if process.is_running():
                    total += process.memory_full_info().pss
        return total

    def _marked(self) -> list[psutil.Process]:
        """Live processes whose environment carries this run's marker (setsid'd and re-parented ones included)."""
        found = []
        for process in psutil.process_iter():
            if process.pid == os.getpid():
                continue
            with contextlib.suppress(psutil.Error):
                if process.environ().get(MARKER_VAR) == self.marker:
                    found.append(process)
        return found

    def kill(self) -> int:
        """SIGKILL the process group and every process of the run, repeating while new ones appear; returns how many
        of the command's processes were killed (the sandbox's own wrappers are not counted).

        psutil checks a remembered process is still the same one (pid and start time) before it signals it, so a pid
        reused by an unrelated process is left alone.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.root_pid, signal.SIGKILL)
        killed: set[int] = set()
        for _ in range(5):
            victims = {p.pid: p for p in self.seen.values()}
            with contextlib.suppress(psutil.Error):
                victims.update({p.pid: p for p in psutil.Process(self.root_pid).children(recursive=True)})
            if not self.namespaced:
                victims.update({p.pid: p for p in self._marked()})
            alive = []
            for process in victims.values():
                with contextlib.suppress(psutil.Error):
                    if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                        process.kill()
                        alive.append(process)
                        killed.add(process.pid)
            if not alive:
                break
            # The root is our own child: the caller reaps it with os.wait4 (psutil would reap it here, and the
            # caller's wait4 then failed with ChildProcessError).
            self._wait_gone([p for p in alive if p.pid != self.root_pid], timeout_s=1)
        return len(killed - self.wrappers)
