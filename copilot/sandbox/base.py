"""The sandbox contract: `Sandbox.run(command, cwd, ...)` returns a `RunResult`; plus the capped output buffer.

Every sandbox reports a command's own failures (non-zero exit, timeout, memory, signals) inside the `RunResult`, so
the agent can read them as an observation; only a sandbox that cannot run at all raises (`SandboxUnavailable`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from copilot.errors import UserError

EndReason = Literal["finished", "timeout", "memory", "killed", "error"]


class RunResult(BaseModel):
    """How one command ran: exit code, time, peak memory, captured output, and why it ended."""

    command: str
    exit_code: int | None
    """The exit status; negative when a signal ended the process (Python's convention); None when it never started."""
    duration_s: float
    peak_memory_mb: float | None = None
    """Highest resident memory seen (see the sandbox's docstring for how it is measured); None when unknown."""
    stdout_tail: str = ""
    """Head and tail of stdout, with a `[... N bytes cut ...]` line between them when the output exceeded the cap."""
    stderr_tail: str = ""
    stdout_bytes: int = 0
    """Bytes the command wrote to stdout in total, cut or not."""
    stderr_bytes: int = 0
    reason: EndReason = "finished"
    """finished: ended by itself; timeout: killed at the wall-clock limit; memory: stopped by the memory limit;
    killed: ended by another signal (CPU-time or file-size limit included); error: could not be started."""
    notice: str | None = None
    """Anything the reader should know about how it ran (a limit that was hit, network not isolated, ...)."""

    @property
    def ok(self) -> bool:
        """Finished on its own with exit code 0."""
        return self.reason == "finished" and self.exit_code == 0


class SandboxUnavailable(UserError):
    """The sandbox cannot run here (for example no Docker engine); the message says what to use instead."""


@runtime_checkable
class Sandbox(Protocol):
    """Runs a shell command in a folder with limits, and reports how it went.

    `sees_host_files`: whether commands see the host's files beyond their folder (the local sandbox, read-only), so
    that links into host folders resolve; `extra_env`: variables added to every command's environment; `hide(paths)`:
    make those host paths unreadable to every later command (a no-op where commands see only their folder);
    `expose(paths)`: make those host paths readable to every later command; `bind_task(task)`: both, for a task (its
    hidden files and masked sources hidden, what its starter folder links to readable).
    """

    sees_host_files: bool
    extra_env: dict[str, str]

    def hide(self, paths: list[Path]) -> None:
        """Keep `paths` (held-out answers in the starter folder) out of every later command's view."""
        ...

    def expose(self, paths: list[Path]) -> None:
        """Let every later command read `paths` (resources found for it, scripts copilot runs in it), read-only."""
        ...

    def bind_task(self, task: Any) -> None:
        """Hide `task`'s hidden files and masked sources from every later command; expose what its starter links to."""
        ...

    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` with bash in `cwd`; `timeout_s` overrides the sandbox's default wall-clock limit."""
        ...

    def describe(self) -> str:
        """One line naming the sandbox and its limits, for logs and reports."""
        ...


class CappedOutput:
    """Keeps the first and the last bytes of a stream within `cap_bytes` and counts everything that was written.

    A quarter of the cap holds the head (where the command and its setup are usually reported), the rest the tail
    (where the error or the final numbers are). Memory stays within about twice the cap whatever the stream's size.
    """

    def __init__(self, cap_bytes: int) -> None:
        self.head_cap = cap_bytes // 4
        self.tail_cap = cap_bytes - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Add the next bytes of the stream."""
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > 2 * self.tail_cap:
            del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def cut(self) -> int:
        """How many bytes of the stream are not kept."""
        return self.total - len(self.head) - min(len(self.tail), self.tail_cap)

    def text(self) -> str:
        """Head, a line saying how many bytes were cut (when any), and tail, decoded as UTF-8."""
        tail = bytes(self.tail[-self.tail_cap :]) if self.tail_cap else b""
        middle = f"\n[... {self.cut:,} bytes cut ...]\n".encode() if self.cut > 0 else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")

    def drain(self, stream: IO[bytes]) -> None:
        """Read `stream` until it closes, in chunks as they arrive (meant to run in its own thread), then close it."""
        read = getattr(stream, "read1", stream.read)
        try:
            for chunk in iter(lambda: read(65536), b""):
                self.feed(chunk)
        finally:
            stream.close()
