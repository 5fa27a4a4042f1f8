"""The sandbox contract: `Sandbox.run(command, cwd, ...)` → `RunResult`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from copilot.errors import UserError

EndReason = Literal["finished", "timeout", "memory", "killed", "error"]


class RunResult(BaseModel):
    """How one command ran: exit code, time, peak memory, output tails, and why it ended."""

    command: str
    exit_code: int | None
    duration_s: float
    peak_memory_mb: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    reason: EndReason = "finished"
    notice: str | None = None

    @property
    def ok(self) -> bool:
        """Finished on its own with exit code 0."""
        return self.reason == "finished" and self.exit_code == 0


class SandboxUnavailable(UserError):
    """The sandbox cannot run here (for example no Docker engine); the message says what to do instead."""


@runtime_checkable
class Sandbox(Protocol):
    """Runs a shell command in a folder with limits."""

    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult: ...

    def describe(self) -> str: ...
