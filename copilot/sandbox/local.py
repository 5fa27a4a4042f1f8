"""`LocalSandbox`: experiment code as a limited child process tree on this machine.

How each run is built (`argv`): `[unshare --net --mount] /bin/bash -c <wrapper> copilot-sandbox <command>`, where the
wrapper brings the namespace's loopback up, confines the filesystem, sets the resource limits with bash's `ulimit`
(per process: address space, CPU seconds, file size) and `exec`s `bash -c <command>`. Setting limits in the shell
instead of a `preexec_fn` keeps the spawn safe in a threaded parent. The child starts a new session
(`start_new_session=True`), so it has its own process group.

- Wall-clock timeout: the whole tree is killed with SIGKILL: the process group, every descendant ever sampled, and
  every process carrying this run's marker variable `COPILOT_SANDBOX_RUN` in its environment, which finds the ones
  that called setsid and were re-parented before a sample saw them. Leftover background processes are killed the
  same way when the command ends on its own, so nothing a run starts outlives it.
- Memory: `memory_mb` is enforced twice. Each process gets RLIMIT_AS (`ulimit -v`): an allocation beyond it fails
  inside the process (Python MemoryError, C++ bad_alloc, malloc returning NULL); turn it off with
  `limit_address_space=False` for CUDA, which reserves far more virtual address space than it uses. And the summed
  resident memory of the tree is sampled every `poll_s`; the tree is killed when it passes the limit.
  `reason="memory"` means: the watchdog killed the tree, or the command failed and its stderr shows one of
  `MEMORY_MARKERS`, or it died of SIGKILL/SIGSEGV/SIGABRT while its peak RSS was within 90% of the limit (a heuristic:
  the kernel's OOM killer gives no other sign to an unprivileged parent).
- Peak memory: the larger of the sampled sum over the tree and the kernel's max RSS of the command's process and
  the children it waited for (`os.wait4`), which also catches processes too short-lived to be sampled.
- Output: both pipes are read in threads as data arrives; `CappedOutput` keeps a head and a tail of
  `output_cap_bytes` each and counts what was cut, so a command printing gigabytes costs no memory.
- Environment: only the variables in `env_allowlist` pass (API keys, tokens and other secrets of the parent never
  do). The bin folder of the interpreter running copilot (its virtualenv) comes first on PATH, so `python` means
  that interpreter; `PYTHONUNBUFFERED=1` and `MPLBACKEND=Agg` are set, and with network isolation also the offline
  switches of Hugging Face libraries (`OFFLINE_ENV`).
- Filesystem: `filesystem="confine"` adds a mount namespace in which the command's folder and a private TMPDIR
  (created for the run, deleted after it) are the only writable places: every other mount but /proc and /dev is
  remounted read-only (`CONFINE_SCRIPT`), /dev/shm is a fresh tmpfs, and the command then runs with no capabilities
  and `no_new_privs` (`setpriv`), so it cannot remount, reach other mount namespaces through /proc/<pid>/root, or
  gain privileges through setuid programs. Reads are not restricted, except for the files given to `hide` (a task's
  held-out answers in its starter folder), which read as empty. Where no mount namespace can be made, the
  command runs unconfined and the notice says so. Costs about 0.1 s per command.
- Network: `network="isolate"` runs the command in a new network namespace with only a loopback of its own
  (`unshare --net` as root, else `unshare --user --map-root-user --net`), found once per sandbox by running a
  trivial command. Where neither works the command runs with the network, `RunResult.notice` says so and a
  warning is logged once. On the development machine (root in a Firecracker VM, util-linux 2.38) `unshare --net`
  works.
"""

from __future__ import annotations

import contextlib
import logging
import os
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

import psutil

from copilot.errors import UserError
from copilot.sandbox.base import CappedOutput, EndReason, RunResult

log = logging.getLogger("copilot.sandbox")

DEFAULT_ALLOWLIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME",
                     "SHELL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "OutOfMemoryError")
OFFLINE_ENV = (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
               ("WANDB_MODE", "offline"))
MARKER_VAR = "COPILOT_SANDBOX_RUN"
LIMITS_FAILED = "copilot sandbox: could not set resource limits"
LIMITS_FAILED_CODE = 125
MEMORY_SIGNALS = (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT)
SANDBOX_TMP_VAR = "COPILOT_SANDBOX_TMP"
CONFINE_FAILED = "copilot sandbox: could not confine the filesystem"
# Runs inside the new mount namespace, in the command's folder, before the limits: the folder and a private temporary
# folder become mounts of their own (writable), a fresh tmpfs covers /dev/shm, then every other mount except /proc
# and /dev is remounted read-only, keeping its nosuid/nodev/noexec flags (a user namespace may not clear them).
CONFINE_SCRIPT = f"""ws=$(pwd -P); tmp="${{{SANDBOX_TMP_VAR}:?}}"
{{ mount --bind "$ws" "$ws" && mount --bind "$tmp" "$tmp"; }} || {{ echo {shlex.quote(CONFINE_FAILED)} >&2; exit 125; }}
cd "$ws" || exit 125  # the old working directory lies on the mount below the new one
mount -t tmpfs -o mode=1777 copilot-shm /dev/shm 2>/dev/null
while read -r _ _ _ _ mp opts _; do
  mp=$(printf '%b' "$mp")
  case "$mp" in "$ws"|"$tmp"|/dev|/dev/*|/proc|/proc/*) continue;; esac
  mount -o "remount,bind,ro${{opts#r[wo]}}" "$mp" 2>/dev/null || echo "copilot sandbox: $mp stays writable" >&2
done < /proc/self/mountinfo"""
PROBE_SCRIPT = ('d=$(mktemp -d) && mount --bind "$d" "$d" && mount -o remount,bind,ro / ; rc=$?; rmdir "$d"; '
                'exit $rc')


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


class _ProcessTree:
    """The processes one run started: sampled while it runs, all killed at the end."""

    def __init__(self, root_pid: int, marker: str) -> None:
        self.root_pid = root_pid
        self.marker = marker
        self.seen: dict[int, psutil.Process] = {}

    def sample(self) -> int:
        """Summed RSS in bytes of the root and its descendants now; remembers each process for `kill`."""
        try:
            root = psutil.Process(self.root_pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in tree:
            self.seen.setdefault(process.pid, process)
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

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
        """SIGKILL the process group and every process of the run, repeating while new ones appear; returns the count.

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
            psutil.wait_procs([p for p in alive if p.pid != self.root_pid], timeout=1)
        return len(killed - {self.root_pid})


class LocalSandbox:
    """Runs commands as limited child process trees on this machine (see the module docstring for the details)."""

    sees_host_files = True  # commands read this machine's files (the run directory, installed model packages)

    def __init__(
        self,
        timeout_s: float = 300,
        memory_mb: int | None = 4096,
        cpu_time_s: int | None = None,
        max_file_mb: int | None = 1024,
        output_cap_bytes: int = 64_000,
        env_allowlist: list[str] | tuple[str, ...] = DEFAULT_ALLOWLIST,
        network: str = "isolate",
        filesystem: str = "confine",
        python: str | None = None,
        limit_address_space: bool = True,
        extra_env: dict[str, str] | None = None,
        poll_s: float = 0.05,
    ) -> None:
        for name, value in (("timeout_s", timeout_s), ("memory_mb", memory_mb), ("cpu_time_s", cpu_time_s),
                            ("max_file_mb", max_file_mb), ("output_cap_bytes", output_cap_bytes), ("poll_s", poll_s)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise UserError(f"sandbox.{name} must be a positive number (or null where allowed), not {value!r}")
        if network not in ("isolate", "allow"):
            raise UserError(f"sandbox.network must be 'isolate' or 'allow', not {network!r}")
        if filesystem not in ("confine", "open"):
            raise UserError(f"sandbox.filesystem must be 'confine' or 'open', not {filesystem!r}")
        interpreter = Path(python or sys.executable)
        if not interpreter.is_file():
            raise UserError(f"sandbox.python: no interpreter at {interpreter}")
        self.timeout_s = float(timeout_s)
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.max_file_mb = max_file_mb
        self.output_cap_bytes = int(output_cap_bytes)
        self.env_allowlist = tuple(env_allowlist)
        self.network = network
        self.filesystem = filesystem
        self.python = interpreter
        self.limit_address_space = limit_address_space
        self.extra_env = {str(key): str(value) for key, value in (extra_env or {}).items()}
        self.poll_s = poll_s
        self._prefix: list[str] = []
        self._net_isolated = self._fs_confined = False
        self._isolation_checked = False
        self._isolation_notices: list[str] = []
        self.hidden_paths: tuple[Path, ...] = ()

    def hide(self, paths: Iterable[Path]) -> None:
        """Make these host files read as empty to every later command: a task's held-out answers, which stay in its
        starter folder where a confined command could still read them by absolute path. Each is covered by a
        /dev/null bind mount inside the command's own mount namespace (the host's files are untouched); without
        filesystem confinement this cannot be done, and the run's notice already says the filesystem is open.
        """
        self.hidden_paths = tuple(Path(p).resolve() for p in paths)

    def describe(self) -> str:
        """One line naming the sandbox and its limits, for logs and reports."""
        network, filesystem = self.network, self.filesystem
        if self._isolation_checked:
            if network == "isolate":
                network = "isolated" if self._net_isolated else "NOT isolated (unshare unavailable)"
            if filesystem == "confine":
                filesystem = "confined" if self._fs_confined else "NOT confined (no mount namespace)"
        return (f"local sandbox (timeout {self.timeout_s:g} s, memory {self.memory_mb} MB, cpu {self.cpu_time_s} s, "
                f"files {self.max_file_mb} MB, network {network}, filesystem {filesystem})")

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

    def _wrapper(self) -> str:
        """The bash script that sets the limits and then runs the command given as `$1`."""
        steps = []
        if self._net_isolated and (ip := shutil.which("ip")):
            steps.append(f"{shlex.quote(ip)} link set lo up 2>/dev/null")
        if self._fs_confined:
            steps.append(CONFINE_SCRIPT)
            for path in self.hidden_paths:
                quoted = shlex.quote(str(path))
                steps.append(f"if [ -f {quoted} ]; then mount --bind /dev/null {quoted} || "
                             f"echo 'copilot sandbox: could not hide '{quoted} >&2; fi")
        limits = []
        if self.memory_mb and self.limit_address_space:
            limits.append(f"ulimit -v {int(self.memory_mb) * 1024}")
        if self.cpu_time_s:
            # soft limit: SIGXCPU; the hard limit a few seconds later: SIGKILL for code that ignores SIGXCPU. The soft
            # limit goes first: a hard limit below the current (unlimited) soft one is refused.
            limits += [f"ulimit -St {int(self.cpu_time_s)}", f"ulimit -Ht {int(self.cpu_time_s) + 5}"]
        if self.max_file_mb:
            limits.append(f"ulimit -f {int(self.max_file_mb) * 1024}")  # bash counts 1024-byte blocks
        if limits:
            steps.append(f"{{ {' && '.join(limits)}; }} || {{ echo {shlex.quote(LIMITS_FAILED)} >&2; "
                         f"exit {LIMITS_FAILED_CODE}; }}")
        setpriv = shutil.which("setpriv") if self._fs_confined else None
        drop = f"{shlex.quote(setpriv)} --no-new-privs --bounding-set=-all --inh-caps=-all " if setpriv else ""
        steps.append(f'exec {drop}/bin/bash -c "$1"')
        return "\n".join(steps)

    def _namespace_prefix(self) -> list[str]:
        """The command prefix that isolates the network and confines the filesystem, found once by trying it."""
        if self._isolation_checked:
            return self._prefix
        self._isolation_checked = True
        wanted = (["--net"] if self.network == "isolate" else []) + (["--mount"] if self.filesystem == "confine"
                                                                     else [])
        unshare = shutil.which("unshare") or ""
        if not wanted:
            return self._prefix
        # all wanted namespaces first; then each alone, so one missing kind does not cost the other
        flag_sets = [wanted] + ([[flag] for flag in wanted] if len(wanted) > 1 else [])
        for flags in flag_sets if unshare else []:
            as_root, as_user = [unshare, *flags], [unshare, "--user", "--map-root-user", *flags]
            for prefix in [as_root, as_user] if os.geteuid() == 0 else [as_user, as_root]:
                try:
                    probe = subprocess.run([*prefix, "/bin/bash", "-c", PROBE_SCRIPT if "--mount" in flags
                                            else "exit 0"], capture_output=True, timeout=10, env={"PATH": os.defpath})
                except (OSError, subprocess.TimeoutExpired):
                    continue
                if probe.returncode == 0:
                    self._prefix = prefix
                    self._net_isolated, self._fs_confined = "--net" in flags, "--mount" in flags
                    break
            if self._prefix:
                break
        if self.network == "isolate" and not self._net_isolated:
            self._isolation_notices.append("network isolation unavailable here (unshare --net failed or is "
                                           "missing); the command ran with network access")
        if self.filesystem == "confine" and not self._fs_confined:
            self._isolation_notices.append("filesystem confinement unavailable here (no mount namespace); the "
                                           "command could write outside its folder")
        if self._fs_confined and not shutil.which("setpriv"):
            self._isolation_notices.append("setpriv is missing: writes are confined, but the command keeps its "
                                           "capabilities and could undo the confinement")
        for notice in self._isolation_notices:
            log.warning("sandbox: %s", notice)
        return self._prefix

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
        env = {**self.environment(extra_env), MARKER_VAR: marker}
        prefix = self._namespace_prefix()
        private_tmp = None
        if self._fs_confined:
            private_tmp = Path(tempfile.mkdtemp(prefix="copilot-sandbox-"))
            env.update({"TMPDIR": str(private_tmp), SANDBOX_TMP_VAR: str(private_tmp),
                        "MPLCONFIGDIR": str(private_tmp / "matplotlib"),
                        "HF_DATASETS_CACHE": str(private_tmp / "hf-datasets")})
        argv = [*prefix, "/bin/bash", "-c", self._wrapper(), "copilot-sandbox", command]
        out, err = CappedOutput(self.output_cap_bytes), CappedOutput(self.output_cap_bytes)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            if private_tmp is not None:
                shutil.rmtree(private_tmp, ignore_errors=True)
            return RunResult(command=command, exit_code=None, duration_s=0.0, reason="error",
                             stderr_tail=f"could not start the command: {error}")
        pumps = [threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
                 threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True)]
        for pump in pumps:
            pump.start()
        tree = _ProcessTree(proc.pid, marker)
        limit_bytes = (self.memory_mb or 0) * 2**20
        peak, status, usage = 0, None, None
        timed_out = over_memory = False
        try:
            while status is None:
                pid, wait_status, wait_usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, usage = wait_status, wait_usage
                    break
                rss = tree.sample()
                peak = max(peak, rss)
                # summed RSS counts pages shared by forked workers once per worker: confirm with PSS before killing
                over_memory = bool(limit_bytes) and rss > limit_bytes and tree.proportional_memory() > limit_bytes
                timed_out = time.monotonic() - started > timeout
                if over_memory or timed_out:
                    tree.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(self.poll_s)
        finally:
            if status is None:  # interrupted (Ctrl-C) or our own bug: never leave the experiment running
                tree.kill()
                with contextlib.suppress(ChildProcessError):
                    os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        leftovers = tree.kill()
        for pump in pumps:
            pump.join(timeout=5)
        duration = time.monotonic() - started
        assert usage is not None
        peak = max(peak, usage.ru_maxrss * 1024)
        cpu_used = usage.ru_utime + usage.ru_stime
        reason, notices = self._classify(proc.returncode, timed_out, over_memory, err.text(), peak, cpu_used, timeout)
        if leftovers and not (timed_out or over_memory):
            notices.append(f"{leftovers} background process(es) still running at the end were killed")
        if any(pump.is_alive() for pump in pumps):
            notices.append("an escaped process still holds the output pipes; output may be incomplete")
        notices += self._isolation_notices
        if private_tmp is not None:
            shutil.rmtree(private_tmp, ignore_errors=True)
        return RunResult(
            command=command, exit_code=proc.returncode, duration_s=round(duration, 3),
            peak_memory_mb=round(peak / 2**20, 1) if peak else None,
            stdout_tail=out.text(), stderr_tail=err.text(), stdout_bytes=out.total, stderr_bytes=err.total,
            reason=reason, notice="; ".join(notices) or None,
        )

    def _classify(self, code: int, timed_out: bool, over_memory: bool, stderr: str, peak: int, cpu_used: float,
                  timeout: float) -> tuple[EndReason, list[str]]:
        """Why the command ended, and notices that explain a limit it hit."""
        if timed_out:
            return "timeout", [f"wall-clock limit of {timeout:g} s reached; the process tree was killed"]
        if over_memory:
            return "memory", [f"the process tree's resident memory passed the {self.memory_mb} MB limit; "
                              "it was killed"]
        if code == LIMITS_FAILED_CODE and (LIMITS_FAILED in stderr or CONFINE_FAILED in stderr):
            return "error", []
        signum = _signal_of(code)
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
            return "killed", [f"ended by {_signal_name(signum)}"]
        return "finished", []
