"""Stand-alone scripts that copilot runs inside the sandbox (they import nothing from copilot)."""
