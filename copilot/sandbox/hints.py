"""One sentence added to a failed run's output when the failure comes from the sandbox's environment rather than
from the code: a module that is not installed, or a download attempted without a network. Small models otherwise
"fix" such failures by importing the same module again or by asking the hub for the model by name once more.
"""

from __future__ import annotations

import re

from copilot.sandbox.packages import missing_module_hint

NETWORK_FAILURE = re.compile(
    r"couldn't connect to '?https?://huggingface\.co|OfflineModeIsEnabled|LocalEntryNotFoundError|"
    r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"Failed to establish a new connection|Max retries exceeded with url",
    re.IGNORECASE,
)


def network_hint(output: str) -> str:
    """A sentence for a run that failed trying to reach the network ('' otherwise)."""
    if not NETWORK_FAILURE.search(output):
        return ""
    return ("\n(There is no network here: nothing can be downloaded. Load models from the local paths listed under "
            "Available resources, passing the path where the library expects a hub id.)")


def failure_hint(output: str) -> str:
    """The hints that apply to a failed run's output, or ''."""
    return missing_module_hint(output) + network_hint(output)
