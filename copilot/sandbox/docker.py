"""`DockerSandbox`: each command in a fresh container with the workspace mounted, no network by default.

The container is `docker run --name copilot-<id> --label copilot.owner=<host>:<pid> --network none --memory M
--memory-swap M --cpus C --pids-limit P --shm-size S --read-only --tmpfs /tmp --cap-drop ALL --security-opt
no-new-privileges --ulimit fsize=F [--ulimit cpu=T] -v <cwd>:<cwd> -w <cwd> [-v <path>:<path>:ro ...] --user
<uid:gid> [--gpus all] -e ... <image> bash -c <command>`: the same limits as the local sandbox (memory, /dev/shm
counted in it by the container's cgroup, processes, file size, CPU time; the workspace's disk use is measured on the
host by the same watchdog, `copilot/sandbox/disk.py`). The workspace is mounted at its own path, so paths in logs and
in links read the same inside and out; paths given to `expose` are mounted read-only; a task's `masked_sources`,
looked up with the image's own Python, are covered by an empty read-only file or folder. The container is not
started with `--rm`: after it ends, `docker inspect` tells whether the kernel killed it for memory (`OOMKilled`),
and then `docker rm -f` removes it. On timeout (or past the disk limit) `docker kill` stops it by name. Only the
variables given with `-e` reach the container, so the parent's secrets never do. Output is captured as in the local
sandbox (`CappedOutput`); peak memory is not measured (None).

A container outlives a copilot killed with SIGKILL (the engine, not copilot, is its parent): the next DockerSandbox
on this machine removes every container labelled with an owner process that is gone.

The engine is checked (`docker info`) on the first run, or earlier by calling `check_engine()`; without one,
`SandboxUnavailable` says so in one line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

from copilot.errors import UserError
from copilot.sandbox.base import CappedOutput, EndReason, RunResult, SandboxUnavailable
from copilot.sandbox.disk import DiskWatch
from copilot.sandbox.interpreter import PROBE, parse_probe
from copilot.sandbox.local import OFFLINE_ENV

DOCKER_ERROR_CODE = 125  # `docker run` itself failed (no such image, bad option), the command never ran
OWNER_LABEL = "copilot.owner"


class DockerSandbox:
    """Runs commands in throw-away containers (see the module docstring for the exact `docker run`)."""

    sees_host_files = False  # only the workspace and the exposed paths are mounted

    def __init__(self, image: str = "python:3.11-slim", memory_mb: int = 4096, cpus: float = 2.0,
                 network: str = "none", gpus: bool = False, user: str | None = None, timeout_s: float = 300,
                 output_cap_bytes: int = 64_000, extra_env: dict[str, str] | None = None,
                 max_processes: int = 512, shm_mb: int | None = None, tmp_mb: int = 1024, max_file_mb: int = 1024,
                 max_disk_mb: int | None = 8192, cpu_time_s: int | None = None, docker: str = "docker",
                 poll_s: float = 0.1) -> None:
        for name, value in (("memory_mb", memory_mb), ("cpus", cpus), ("timeout_s", timeout_s),
                            ("output_cap_bytes", output_cap_bytes), ("max_processes", max_processes),
                            ("shm_mb", shm_mb), ("tmp_mb", tmp_mb), ("max_file_mb", max_file_mb),
                            ("max_disk_mb", max_disk_mb), ("cpu_time_s", cpu_time_s), ("poll_s", poll_s)):
            if value is None and name in ("shm_mb", "max_disk_mb", "cpu_time_s"):
                continue
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
        self.max_processes = int(max_processes)
        self.shm_mb = int(shm_mb or memory_mb)
        self.tmp_mb = int(tmp_mb)
        self.max_file_mb = int(max_file_mb)
        self.max_disk_mb = max_disk_mb
        self.cpu_time_s = cpu_time_s
        self.docker = docker
        self.poll_s = poll_s
        self.exposed: list[Path] = []
        self.masked: list[Path] = []  # paths inside the image
        self.masked_dirs: set[Path] = set()
        self._empty: Path | None = None
        self._engine_ok = False

    # -- what commands see ---------------------------------------------------------------------------------------
    def hide(self, paths: list[Path]) -> None:
        """Nothing to do: a container sees only the workspace copy, which never holds the hidden files."""

    def expose(self, paths: Iterable[Path]) -> None:
        """Mount these host paths read-only, at the same paths, in every later container."""
        for path in paths:
            resolved = Path(os.path.abspath(Path(path).expanduser()))
            if resolved not in self.exposed:
                self.exposed.append(resolved)

    def mask(self, sources: Iterable[str]) -> list[str]:
        """Cover a task's `masked_sources` in the image (found by the image's own Python, `PROBE`) with an empty
        read-only file or folder in every later container; returns the sources that name nothing in the image."""
        expanded = [str(Path(s).expanduser()) if s.startswith("~") else s for s in sources]
        done = self._docker_run_once(["python", "-I", "-c", PROBE, *expanded])
        if done is None:
            raise SandboxUnavailable(f"sandbox=docker: could not ask {self.image}'s python where its packages are, "
                                     "so the task's masked_sources cannot be hidden")
        answer = parse_probe(done)
        self.masked = list(dict.fromkeys([*self.masked, *answer.masked]))
        self.masked_dirs = {*self.masked_dirs, *answer.masked_dirs}
        return answer.missing

    def bind_task(self, task: Any) -> None:
        """Mask `task`'s `masked_sources` in the image; its hidden files are never in a container anyway."""
        if task.spec.masked_sources:
            self.mask(task.spec.masked_sources)

    def describe(self) -> str:
        """One line naming the sandbox and its limits, for logs and reports."""
        return (f"docker sandbox ({self.image}, memory {self.memory_mb} MB, cpus {self.cpus:g}, processes "
                f"{self.max_processes}, disk {self.max_disk_mb} MB, network {self.network}, gpus "
                f"{'all' if self.gpus else 'none'})")

    # -- the engine ----------------------------------------------------------------------------------------------
    def check_engine(self) -> None:
        """Raise `SandboxUnavailable` with one clear line when no Docker engine can be reached; cached once it can.
        The first successful check also removes containers left by a copilot that is gone."""
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
        self.remove_orphans()

    def remove_orphans(self) -> list[str]:
        """Remove the containers of this machine whose copilot process is gone (killed with SIGKILL mid-run)."""
        listing = self._docker("ps", "-a", "--filter", f"label={OWNER_LABEL}", "--format",
                               f'{{{{.Names}}}} {{{{.Label "{OWNER_LABEL}"}}}}')
        removed = []
        for line in listing.splitlines():
            name, _, owner = line.strip().partition(" ")
            host, _, pid = owner.partition(":")
            if host == socket.gethostname() and pid.isdigit() and not psutil.pid_exists(int(pid)):
                self._docker("rm", "-f", name)
                removed.append(name)
        return removed

    def environment(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The variables passed into the container with `-e` (nothing else from this process reaches it)."""
        env = {"PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp",
               "TMPDIR": "/tmp"}
        if self.network == "none":
            env.update(OFFLINE_ENV)
        env.update(self.extra_env)
        env.update(extra_env or {})
        return env

    def docker_argv(self, command: str, cwd: Path, name: str, extra_env: dict[str, str] | None = None) -> list[str]:
        """The `docker run` command line for one command in the folder `cwd`, as container `name`."""
        folder = Path(cwd).resolve()
        argv = [self.docker, "run", "--name", name, "--label", f"{OWNER_LABEL}={socket.gethostname()}:{os.getpid()}",
                "--network", self.network, "--memory", f"{self.memory_mb}m", "--memory-swap", f"{self.memory_mb}m",
                "--cpus", f"{self.cpus:g}", "--pids-limit", str(self.max_processes), "--shm-size", f"{self.shm_mb}m",
                "--read-only", "--tmpfs", f"/tmp:rw,exec,size={self.tmp_mb}m,mode=1777", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges", "--ulimit", f"fsize={self.max_file_mb * 2**20}"]
        if self.cpu_time_s:
            argv += ["--ulimit", f"cpu={int(self.cpu_time_s)}:{int(self.cpu_time_s) + 5}"]
        argv += ["-v", f"{folder}:{folder}", "-w", str(folder), "--user", self.user]
        for path in self.exposed:
            if path.exists() and not path.is_relative_to(folder):
                argv += ["-v", f"{path}:{path}:ro"]
        for path in self.masked:
            argv += ["-v", f"{self._empty_folder() if path in self.masked_dirs else '/dev/null'}:{path}:ro"]
        if self.gpus:
            argv += ["--gpus", "all"]
        for key, value in self.environment(extra_env).items():
            argv += ["-e", f"{key}={value}"]
        return [*argv, self.image, "bash", "-c", command]

    def _empty_folder(self) -> Path:
        if self._empty is None:
            self._empty = Path(tempfile.mkdtemp(prefix="copilot-docker-empty-"))
        return self._empty

    # -- running -------------------------------------------------------------------------------------------------
    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` in a fresh container; on timeout or past the disk limit the container is killed; it is
        removed in every case."""
        self.check_engine()
        cwd = Path(cwd)
        if not cwd.is_dir():
            raise NotADirectoryError(f"sandbox cwd is not a folder: {cwd}")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        name = f"copilot-{uuid.uuid4().hex[:12]}"
        out, err = CappedOutput(self.output_cap_bytes), CappedOutput(self.output_cap_bytes)
        disk = DiskWatch([cwd], self.max_disk_mb * 2**20, 2 * self.poll_s) if self.max_disk_mb else None
        started = time.monotonic()
        proc = subprocess.Popen(self.docker_argv(command, cwd, name, extra_env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pumps = [threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
                 threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True)]
        for pump in pumps:
            pump.start()
        broken: str | None = None
        oom = False
        try:
            while proc.poll() is None:
                if time.monotonic() - started > timeout:
                    broken = "timeout"
                elif disk is not None and disk.over():
                    broken = "disk"
                if broken:
                    self._docker("kill", name)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    break
                time.sleep(self.poll_s)
            if broken is None and disk is not None and disk.over(now=True):
                broken = "disk"
            oom = self._docker("inspect", "--format", "{{.State.OOMKilled}}", name).strip() == "true"
        finally:
            if proc.poll() is None:  # interrupted: stop the client and the container
                proc.kill()
            self._docker("rm", "-f", name)
        for pump in pumps:
            pump.join(timeout=5)
        reason, notice = self._classify(proc.returncode, broken, oom, timeout, disk.used if disk else 0)
        return RunResult(command=command, exit_code=proc.returncode, duration_s=round(time.monotonic() - started, 3),
                         stdout_tail=out.text(), stderr_tail=err.text(), stdout_bytes=out.total,
                         stderr_bytes=err.total, reason=reason, notice=notice)

    def _classify(self, code: int, broken: str | None, oom: bool, timeout: float,
                  disk_used: int) -> tuple[EndReason, str | None]:
        """Why the container ended, and a notice explaining a limit it hit."""
        if broken == "timeout":
            return "timeout", f"wall-clock limit of {timeout:g} s reached; the container was killed"
        if broken == "disk":
            return "killed", (f"the command's folder held {disk_used / 2**20:,.0f} MB, more than the disk limit of "
                              f"{self.max_disk_mb} MB; the container was stopped there")
        if oom:
            return "memory", f"the container passed its {self.memory_mb} MB memory limit and was killed"
        if code == DOCKER_ERROR_CODE:
            return "error", "docker could not start the container (see stderr)"
        if code > 128:
            return "killed", f"ended by signal {code - 128}"
        return "finished", None

    def _docker(self, *args: str) -> str:
        """A short docker client call (kill, inspect, rm, ps); its failure is tolerated and yields empty output."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=60)
            return done.stdout if done.returncode == 0 else ""
        return ""

    def _docker_run_once(self, argv: list[str]) -> str | None:
        """The stdout of a throw-away container running `argv` (no network), or None when it failed."""
        self.check_engine()
        command = " ".join(shlex.quote(a) for a in argv)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run([self.docker, "run", "--rm", "--network", "none", self.image, "bash", "-c",
                                   command], capture_output=True, text=True, timeout=300)
            return done.stdout if done.returncode == 0 else None
        return None
