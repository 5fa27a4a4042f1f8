"""The data-analysis step (AuCALME's "data analyst"): before coding, the model writes a profiling script, the
sandbox runs it on the workspace, and its printed findings go into the implementation agent's context.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field

from copilot.llm import LLM, Message

log = logging.getLogger("copilot.experiment")


class ProfilingScript(BaseModel):
    """The model's reply: a self-contained Python script."""

    code: str = Field(description="the complete Python script")


class DataFindings(BaseModel):
    """What the profiling produced; `ok` is False when no script ran successfully (findings then say why)."""

    ok: bool
    findings: str
    script: str
    tries: int


def clean_code(code: str) -> str:
    """Strip a Markdown fence or a bare language tag that small models put around code inside a JSON string."""
    lines = code.strip().splitlines()
    if lines and (lines[0].strip().startswith("```") or lines[0].strip().lower() in ("python", "py", "python3")):
        lines = lines[1:]
    if lines and lines[-1].strip() == "```":
        lines = lines[:-1]
    return "\n".join(lines) + "\n"


def analyse_data(llm: LLM, sandbox: Any, workspace_root: Path, workspace_description: str, script_path: Path,
                 *, max_tries: int = 2, timeout_s: float = 120, max_chars: int = 3000) -> DataFindings:
    """Have the model write a profiling script, run it in the workspace (outside it: the script lives in the run
    directory, so the workspace diff stays clean), and return the findings; a failing script is retried with its error.
    """
    templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined)
    error: str | None = None
    code = ""
    for attempt in range(1, max_tries + 1):
        prompt = templates.get_template("profile.j2").render(workspace=workspace_description, error=error)
        reply = llm.complete([Message(role="user", content=prompt)], ProfilingScript, purpose="experiment.profile")
        code = clean_code(reply.parsed.code)
        script_path.parent.mkdir(parents=True, exist_ok=True)
        script_path.write_text(code, encoding="utf-8")
        command = f"python {shlex.quote(str(script_path))}"
        result = sandbox.run(command, workspace_root, timeout_s=timeout_s)
        if result.ok and result.stdout_tail.strip():
            return DataFindings(ok=True, findings=result.stdout_tail[-max_chars:], script=code, tries=attempt)
        error = (result.stderr_tail or result.stdout_tail or f"exit code {result.exit_code}, no output")[-1500:]
        log.warning("profiling script try %d failed: %s", attempt, error.strip().splitlines()[-1:] or error)
    return DataFindings(ok=False, findings=f"(data profiling failed: {(error or '').strip()[-500:]})", script=code,
                        tries=max_tries)
