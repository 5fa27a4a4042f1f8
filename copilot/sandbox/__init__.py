"""Sandboxes run experiment code; nothing else in copilot starts a subprocess for it.

`base` holds the contract (`Sandbox`, `RunResult`, `SandboxUnavailable`); `local` and `docker` implement it and are
chosen with Hydra's `sandbox=local|docker` (`conf/sandbox/`). Import implementations from their modules. The local
sandbox's parts: `bubblewrap` (namespaces and the filesystem view), `unshare` (the fallback), `cgroups` (a cgroup per
command), `process_tree` and `disk` (what the watchdog measures), `interpreter` (the experiment's Python: its folders,
where masked sources are installed).
"""

from copilot.sandbox.base import RunResult, Sandbox, SandboxUnavailable

__all__ = ["RunResult", "Sandbox", "SandboxUnavailable"]
