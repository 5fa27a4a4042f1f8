"""`DockerSandbox`: each command in a fresh container with the workspace mounted, no network by default.

The container is `docker run --name copilot-<id> --network none --memory M --memory-swap M --cpus C
-v <cwd>:/workspace -w /workspace --user <uid:gid> [--gpus all] -e ... <image> bash -c <command>`. It is not started
with `--rm`: after it ends, `docker inspect` tells whether the kernel killed it for memory (`OOMKilled`), and then
`docker rm -f` removes it. On timeout `docker kill` stops it by name. Only the variables given with `-e` reach the
container, so the parent's secrets never do. Output is captured as in the local sandbox (`CappedOutput`); peak memory
is not measured (None).

The engine is checked (`docker info`) on the first run, or earlier by calling `check_engine()`; without one,
`SandboxUnavailable` says so in one line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

from copilot.errors import UserError
from copilot.sandbox.base import CappedOutput, EndReason, RunResult, SandboxUnavailable
from copilot.sandbox.local import OFFLINE_ENV

DOCKER_ERROR_CODE = 125  # `docker run` itself failed (no such image, bad option), the command never ran


class DockerSandbox:
    """Runs commands in throw-away containers (see the module docstring for the exact `docker run`)."""

    sees_host_files = False  # only the workspace is mounted

    def __init__(self, image: str = "python:3.11-slim", memory_mb: int = 4096, cpus: float = 2.0,
                 network: str = "none", gpus: bool = False, user: str | None = None, timeout_s: float = 300,
                 output_cap_bytes: int = 64_000, extra_env: dict[str, str] | None = None,
                 docker: str = "docker") -> None:
        for name, value in (("memory_mb", memory_mb), ("cpus", cpus), ("timeout_s", timeout_s),
                            ("output_cap_bytes", output_cap_bytes)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise UserError(f"sandbox.{name} must be a positive number, not {value!r}")
        if not image:
            raise UserError("sandbox.image must name a Docker image")
        self.image = image
        self.memory_mb = int(memory_mb)
        self.cpus = float(cpus)
        self.network = network
        self.gpus = gpus
        self.user = user if user is not None else f"{os.getuid()}:{os.getgid()}"
        self.timeout_s = float(timeout_s)
        self.output_cap_bytes = int(output_cap_bytes)
        self.extra_env = {str(key): str(value) for key, value in (extra_env or {}).items()}
        self.docker = docker
        self._engine_ok = False

    def hide(self, paths: list[Path]) -> None:
        """Nothing to do: a container sees only the workspace copy, which never holds the hidden files."""

    def describe(self) -> str:
        """One line naming the sandbox and its limits, for logs and reports."""
        return (f"docker sandbox ({self.image}, memory {self.memory_mb} MB, cpus {self.cpus:g}, "
                f"network {self.network}, gpus {'all' if self.gpus else 'none'})")

    def check_engine(self) -> None:
        """Raise `SandboxUnavailable` with one clear line when no Docker engine can be reached; cached once it can."""
        if self._engine_ok:
            return
        if shutil.which(self.docker) is None:
            raise SandboxUnavailable(f"sandbox=docker: the {self.docker!r} command is not installed; use "
                                     "sandbox=local or install Docker")
        try:
            probe = subprocess.run([self.docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                                   text=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable("sandbox=docker: no Docker engine reachable (`docker info` did not answer in "
                                     "30 s); use sandbox=local or start Docker") from None
        if probe.returncode != 0:
            said = next((line.strip() for line in probe.stderr.splitlines() if line.strip()), "docker info failed")
            raise SandboxUnavailable(f"sandbox=docker: no Docker engine reachable ({said}); use sandbox=local or "
                                     "start Docker")
        self._engine_ok = True

    def environment(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The variables passed into the container with `-e` (nothing else from this process reaches it)."""
        env = {"PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
        if self.network == "none":
            env.update(OFFLINE_ENV)
        env.update(self.extra_env)
        env.update(extra_env or {})
        return env

    def docker_argv(self, command: str, cwd: Path, name: str, extra_env: dict[str, str] | None = None) -> list[str]:
        """The `docker run` command line for one command in the folder `cwd`, as container `name`."""
        argv = [self.docker, "run", "--name", name, "--network", self.network,
                "--memory", f"{self.memory_mb}m", "--memory-swap", f"{self.memory_mb}m", "--cpus", f"{self.cpus:g}",
                "-v", f"{Path(cwd).resolve()}:/workspace", "-w", "/workspace", "--user", self.user]
        if self.gpus:
            argv += ["--gpus", "all"]
        for key, value in self.environment(extra_env).items():
            argv += ["-e", f"{key}={value}"]
        return [*argv, self.image, "bash", "-c", command]

    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` in a fresh container; on timeout the container is killed; it is removed in every case."""
        self.check_engine()
        cwd = Path(cwd)
        if not cwd.is_dir():
            raise NotADirectoryError(f"sandbox cwd is not a folder: {cwd}")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        name = f"copilot-{uuid.uuid4().hex[:12]}"
        out, err = CappedOutput(self.output_cap_bytes), CappedOutput(self.output_cap_bytes)
        started = time.monotonic()
        proc = subprocess.Popen(self.docker_argv(command, cwd, name, extra_env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pumps = [threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
                 threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True)]
        for pump in pumps:
            pump.start()
        timed_out = oom = False
        try:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._docker("kill", name)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            oom = self._docker("inspect", "--format", "{{.State.OOMKilled}}", name).strip() == "true"
        finally:
            if proc.poll() is None:  # interrupted: stop the client and the container
                proc.kill()
            self._docker("rm", "-f", name)
        for pump in pumps:
            pump.join(timeout=5)
        reason, notice = self._classify(proc.returncode, timed_out, oom, timeout)
        return RunResult(command=command, exit_code=proc.returncode, duration_s=round(time.monotonic() - started, 3),
                         stdout_tail=out.text(), stderr_tail=err.text(), stdout_bytes=out.total,
                         stderr_bytes=err.total, reason=reason, notice=notice)

    def _classify(self, code: int, timed_out: bool, oom: bool, timeout: float) -> tuple[EndReason, str | None]:
        """Why the container ended, and a notice explaining a limit it hit."""
        if timed_out:
            return "timeout", f"wall-clock limit of {timeout:g} s reached; the container was killed"
        if oom:
            return "memory", f"the container passed its {self.memory_mb} MB memory limit and was killed"
        if code == DOCKER_ERROR_CODE:
            return "error", "docker could not start the container (see stderr)"
        if code > 128:
            return "killed", f"ended by signal {code - 128}"
        return "finished", None

    def _docker(self, *args: str) -> str:
        """A short docker client call (kill, inspect, rm); its failure is tolerated and yields empty output."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=60)
            return done.stdout if done.returncode == 0 else ""
        return ""
