"""The command line of bubblewrap (`bwrap`, Debian package `bubblewrap`, the sandbox of Flatpak) for one command.

Namespaces: a new user, PID, IPC, UTS and cgroup namespace, and a network namespace with only its own loopback
(`network="isolate"`); nested user namespaces are refused (`--disable-userns`, bubblewrap 0.8+). The command's
first process is the child of a small init of the new PID namespace, which dies with bubblewrap, which dies with us
(`--die-with-parent`, also when copilot is killed with SIGKILL): no process of the command can outlive it, whatever
it does (double fork, setsid, an empty environment). All capabilities are dropped and `no_new_privs` is set.

Filesystem (`filesystem="confine"`): an empty root, and in it only what an allowlist names:
- read-only: /usr (and the /bin, /lib... links or folders beside it), the files of /etc that programs read to run
  (`ETC_ENTRIES`: the loader cache, certificates, passwd/group, time zone...; never shadow, ssh or credentials), a
  part of /sys (devices, buses and kernel modules, which CUDA and BLAS libraries read), the interpreter's folders,
  and the paths the sandbox was given (`read_only`);
- writable: the command's folder, and a private TMPDIR at /tmp (created for the run, deleted after);
- private: /dev with only null, zero, full, random, urandom, tty (plus GPUs when given), read-only; /dev/shm, a
  tmpfs of `shm_bytes`; /proc of the new PID namespace, read-only;
- masked: each path of `masks` that the view shows reads as empty (/dev/null over a file, an empty read-only tmpfs
  over a folder).
The home folder, .env files, other tasks and checkouts, repository histories and host sockets are not in the view.
With `filesystem="open"` the host's file system is shown as it is (writable), with the private /dev and /proc.
"""

from __future__ import annotations

import glob
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = ("alternatives", "ca-certificates", "ca-certificates.conf", "crypto-policies", "debian_version", "fonts",
               "gai.conf", "group", "host.conf", "hosts", "inputrc", "java-*", "ld.so.cache", "ld.so.conf",
               "ld.so.conf.d", "locale.alias", "localtime", "magic", "magic.mime", "mime.types", "mtab", "networks",
               "nsswitch.conf", "OpenCL", "os-release", "passwd", "pki", "protocols", "python3*", "R", "services",
               "sgml", "ssl", "terminfo", "timezone", "vulkan", "xdg", "xml")
NETWORK_ETC = ("resolv.conf",)
SYS_ENTRIES = ("block", "bus", "class", "dev", "devices", "module")
GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd")


def bubblewrap_version(bwrap: str) -> tuple[int, ...]:
    """bubblewrap's version as numbers ((0,) when it does not say)."""
    try:
        done = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0,)
    words = done.stdout.split()
    try:
        return tuple(int(part) for part in words[-1].split("."))
    except (IndexError, ValueError):
        return (0,)


def gpu_devices() -> list[str]:
    """The GPU device files of this machine (NVIDIA, DRI, AMD KFD); [] without a GPU."""
    return sorted({path for pattern in GPU_DEVICES for path in glob.glob(pattern)})


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _minimal(paths: Iterable[Path]) -> list[Path]:
    """The paths with every one that lies inside another left out (its parent's bind shows it already)."""
    ordered = sorted({Path(os.path.abspath(p)) for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in ordered:
        if not _inside(path, kept):
            kept.append(path)
    return kept


class BubblewrapCommand:
    """Builds `bwrap ... -- <argv>` for one command (see the module docstring for what the view holds)."""

    def __init__(self, bwrap: str, *, isolate_network: bool, confine: bool, disable_userns: bool,
                 read_only: Iterable[Path] = (), masks: Iterable[Path] = (), devices: Iterable[str] = (),
                 shm_bytes: int | None = None) -> None:
        self.bwrap = bwrap
        self.isolate_network = isolate_network
        self.confine = confine
        self.disable_userns = disable_userns
        self.read_only = list(read_only)
        self.masks = list(masks)
        self.devices = list(devices)
        self.shm_bytes = shm_bytes

    def _namespaces(self) -> list[str]:
        argv = [self.bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if self.isolate_network:
            argv.append("--unshare-net")
        if self.disable_userns:
            argv.append("--disable-userns")
        return [*argv, "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "copilot-sandbox"]

    def _system(self) -> tuple[list[str], list[Path]]:
        """The read-only system part of the view, and the host paths it shows."""
        argv, shown = ["--ro-bind", "/usr", "/usr"], [Path("/usr")]
        for name in ROOT_LINKS:
            path = Path(name)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), name]
            elif path.is_dir():
                argv += ["--ro-bind", name, name]
                shown.append(path)
        etc = [*ETC_ENTRIES, *(() if self.isolate_network else NETWORK_ETC)]
        for entry in sorted({p for pattern in etc for p in glob.glob(f"/etc/{pattern}")}):
            argv += ["--ro-bind-try", entry, entry]
            shown.append(Path(entry))
        for entry in SYS_ENTRIES:
            argv += ["--ro-bind-try", f"/sys/{entry}", f"/sys/{entry}"]
        return argv, shown

    def argv(self, command_argv: list[str], cwd: Path, private_tmp: Path | None) -> list[str]:
        """The full command line that runs `command_argv` in `cwd` inside the sandbox."""
        argv = self._namespaces()
        cwd = Path(os.path.abspath(cwd))
        if not self.confine:
            argv += ["--bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
            argv += [arg for device in self.devices for arg in ("--dev-bind-try", device, device)]
            return [*argv, "--chdir", str(cwd), "--", *command_argv]
        system, shown = self._system()
        argv += system
        if private_tmp is not None:
            argv += ["--bind", str(private_tmp), "/tmp"]
        extra = [p for p in _minimal(self.read_only) if not _inside(p, shown) and os.path.exists(p)]
        for path in extra:
            argv += ["--ro-bind", str(path), str(path)]
        argv += ["--bind", str(cwd), str(cwd)]
        argv += ["--dev", "/dev"]
        argv += [arg for device in self.devices for arg in ("--dev-bind-try", device, device)]
        argv += [*(["--size", str(self.shm_bytes)] if self.shm_bytes else []), "--tmpfs", "/dev/shm"]
        argv += ["--proc", "/proc"]
        visible = [*shown, *extra, cwd]
        for mask in dict.fromkeys(self.masks):
            if not _inside(mask, visible) or _inside(cwd, [mask]) or not os.path.lexists(mask):
                continue
            if mask.is_dir():
                argv += ["--tmpfs", str(mask), "--remount-ro", str(mask)]
            else:
                argv += ["--ro-bind", "/dev/null", str(mask)]
        argv += ["--remount-ro", "/dev", "--remount-ro", "/proc", "--remount-ro", "/", "--chdir", str(cwd)]
        return [*argv, "--", *command_argv]
