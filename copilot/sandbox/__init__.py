"""Sandboxes run experiment code; nothing else in copilot starts a subprocess for it.

`base` holds the contract (`Sandbox`, `RunResult`, `SandboxUnavailable`); `local` and `docker` implement it and are
chosen with Hydra's `sandbox=local|docker` (`conf/sandbox/`). Import implementations from their modules.
"""

from copilot.sandbox.base import RunResult, Sandbox, SandboxUnavailable

__all__ = ["RunResult", "Sandbox", "SandboxUnavailable"]
