"""The fallback isolation where bubblewrap is missing or cannot run: util-linux `unshare`, as copilot did before.

`unshare --net --mount` (as root; else with `--user --map-root-user`) runs a bash wrapper that brings the namespace's
loopback up, makes every mount read-only but the command's folder and a private TMPDIR (`CONFINE_SCRIPT`), covers
the masked paths (/dev/null over a file, an empty read-only tmpfs over a folder), and `exec`s the command with no
capabilities and `no_new_privs` (`setpriv`). It confines writes and the network only: reads of the host's files are
not confined, /dev and /proc are the host's, and a process that leaves the process group and drops the run's marker
variable can outlive the command. Every result run this way carries a notice saying so.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("copilot.sandbox")

SANDBOX_TMP_VAR = "COPILOT_SANDBOX_TMP"
SHM_SIZE_VAR = "COPILOT_SANDBOX_SHM"
CONFINE_FAILED = "copilot sandbox: could not confine the filesystem"
# Runs inside the new mount namespace, in the command's folder, before the limits: the folder and a private temporary
# folder become mounts of their own (writable), a fresh tmpfs covers /dev/shm, then every other mount except /proc
# and /dev is remounted read-only, keeping its nosuid/nodev/noexec flags (a user namespace may not clear them).
CONFINE_SCRIPT = f"""ws=$(pwd -P); tmp="${{{SANDBOX_TMP_VAR}:?}}"
{{ mount --bind "$ws" "$ws" && mount --bind "$tmp" "$tmp"; }} || {{ echo {shlex.quote(CONFINE_FAILED)} >&2; exit 125; }}
cd "$ws" || exit 125  # the old working directory lies on the mount below the new one
mount -t tmpfs -o "mode=1777${{{SHM_SIZE_VAR}:+,size=${SHM_SIZE_VAR}}}" copilot-shm /dev/shm 2>/dev/null
while read -r _ _ _ _ mp opts _; do
  mp=$(printf '%b' "$mp")
  case "$mp" in "$ws"|"$tmp"|/dev|/dev/*|/proc|/proc/*) continue;; esac
  mount -o "remount,bind,ro${{opts#r[wo]}}" "$mp" 2>/dev/null || echo "copilot sandbox: $mp stays writable" >&2
done < /proc/self/mountinfo"""
PROBE_SCRIPT = ('d=$(mktemp -d) && mount --bind "$d" "$d" && mount -o remount,bind,ro / ; rc=$?; rmdir "$d"; '
                'exit $rc')


class UnshareIsolation:
    """Finds, once, the `unshare` prefix that works here, and writes the wrapper's isolation steps."""

    def __init__(self, network: str, filesystem: str) -> None:
        self.network = network
        self.filesystem = filesystem
        self.prefix: list[str] = []
        self.net_isolated = self.fs_confined = False
        self.notices: list[str] = []
        self._checked = False

    def check(self) -> list[str]:
        """The command prefix that isolates the network and confines the filesystem, found once by trying it."""
        if self._checked:
            return self.prefix
        self._checked = True
        wanted = (["--net"] if self.network == "isolate" else []) + (["--mount"] if self.filesystem == "confine"
                                                                     else [])
        unshare = shutil.which("unshare") or ""
        # all wanted namespaces first; then each alone, so one missing kind does not cost the other
        flag_sets = [wanted] + ([[flag] for flag in wanted] if len(wanted) > 1 else [])
        for flags in flag_sets if unshare and wanted else []:
            as_root, as_user = [unshare, *flags], [unshare, "--user", "--map-root-user", *flags]
            for prefix in [as_root, as_user] if os.geteuid() == 0 else [as_user, as_root]:
                try:
                    probe = subprocess.run([*prefix, "/bin/bash", "-c", PROBE_SCRIPT if "--mount" in flags
                                            else "exit 0"], capture_output=True, timeout=10, env={"PATH": os.defpath})
                except (OSError, subprocess.TimeoutExpired):
                    continue
                if probe.returncode == 0:
                    self.prefix = prefix
                    self.net_isolated, self.fs_confined = "--net" in flags, "--mount" in flags
                    break
            if self.prefix:
                break
        if self.network == "isolate" and not self.net_isolated:
            self.notices.append("network isolation unavailable here (unshare --net failed or is missing); the "
                                "command ran with network access")
        if self.filesystem == "confine" and not self.fs_confined:
            self.notices.append("filesystem confinement unavailable here (no mount namespace); the command could "
                                "write outside its folder")
        if self.fs_confined and not shutil.which("setpriv"):
            self.notices.append("setpriv is missing: writes are confined, but the command keeps its capabilities "
                                "and could undo the confinement")
        return self.prefix

    @property
    def own_user_namespace(self) -> bool:
        """Whether the command gets a user namespace of its own (so RLIMIT_NPROC counts only its processes)."""
        return "--user" in self.prefix

    def steps(self, masks: Iterable[Path]) -> list[str]:
        """The wrapper's isolation steps, before the limits: loopback up, confinement, masks."""
        steps = []
        if self.net_isolated and (ip := shutil.which("ip")):
            steps.append(f"{shlex.quote(ip)} link set lo up 2>/dev/null")
        if self.fs_confined:
            steps.append(CONFINE_SCRIPT)
            for path in masks:
                quoted = shlex.quote(str(path))
                cover = (f"mount -t tmpfs -o ro,size=4k copilot-mask {quoted}" if path.is_dir()
                         else f"mount --bind /dev/null {quoted}")
                steps.append(f"if [ -e {quoted} ]; then {cover} || echo 'copilot sandbox: could not hide '{quoted} "
                             ">&2; fi")
        return steps

    def exec_prefix(self) -> str:
        """What the wrapper puts before the command: drop every capability where the filesystem is confined."""
        setpriv = shutil.which("setpriv") if self.fs_confined else None
        return f"{shlex.quote(setpriv)} --no-new-privs --bounding-set=-all --inh-caps=-all " if setpriv else ""
