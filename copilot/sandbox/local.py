"""`LocalSandbox`: experiment code as a limited, isolated process tree on this machine.

Each command runs as `[sh JOIN_SCRIPT <cgroup>] bwrap <view> -- /bin/bash -c <limits> copilot-sandbox <command>`:
- Isolation (`backend`): bubblewrap (`copilot/sandbox/bubblewrap.py`): new user, PID, network, IPC and UTS
  namespaces, `--die-with-parent`, no capabilities, and a filesystem view built from an allowlist (the system's
  programs and libraries, the interpreter's folders and the paths given to `read_paths`/`expose`, read-only; the
  command's folder and a private TMPDIR at /tmp, writable; a private /dev, /dev/shm and /proc). Where bubblewrap is
  missing or cannot run (no user namespaces), the fallback is `unshare` (`copilot/sandbox/unshare.py`), which
  confines writes and the network only; every result then carries a notice saying what is not isolated.
- Process tree: inside the PID namespace nothing outlives the command: when its first process ends, the namespace's
  init and with it every process left are killed by the kernel, also when copilot itself is killed (SIGKILL
  included). The watchdog kills the tree at the wall-clock limit. In the fallback, processes are found by the
  process group, by descent and by the marker variable `COPILOT_SANDBOX_RUN`.
- Processes: `max_processes` is enforced by a cgroup's `pids.max` where one can be made (`copilot/sandbox/cgroups.py`;
  the kernel counts threads too), by RLIMIT_NPROC in the command's own user namespace, and in any case by the
  watchdog, which kills a tree that holds more processes than that.
- Memory: `memory_mb` is enforced three ways. Each process gets RLIMIT_AS (`ulimit -v`): an allocation beyond it fails
  inside the process (Python MemoryError, C++ bad_alloc); turn it off with `limit_address_space=False` for CUDA,
  which reserves far more virtual address space than it uses. The cgroup (where there is one) caps the tree's memory,
  page cache and shared memory included. And the watchdog samples every `poll_s` the resident memory of the tree plus
  what it holds in its private /dev/shm (a tmpfs of at most `shm_mb`, default `memory_mb`), and kills the tree when
  the sum passes the limit. `reason="memory"` means: the watchdog or the cgroup killed it, or the command failed and
  its stderr shows one of `MEMORY_MARKERS`, or it died of SIGKILL/SIGSEGV/SIGABRT while its peak was within 90% of
  the limit (a heuristic: the kernel's OOM killer gives no other sign to an unprivileged parent).
- Disk: `max_file_mb` per file (RLIMIT_FSIZE), `max_disk_mb` for the command's folder and its private TMPDIR together
  (measured by the watchdog, `copilot/sandbox/disk.py`; the tree is killed past it). CPU: `cpu_time_s` (RLIMIT_CPU).
- Peak memory: the larger of the sampled sum over the tree and the kernel's max RSS of the command's process and
  the children it waited for (`os.wait4`), which also catches processes too short-lived to be sampled.
- Output: both pipes are read in threads as data arrives; `CappedOutput` keeps a head and a tail of
  `output_cap_bytes` each and counts what was cut, so a command printing gigabytes costs no memory.
- Environment: only the variables in `env_allowlist` pass (API keys, tokens and other secrets of the parent never
  do). The bin folder of the interpreter running copilot (its virtualenv) comes first on PATH, so `python` means
  that interpreter; `PYTHONUNBUFFERED=1` and `MPLBACKEND=Agg` are set, and with network isolation also the offline
  switches of Hugging Face libraries (`OFFLINE_ENV`). Inside the view HOME is a private folder under /tmp.
- Hidden and masked paths: `hide(paths)` (a task's held-out answers in its starter folder) and `mask(sources)` (a
  task's `masked_sources`, installed data that would give the answers away) read as empty inside every command's view;
  `expose(paths)` makes further host paths readable (resources stage 2 found). Folders named by the environment the
  sandbox adds (`extra_env`, e.g. `HF_HUB_CACHE` of a run's hub-id links) are readable with what their links lead to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from copilot.errors import UserError
from copilot.sandbox.base import CappedOutput, EndReason, RunResult
from copilot.sandbox.bubblewrap import BubblewrapCommand, bubblewrap_version, gpu_devices
from copilot.sandbox.cgroups import JOIN_FAILED_CODE, JOIN_SCRIPT, CommandCgroup
from copilot.sandbox.disk import DiskWatch
from copilot.sandbox.interpreter import Interpreter, probe_interpreter
from copilot.sandbox.process_tree import MARKER_VAR, ProcessTree
from copilot.sandbox.unshare import CONFINE_FAILED, SANDBOX_TMP_VAR, SHM_SIZE_VAR, UnshareIsolation

if TYPE_CHECKING:
    from copilot.task import Task

log = logging.getLogger("copilot.sandbox")

DEFAULT_ALLOWLIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME",
                     "SHELL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "OutOfMemoryError")
OFFLINE_ENV = (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
               ("WANDB_MODE", "offline"))
LIMITS_FAILED = "copilot sandbox: could not set resource limits"
LIMITS_FAILED_CODE = 125
MEMORY_SIGNALS = (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT)
BWRAP_OWN_PROCESSES = 2  # bubblewrap itself and the init of the PID namespace, around the command's processes
MAX_LINKS_FOLLOWED = 2000
HF_REPO_PREFIXES = ("models--", "datasets--", "spaces--")


def _signal_of(code: int | None) -> int | None:
    """The signal that ended a command: Python's negative exit codes, or bash's 128+N for a killed child."""
    if code is None:
        return None
    if code < 0:
        return -code
    if 128 < code < 128 + 65:
        return code - 128
    return None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def link_targets(folder: Path, limit: int = MAX_LINKS_FOLLOWED) -> list[Path]:
    """Where the links under `folder` lead (resolved), and the links under those, for a view that must show them: a
    run's hub-id cache is links to model folders, whose own files may be links into a cache's blobs."""
    found: list[Path] = []
    pending, visited = [folder], 0
    while pending and visited < limit:
        current = pending.pop()
        for root, dirs, files in os.walk(current):
            for name in [*dirs, *files]:
                visited += 1
                path = Path(root, name)
                if path.is_symlink() and path.exists():
                    target = path.resolve()
                    if target not in found:
                        found.append(target)
                        if target.is_dir():
                            pending.append(target)
                        else:
                            found[-1] = target.parent
            if visited >= limit:
                break
    return list(dict.fromkeys(found))


class LocalSandbox:
    """Runs commands as limited, isolated process trees on this machine (see the module docstring)."""

    sees_host_files = True  # commands read host paths the view shows (installed packages, model folders, links)

    def __init__(
        self,
        timeout_s: float = 300,
        memory_mb: int | None = 4096,
        cpu_time_s: int | None = None,
        max_file_mb: int | None = 1024,
        max_disk_mb: int | None = 8192,
        max_processes: int | None = 512,
        shm_mb: int | None = None,
        output_cap_bytes: int = 64_000,
        env_allowlist: list[str] | tuple[str, ...] = DEFAULT_ALLOWLIST,
        network: str = "isolate",
        filesystem: str = "confine",
        backend: str = "auto",
        read_paths: list[str] | tuple[str, ...] = (),
        gpus: str = "auto",
        cgroup: bool = True,
        python: str | None = None,
        limit_address_space: bool = True,
        extra_env: dict[str, str] | None = None,
        poll_s: float = 0.05,
    ) -> None:
        for name, value in (("timeout_s", timeout_s), ("memory_mb", memory_mb), ("cpu_time_s", cpu_time_s),
                            ("max_file_mb", max_file_mb), ("max_disk_mb", max_disk_mb),
                            ("max_processes", max_processes), ("shm_mb", shm_mb),
                            ("output_cap_bytes", output_cap_bytes), ("poll_s", poll_s)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise UserError(f"sandbox.{name} must be a positive number (or null where allowed), not {value!r}")
        for name, option, choices in (("network", network, ("isolate", "allow")),
                                      ("filesystem", filesystem, ("confine", "open")),
                                      ("backend", backend, ("auto", "bubblewrap", "unshare")),
                                      ("gpus", gpus, ("auto", "none"))):
            if option not in choices:
                raise UserError(f"sandbox.{name} must be one of {', '.join(choices)}, not {option!r}")
        interpreter = Path(python or sys.executable)
        if not interpreter.is_file():
            raise UserError(f"sandbox.python: no interpreter at {interpreter}")
        self.timeout_s = float(timeout_s)
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.max_file_mb = max_file_mb
        self.max_disk_mb = max_disk_mb
        self.max_processes = max_processes
        self.shm_mb = shm_mb or memory_mb
        self.output_cap_bytes = int(output_cap_bytes)
        self.env_allowlist = tuple(env_allowlist)
        self.network = network
        self.filesystem = filesystem
        self.backend = backend
        self.read_paths = [Path(p).expanduser() for p in read_paths if p]
        self.gpus = gpus
        self.use_cgroup = cgroup
        self.python = interpreter
        self.limit_address_space = limit_address_space
        self.extra_env = {str(key): str(value) for key, value in (extra_env or {}).items()}
        self.poll_s = poll_s
        self.hidden_paths: tuple[Path, ...] = ()
        self.masked_sources: list[str] = []
        self.exposed: list[Path] = []
        self._masked: list[Path] = []
        self._interpreter: Interpreter | None = None
        self._mode: str | None = None  # "bubblewrap", "unshare": found on the first run
        self._bwrap: BubblewrapCommand | None = None
        self._bwrap_options: dict = {}
        self._unshare = UnshareIsolation(network, filesystem)
        self._notices: list[str] = []

    # -- what commands see ---------------------------------------------------------------------------------------
    def hide(self, paths: Iterable[Path]) -> None:
        """Make these host files read as empty to every later command (a task's held-out answers, which stay in its
        starter folder): /dev/null over each, inside the command's own mount namespace; the host's files are
        untouched. With bubblewrap the starter folder is not in the view at all; the mask covers a view that shows
        it anyway (through `read_paths`)."""
        self.hidden_paths = tuple(Path(p).resolve() for p in paths)

    def mask(self, sources: Iterable[str]) -> list[str]:
        """Hide a task's `masked_sources` from every later command (an empty file or folder in their place), looked
        up with the experiment's interpreter; returns the sources that name nothing installed (logged)."""
        expanded = [str(Path(s).expanduser()) if s.startswith("~") else s for s in sources]
        self.masked_sources = list(dict.fromkeys([*self.masked_sources, *expanded]))
        self._interpreter = probe_interpreter(self.python, self.masked_sources)
        self._masked = list(self._interpreter.masked)
        for source in self._interpreter.missing:
            log.warning("masked source %s: nothing installed by that name; nothing to hide", source)
        self._bwrap = None
        return list(self._interpreter.missing)

    def expose(self, paths: Iterable[Path]) -> None:
        """Make these host paths readable (read-only) to every later command: resources stage 2 found (models,
        datasets) and scripts copilot itself runs in the sandbox."""
        for path in paths:
            resolved = Path(os.path.abspath(Path(path).expanduser()))
            # A snapshot of the Hugging Face cache (<cache>/models--org--name/snapshots/<revision>) is links into the
            # repository's blobs: the repository's folder is shown. Links elsewhere are not followed (a cloned
            # repository may hold a link to anywhere).
            if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith(HF_REPO_PREFIXES):
                resolved = resolved.parent.parent
            if resolved not in self.exposed:
                self.exposed.append(resolved)
        self._bwrap = None

    def bind_task(self, task: Task) -> None:
        """Set up what every later command of `task` may and may not see: its hidden files and `masked_sources`
        hidden, and the targets of the links in its starter folder readable (a starter that links to its data)."""
        self.hide([task.workspace / rel for rel in task.spec.hidden])
        if task.spec.masked_sources:
            self.mask(task.spec.masked_sources)
        self.expose(link_targets(task.workspace))

    def describe(self) -> str:
        """One line naming the sandbox and its limits, for logs and reports."""
        network, filesystem = self.network, self.filesystem
        if self._mode == "bubblewrap":
            network = "isolated" if network == "isolate" else "allowed"
            filesystem = "confined (reads and writes)" if filesystem == "confine" else "open"
        elif self._mode == "unshare":
            if network == "isolate":
                network = "isolated" if self._unshare.net_isolated else "NOT isolated (unshare unavailable)"
            if filesystem == "confine":
                filesystem = ("confined (writes only)" if self._unshare.fs_confined
                              else "NOT confined (no mount namespace)")
        isolation = f"{self._mode}, " if self._mode else ""
        return (f"local sandbox ({isolation}timeout {self.timeout_s:g} s, memory {self.memory_mb} MB, cpu "
                f"{self.cpu_time_s} s, files {self.max_file_mb} MB, disk {self.max_disk_mb} MB, processes "
                f"{self.max_processes}, network {network}, filesystem {filesystem})")

    def environment(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The child's environment: allowlisted variables only, the interpreter's bin folder first on PATH."""
        env = {key: os.environ[key] for key in self.env_allowlist if key in os.environ}
        env["PATH"] = os.pathsep.join([str(self.python.parent), env.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
        env.update({"PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"})
        if self.network == "isolate":
            env.update(OFFLINE_ENV)
        env.update(self.extra_env)
        env.update(extra_env or {})
        return env

    # -- isolation -------------------------------------------------------------------------------------------------
    def _choose_mode(self) -> str:
        """bubblewrap where it is installed and runs here, else the unshare fallback (with its notices); once."""
        if self._mode is not None:
            return self._mode
        reason = "sandbox.backend=unshare"
        if self.backend in ("auto", "bubblewrap"):
            bwrap = shutil.which("bwrap")
            reason = "bubblewrap (bwrap) is not installed"
            if bwrap is not None:
                reason = self._try_bubblewrap(bwrap)
                if not reason:
                    self._mode = "bubblewrap"
                    return self._mode
            if self.backend == "bubblewrap":
                raise UserError(f"sandbox.backend=bubblewrap: {reason}; install bubblewrap (apt-get install "
                                "bubblewrap) or use sandbox.backend=auto")
        self._mode = "unshare"
        self._unshare.check()
        self._notices = [*self._unshare.notices]
        if self.backend != "unshare":
            self._notices.insert(0, f"{reason}, so the fallback isolation runs: reads of this machine's files are "
                                    "not confined, /dev and /proc are the host's, and a process that leaves the "
                                    "process group and drops its environment can outlive the command")
        for notice in self._notices:
            log.warning("sandbox: %s", notice)
        return self._mode

    def _try_bubblewrap(self, bwrap: str) -> str:
        """'' when bubblewrap runs a trivial command here with every option the sandbox uses, else why not."""
        version = bubblewrap_version(bwrap)
        self._bwrap_options = {"bwrap": bwrap, "disable_userns": version >= (0, 8)}
        with tempfile.TemporaryDirectory(prefix="copilot-probe-") as folder:
            probe = self._bubblewrap().argv(["/bin/true"], Path(folder), Path(folder))
            try:
                done = subprocess.run(probe, capture_output=True, text=True, timeout=30, env={"PATH": os.defpath})
            except (OSError, subprocess.TimeoutExpired) as error:
                return f"bubblewrap could not run ({error})"
        if done.returncode != 0:
            said = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "no message")
            return f"bubblewrap cannot run here ({said})"
        return ""

    def _bubblewrap(self) -> BubblewrapCommand:
        if self._bwrap is None:
            if self._interpreter is None:
                self._interpreter = probe_interpreter(self.python)
            self._bwrap = BubblewrapCommand(
                self._bwrap_options["bwrap"], isolate_network=self.network == "isolate",
                confine=self.filesystem == "confine", disable_userns=self._bwrap_options["disable_userns"],
                read_only=[*self._interpreter.folders(), *self.read_paths, *self.exposed],
                masks=[*self.hidden_paths, *self._masked], devices=gpu_devices() if self.gpus == "auto" else [],
                shm_bytes=self.shm_mb * 2**20 if self.shm_mb else None)
        return self._bwrap

    def _env_paths(self, env: dict[str, str], cwd: Path) -> list[Path]:
        """Existing folders named by the variables the sandbox adds (not the host's), and where their links lead;
        never a folder inside the command's own folder, whose links the command itself may have made."""
        paths = []
        for value in env.values():
            path = Path(value)
            if (value.startswith("/") and os.pathsep not in value and path.is_dir()
                    and not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(cwd))):
                paths += [path, *link_targets(path)]
        return paths

    def _limits(self, own_user_namespace: bool) -> str:
        """The wrapper's `ulimit` lines (RLIMIT_NPROC only where the command has a user namespace of its own: there
        it counts the command's processes, elsewhere every process of the user on the machine)."""
        limits = []
        if self.memory_mb and self.limit_address_space:
            limits.append(f"ulimit -v {int(self.memory_mb) * 1024}")
        if self.cpu_time_s:
            # soft limit: SIGXCPU; the hard limit a few seconds later: SIGKILL for code that ignores SIGXCPU. The soft
            # limit goes first: a hard limit below the current (unlimited) soft one is refused.
            limits += [f"ulimit -St {int(self.cpu_time_s)}", f"ulimit -Ht {int(self.cpu_time_s) + 5}"]
        if self.max_file_mb:
            limits.append(f"ulimit -f {int(self.max_file_mb) * 1024}")  # bash counts 1024-byte blocks
        if self.max_processes and own_user_namespace:
            limits.append(f"ulimit -u {int(self.max_processes) + BWRAP_OWN_PROCESSES}")
        if not limits:
            return ""
        return (f"{{ {' && '.join(limits)}; }} || {{ echo {shlex.quote(LIMITS_FAILED)} >&2; "
                f"exit {LIMITS_FAILED_CODE}; }}")

    def _argv(self, command: str, cwd: Path, added_env: dict[str, str], private_tmp: Path | None) -> list[str]:
        if self._mode == "bubblewrap":
            wrapper = "\n".join(step for step in (self._limits(True), 'exec /bin/bash -c "$1"') if step)
            view = self._bubblewrap()
            extra = self._env_paths(added_env, cwd)
            if extra:
                view = BubblewrapCommand(view.bwrap, isolate_network=view.isolate_network, confine=view.confine,
                                         disable_userns=view.disable_userns, read_only=[*view.read_only, *extra],
                                         masks=view.masks, devices=view.devices, shm_bytes=view.shm_bytes)
            return view.argv(["/bin/bash", "-c", wrapper, "copilot-sandbox", command], cwd, private_tmp)
        steps = self._unshare.steps([*self.hidden_paths, *self._masked])
        steps.append(self._limits(self._unshare.own_user_namespace))
        steps.append(f'exec {self._unshare.exec_prefix()}/bin/bash -c "$1"')
        wrapper = "\n".join(step for step in steps if step)
        return [*self._unshare.prefix, "/bin/bash", "-c", wrapper, "copilot-sandbox", command]

    def _private_environment(self, env: dict[str, str], private_tmp: Path) -> None:
        """Point temporary files and caches at the private TMPDIR (seen as /tmp inside the bubblewrap view, where HOME
        is a folder in it too: the real one is not in the view)."""
        view = self._mode == "bubblewrap" and self.filesystem == "confine"
        inside = Path("/tmp") if view else private_tmp
        (private_tmp / "home").mkdir()
        env.update({"TMPDIR": str(inside), SANDBOX_TMP_VAR: str(private_tmp),
                    "MPLCONFIGDIR": str(inside / "matplotlib"), "HF_DATASETS_CACHE": str(inside / "hf-datasets")})
        if view:
            env["HOME"] = str(inside / "home")
        elif self.shm_mb:
            env[SHM_SIZE_VAR] = f"{int(self.shm_mb)}m"

    # -- running -------------------------------------------------------------------------------------------------
    def run(self, command: str, cwd: Path, *, timeout_s: float | None = None,
            extra_env: dict[str, str] | None = None) -> RunResult:
        """Run `command` with bash in `cwd` and report how it went; the command's own failures never raise.

        `cwd` must be an existing folder (the caller's responsibility; a missing one is our bug and raises).
        """
        cwd = Path(cwd)
        if not cwd.is_dir():
            raise NotADirectoryError(f"sandbox cwd is not a folder: {cwd}")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        marker = uuid.uuid4().hex
        mode = self._choose_mode()
        env = {**self.environment(extra_env), MARKER_VAR: marker}
        confined = mode == "bubblewrap" or self._unshare.fs_confined
        private_tmp = Path(tempfile.mkdtemp(prefix="copilot-sandbox-")) if confined else None
        if private_tmp is not None:
            self._private_environment(env, private_tmp)
        argv = self._argv(command, cwd, {**self.extra_env, **(extra_env or {})}, private_tmp)
        cgroup = (CommandCgroup.create(self.max_processes, (self.memory_mb or 0) * 2**20 or None)
                  if self.use_cgroup else None)
        if cgroup is not None:
            argv = ["/bin/sh", "-c", JOIN_SCRIPT, "copilot-join", *cgroup.procs_files, "--", *argv]
        try:
            return self._supervise(command, argv, cwd, env, timeout, marker, private_tmp, cgroup)
        finally:
            if cgroup is not None:
                cgroup.remove()
            if private_tmp is not None:
                shutil.rmtree(private_tmp, ignore_errors=True)

    def _supervise(self, command: str, argv: list[str], cwd: Path, env: dict[str, str], timeout: float, marker: str,
                   private_tmp: Path | None, cgroup: CommandCgroup | None) -> RunResult:
        """Start `argv`, watch it until it ends or breaks a limit, and report."""
        out, err = CappedOutput(self.output_cap_bytes), CappedOutput(self.output_cap_bytes)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            return RunResult(command=command, exit_code=None, duration_s=0.0, reason="error",
                             stderr_tail=f"could not start the command: {error}")
        pumps = [threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
                 threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True)]
        for pump in pumps:
            pump.start()
        namespaced = self._mode == "bubblewrap"
        tree = ProcessTree(proc.pid, marker, namespaced=namespaced)
        own = BWRAP_OWN_PROCESSES if namespaced else 0
        disk = (DiskWatch([cwd, *([private_tmp] if private_tmp else [])], self.max_disk_mb * 2**20,
                          min_interval_s=2 * self.poll_s) if self.max_disk_mb else None)
        limit_bytes = (self.memory_mb or 0) * 2**20
        shm_probe = _SharedMemory(private_view=private_tmp is not None, root_inside=not namespaced)
        exit_fd = _exit_fd(proc.pid)
        peak, status, usage = 0, None, None
        broken: str | None = None  # the limit the watchdog enforced: timeout, memory, processes, disk
        try:
            while status is None:
                pid, wait_status, wait_usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, usage = wait_status, wait_usage
                    break
                rss = tree.sample()
                shm = shm_probe.used(tree)
                peak = max(peak, rss + shm)
                # summed RSS counts pages shared by forked workers once per worker: confirm with PSS before killing
                if bool(limit_bytes) and rss + shm > limit_bytes and tree.proportional_memory() + shm > limit_bytes:
                    broken = "memory"
                elif time.monotonic() - started > timeout:
                    broken = "timeout"
                elif self.max_processes and tree.count - own > self.max_processes:
                    broken = "processes"
                elif disk is not None and disk.over():
                    broken = "disk"
                if broken:
                    tree.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                _wait_for_exit(exit_fd, self.poll_s)
        finally:
            if status is None:  # interrupted (Ctrl-C) or our own bug: never leave the experiment running
                tree.kill()
                with contextlib.suppress(ChildProcessError):
                    os.wait4(proc.pid, 0)
            if exit_fd is not None:
                os.close(exit_fd)
        proc.returncode = os.waitstatus_to_exitcode(status)
        leftovers = tree.kill()
        if broken is None and disk is not None and disk.over(now=True):
            broken = "disk"  # passed between two measurements, just before the command ended
        for pump in pumps:
            pump.join(timeout=5)
        duration = time.monotonic() - started
        assert usage is not None
        peak = max(peak, usage.ru_maxrss * 1024)
        cpu_used = usage.ru_utime + usage.ru_stime
        reason, notices = self._classify(proc.returncode, broken, err.text(), peak, cpu_used, timeout, cgroup,
                                         disk.used if disk else 0, tree.count - own)
        if leftovers and not broken:
            notices.append(f"{leftovers} background process(es) still running at the end were killed")
        if any(pump.is_alive() for pump in pumps):
            notices.append("an escaped process still holds the output pipes; output may be incomplete")
        notices += self._notices
        return RunResult(
            command=command, exit_code=proc.returncode, duration_s=round(duration, 3),
            peak_memory_mb=round(peak / 2**20, 1) if peak else None,
            stdout_tail=out.text(), stderr_tail=err.text(), stdout_bytes=out.total, stderr_bytes=err.total,
            reason=reason, notice="; ".join(notices) or None,
        )

    def _classify(self, code: int, broken: str | None, stderr: str, peak: int, cpu_used: float, timeout: float,
                  cgroup: CommandCgroup | None, disk_used: int, processes: int) -> tuple[EndReason, list[str]]:
        """Why the command ended, and notices that explain a limit it hit."""
        refused = cgroup.forks_refused() if cgroup is not None else 0
        limit_note = ([f"the process limit of {self.max_processes} refused {refused} new process(es)"]
                      if refused else [])
        if broken == "timeout":
            return "timeout", [f"wall-clock limit of {timeout:g} s reached; the process tree was killed"]
        if broken == "memory":
            return "memory", [f"the process tree's memory (resident and /dev/shm) passed the {self.memory_mb} MB "
                              "limit; it was killed"]
        if broken == "processes":
            return "killed", [f"the process tree held {processes} processes, more than the limit of "
                              f"{self.max_processes}; it was killed"]
        if broken == "disk":
            return "killed", [f"the command's folder and TMPDIR held {disk_used / 2**20:,.0f} MB, more than the disk "
                              f"limit of {self.max_disk_mb} MB; the process tree was stopped there"]
        if code in (LIMITS_FAILED_CODE, JOIN_FAILED_CODE) and any(
                marker in stderr for marker in (LIMITS_FAILED, CONFINE_FAILED, "could not join the cgroup")):
            return "error", []
        if code == 1 and stderr.startswith("bwrap: "):
            return "error", [f"the sandbox could not start the command ({stderr.strip().splitlines()[0]})"]
        signum = _signal_of(code)
        if cgroup is not None and cgroup.oom_kills():
            return "memory", [f"the kernel stopped a process at the {self.memory_mb} MB memory limit", *limit_note]
        near_limit = bool(self.memory_mb) and peak >= 0.9 * (self.memory_mb or 0) * 2**20
        if code != 0 and any(marker in stderr for marker in MEMORY_MARKERS):
            return "memory", [f"ran out of memory (limit {self.memory_mb} MB per process and for the tree)"]
        if self.cpu_time_s and signum in (signal.SIGXCPU, signal.SIGKILL) and cpu_used >= 0.9 * self.cpu_time_s:
            return "killed", [f"CPU-time limit of {self.cpu_time_s} s reached"]
        if signum == signal.SIGXFSZ or (code != 0 and "File too large" in stderr):
            reason: EndReason = "killed" if signum else "finished"
            return reason, [f"a file reached the size limit of {self.max_file_mb} MB"]
        if signum in MEMORY_SIGNALS and near_limit:
            return "memory", [f"killed by signal {signum} with peak memory near the {self.memory_mb} MB limit"]
        if signum is not None:
            return "killed", [f"ended by {_signal_name(signum)}", *limit_note]
        return "finished", limit_note


class _SharedMemory:
    """What the command holds in its private /dev/shm (a tmpfs, so memory), read through /proc/<pid>/root of one of
    its processes; 0 where the command has no private view or its processes cannot be read."""

    def __init__(self, private_view: bool, root_inside: bool) -> None:
        self.private_view = private_view
        self.root_inside = root_inside  # whether the root process is inside the view (unshare execs; bwrap forks)
        self.path: str | None = None

    def used(self, tree: ProcessTree) -> int:
        """Bytes in use in the private /dev/shm now."""
        if not self.private_view:
            return 0
        pids = [*([tree.root_pid] if self.root_inside else []), *tree.inner_pids()[:3]]
        for path in [self.path] if self.path else [f"/proc/{pid}/root/dev/shm" for pid in pids]:
            try:
                stats = os.statvfs(path)
            except OSError:
                self.path = None
                continue
            self.path = path
            return (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        return 0


def _exit_fd(pid: int) -> int | None:
    """A pidfd that becomes readable when `pid` exits (Linux 5.3+), so the watchdog wakes at once; None elsewhere."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _wait_for_exit(fd: int | None, timeout_s: float) -> None:
    if fd is None:
        time.sleep(timeout_s)
        return
    select.select([fd], [], [], timeout_s)
