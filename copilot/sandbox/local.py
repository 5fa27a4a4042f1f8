"""`LocalSandbox`: a child process group with resource limits, a scrubbed environment and optional no-network.

- Limits: wall-clock timeout (the whole process tree is killed: the group, and every descendant ever seen, also
  those that called setsid or were re-parented), address space (memory), CPU seconds, maximum file size.
- Output: both pipes are read incrementally; only a head and a tail of `output_cap_bytes` are kept, with the number
  of bytes cut stated, so a script printing gigabytes costs no memory.
- Environment: only the variables named in `env_allowlist` pass (API keys, tokens and other secrets never do); the
  interpreter running copilot (the virtualenv) comes first on PATH, so `python` means the same Python.
- Network: `network="isolate"` runs the command in a new network namespace (`unshare --net`, or an unprivileged user
  namespace when not root). Where neither works the command runs with network and `RunResult.notice` says so.
- Memory detection: with RLIMIT_AS an allocation beyond the limit fails inside the process (Python raises
  MemoryError, C++ bad_alloc, malloc returns NULL); the run is classed "memory" when it failed and its stderr shows
  one of those, or when it died of a signal while its sampled peak RSS was within 90% of the limit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO

import psutil

from copilot.sandbox.base import EndReason, RunResult

log = logging.getLogger("copilot.sandbox")

DEFAULT_ALLOWLIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME", "SHELL")
MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "OutOfMemory")
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class _HeadTail:
    """Keeps the first and last bytes of a stream up to a cap, counting everything."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 4
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_len = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail.append(chunk)
            self.tail_len += len(chunk)
            while self.tail_len - len(self.tail[0]) >= self.tail_cap:
                self.tail_len -= len(self.tail.popleft())

    def text(self) -> str:
        tail = b"".join(self.tail)
        if len(tail) > self.tail_cap:
            tail = tail[-self.tail_cap :]
        cut = self.total - len(self.head) - len(tail)
        middle = f"\n[... {cut:,} bytes cut ...]\n".encode() if cut > 0 else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


def _pump(stream: IO[bytes], sink: _HeadTail) -> None:
    for chunk in iter(lambda: stream.read(65536), b""):
        sink.feed(chunk)
    stream.close()


class LocalSandbox:
    """Runs commands as limited child processes on this machine."""

    def __init__(
        self,
        timeout_s: float = 300,
        memory_mb: int | None = 4096,
        cpu_time_s: int | None = None,
        max_file_mb: int | None = 1024,
        output_cap_bytes: int = 64_000,
        env_allowlist: list[str] | tuple[str, ...] = DEFAULT_ALLOWLIST,
        network: str = "isolate",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        if network not in ("isolate", "allow"):
            raise ValueError(f"sandbox.network must be 'isolate' or 'allow', not {network!r}")
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.max_file_mb = max_file_mb
        self.output_cap_bytes = output_cap_bytes
        self.env_allowlist = tuple(env_allowlist)
        self.network = network
        self.extra_env = dict(extra_env or {})
        self._isolation: list[str] | None = None
        self._isolation_checked = False
        self._isolation_notice: str | None = None

    def describe(self) -> str:
        """One line for logs and reports."""
        return (f"local sandbox (timeout {self.timeout_s}s, memory {self.memory_mb} MB, cpu {self.cpu_time_s}s, "
                f"network {self.network})")

    def environment(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The child's environment: allowlisted variables only, the running interpreter's bin dir first on PATH."""
        env = {key: os.environ[key] for key in self.env_allowlist if key in os.environ}
        interpreter_bin = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([interpreter_bin, env.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
        env.update({"PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"})
        if self.network == "isolate":
            env.update(OFFLINE_ENV)
        env.update(self.extra_env)
        env.update(extra_env or {})
        return env

    def _network_prefix(self) -> list[str]:
        """The command prefix that isolates the network, found once by trying it."""
        if self.network == "allow":
            return []
        if not self._isolation_checked:
            self._isolation_checked = True
            unshare = shutil.which("unshare")
            candidates = [[unshare, "--net"], [unshare, "--user", "--map-root-user", "--net"]] if unshare else []
            for prefix in candidates:
                try:
                    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)  # type: ignore[list-item]
                except (OSError, subprocess.TimeoutExpired):
                    continue
                if probe.returncode == 0:
                    self._isolation = prefix  # type: ignore[assignment]
                    break
            if self._isolation is None:
                self._isolation_notice = ("network isolation unavailable here (unshare --net failed); "
                                          "experiment code runs with network access")
                log.warning(self._isolation_notice)
        return self._isolation or []

    def _limits(self) -> None:
        """Runs in the child before exec: resource limits (the new session is made by Popen)."""
        if self.memory_mb:
            limit = self.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if self.cpu_time_s:
            resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_time_s, self.cpu_time_s + 5))
        if self.max_file_mb:
            limit = self.max_file_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` with bash in `cwd` and return how it went; never raises for the command's own failures."""
        timeout = timeout_s or self.timeout_s
        argv = [*self._network_prefix(), "/bin/bash", "-c", command]
        out, err = _HeadTail(self.output_cap_bytes), _HeadTail(self.output_cap_bytes)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=self.environment(extra_env), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                    preexec_fn=self._limits)
        except OSError as error:
            return RunResult(command=command, exit_code=None, duration_s=0.0, stderr_tail=str(error), reason="error")
        pumps = [threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True),
                 threading.Thread(target=_pump, args=(proc.stderr, err), daemon=True)]
        for pump in pumps:
            pump.start()
        seen: dict[int, psutil.Process] = {}
        peak_rss = 0
        timed_out = False
        while proc.poll() is None:
            peak_rss = max(peak_rss, self._sample(proc.pid, seen))
            if time.monotonic() - started > timeout:
                timed_out = True
                break
            time.sleep(0.05)
        self._kill_tree(proc, seen)
        proc.wait()
        for pump in pumps:
            pump.join(timeout=5)
        duration = time.monotonic() - started
        code = proc.returncode
        reason = self._reason(code, timed_out, err, peak_rss)
        return RunResult(
            command=command, exit_code=code, duration_s=round(duration, 3),
            peak_memory_mb=round(peak_rss / 2**20, 1) if peak_rss else None,
            stdout_tail=out.text(), stderr_tail=err.text(), stdout_bytes=out.total, stderr_bytes=err.total,
            reason=reason, notice=self._isolation_notice if self.network == "isolate" else None,
        )

    @staticmethod
    def _sample(pid: int, seen: dict[int, psutil.Process]) -> int:
        """Total RSS of the tree now; remembers every descendant so it can be killed later."""
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in tree:
            seen.setdefault(process.pid, process)
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    @staticmethod
    def _kill_tree(proc: subprocess.Popen[bytes], seen: dict[int, psutil.Process]) -> None:
        """SIGKILL the process group and every descendant ever seen (setsid'd or re-parented ones included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            seen.update({p.pid: p for p in psutil.Process(proc.pid).children(recursive=True)})
        for process in seen.values():
            if process.pid == os.getpid():
                continue
            try:
                process.kill()  # psutil checks the process is the same one (create time), not a reused pid
            except psutil.Error:
                continue

    def _reason(self, code: int | None, timed_out: bool, err: _HeadTail, peak_rss: int) -> EndReason:
        if timed_out:
            return "timeout"
        stderr = err.text()
        near_limit = bool(self.memory_mb) and peak_rss >= 0.9 * (self.memory_mb or 0) * 2**20
        if code not in (0, None) and any(marker in stderr for marker in MEMORY_MARKERS):
            return "memory"
        if code is not None and code < 0:
            return "memory" if near_limit else "killed"
        if code is not None and code >= 128 and code - 128 in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT):
            return "memory" if near_limit else "killed"
        return "finished"
