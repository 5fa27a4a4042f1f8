"""`DockerSandbox`: runs each command in a throw-away container with the workspace mounted, no network by default."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from copilot.sandbox.base import RunResult, SandboxUnavailable


def _tail(text: str, cap: int) -> str:
    return text if len(text) <= cap else f"[... {len(text) - cap:,} characters cut ...]\n" + text[-cap:]


class DockerSandbox:
    """`docker run --rm --network none --memory ... -v <cwd>:/workspace image bash -c <command>`."""

    def __init__(self, image: str = "python:3.11-slim", memory_mb: int = 4096, cpus: float = 2.0,
                 network: str = "none", gpus: bool = False, user: str | None = "1000:1000", timeout_s: float = 300,
                 output_cap_bytes: int = 64_000) -> None:
        self.image = image
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.network = network
        self.gpus = gpus
        self.user = user
        self.timeout_s = timeout_s
        self.output_cap_bytes = output_cap_bytes
        self._checked = False

    def describe(self) -> str:
        """One line for logs and reports."""
        return f"docker sandbox ({self.image}, memory {self.memory_mb} MB, network {self.network})"

    def check_engine(self) -> None:
        """Raise `SandboxUnavailable` with one clear line when no Docker engine can be used."""
        if self._checked:
            return
        if shutil.which("docker") is None:
            raise SandboxUnavailable("sandbox=docker: the docker command is not installed; use sandbox=local")
        probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                               timeout=20)
        if probe.returncode != 0:
            raise SandboxUnavailable("sandbox=docker: no Docker engine reachable (start the Docker daemon, or use "
                                     "sandbox=local)")
        self._checked = True

    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` in a fresh container; on timeout the container is killed."""
        self.check_engine()
        name = f"copilot-{uuid.uuid4().hex[:12]}"
        argv = ["docker", "run", "--rm", "--name", name, "--network", self.network, "--memory", f"{self.memory_mb}m",
                "--cpus", str(self.cpus), "-v", f"{Path(cwd).resolve()}:/workspace", "-w", "/workspace"]
        if self.user:
            argv += ["--user", self.user]
        if self.gpus:
            argv += ["--gpus", "all"]
        for key, value in (extra_env or {}).items():
            argv += ["-e", f"{key}={value}"]
        argv += [self.image, "bash", "-c", command]
        started = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s or self.timeout_s)
        except subprocess.TimeoutExpired as expired:
            subprocess.run(["docker", "kill", name], capture_output=True)
            return RunResult(command=command, exit_code=None, duration_s=round(time.monotonic() - started, 3),
                             stdout_tail=_tail(str(expired.stdout or ""), self.output_cap_bytes),
                             stderr_tail=_tail(str(expired.stderr or ""), self.output_cap_bytes), reason="timeout")
        reason = "memory" if done.returncode == 137 else "finished"
        return RunResult(command=command, exit_code=done.returncode, duration_s=round(time.monotonic() - started, 3),
                         stdout_tail=_tail(done.stdout, self.output_cap_bytes),
                         stderr_tail=_tail(done.stderr, self.output_cap_bytes), stdout_bytes=len(done.stdout),
                         stderr_bytes=len(done.stderr), reason=reason, notice=shlex.join(argv[:6]))
