"""The data-analysis step (AuCALME's "data analyst"): before coding, the model writes a profiling script, the
sandbox runs it on the workspace, and its printed findings go into the implementation agent's context.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel

from copilot.llm import LLM, Message

log = logging.getLogger("copilot.experiment")


BUILTIN_PROFILER = Path(__file__).parent / "scripts" / "profile_data.py"
FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL | re.IGNORECASE)

SHAPE = re.compile(r"\d+(?:\.\d+)?")


def compact_output(text: str, keep: int = 3) -> str:
    """`text` with each run of more than `keep` + 1 consecutive lines of the same shape (the same text once numbers
    are blanked: a pandas `value_counts()` of dates, one line per date) cut to its first `keep` lines and its last,
    and a line saying how many were left out. The findings go into every implementation prompt; a profiling script
    of the embedded model printed 60 such lines for 60 unique dates."""
    lines = text.splitlines()
    out: list[str] = []
    start = 0
    while start < len(lines):
        shape = SHAPE.sub("0", lines[start]).strip()
        end = start + 1
        while end < len(lines) and shape and SHAPE.sub("0", lines[end]).strip() == shape:
            end += 1
        run = lines[start:end]
        if len(run) > keep + 2:
            out += [*run[:keep], f"... ({len(run) - keep - 1} more lines like these)", run[-1]]
        else:
            out += run
        start = end
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


class DataFindings(BaseModel):
    """What the profiling produced. `source` says whose script printed the findings: the model's, or copilot's own
    profiler after the model's scripts failed (`builtin`); `ok` is False when neither ran (findings then say why)."""

    ok: bool
    findings: str
    script: str
    tries: int
    source: str = "model"


def extract_code(reply: str) -> str:
    """The Python code in a model's reply: the longest fenced block, else the reply itself minus stray fences."""
    blocks = [block for block in FENCE.findall(reply) if block.strip()]
    return clean_code(max(blocks, key=len) if blocks else reply)


def clean_code(code: str) -> str:
    """Strip a Markdown fence or a bare language tag that small models put around code inside a JSON string."""
    lines = code.strip().splitlines()
    if lines and (lines[0].strip().startswith("```") or lines[0].strip().lower() in ("python", "py", "python3")):
        lines = lines[1:]
    if lines and lines[-1].strip() == "```":
        lines = lines[:-1]
    return "\n".join(lines) + "\n"


def analyse_data(llm: LLM, sandbox: Any, workspace_root: Path, workspace_description: str, script_path: Path,
                 *, max_tries: int = 2, timeout_s: float = 120, max_chars: int = 3000,
                 can_ask: Callable[[], bool] = lambda: True,
                 advise: Callable[[str], str] = lambda output: "", use_model: bool = True) -> DataFindings:
    """Have the model write a profiling script, run it in the workspace (the script lives in the run directory, so the
    workspace diff stays clean), and return the findings. A failing script (an error, or no output) is shown to the
    model with its error for another try; when every try fails, copilot's own profiler runs instead, so the agent
    still starts from measured facts about the data, and so it does when `can_ask()` says the run's budget leaves no
    time for another model call. `advise(error)` is what the coach adds to a failed script's error (the columns the
    tables really have, for a KeyError on a column). `use_model=False` runs copilot's own profiler at once
    (`experiment.profiler=builtin`).
    """
    templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined)
    error: str | None = None
    code = ""
    sandbox.expose([script_path, BUILTIN_PROFILER])  # both run by their paths, which are outside the workspace
    if not use_model:
        log.info("data profiling: copilot's own profiler (experiment.profiler=builtin)")
    for attempt in range(1, max_tries + 1 if use_model else 1):
        if not can_ask():
            log.info("no time for the model's profiling script (try %d): copilot's own profiler runs", attempt)
            break
        prompt = templates.get_template("profile.j2").render(workspace=workspace_description, error=error,
                                                             previous=code.strip())
        reply = llm.complete([Message(role="user", content=prompt)], purpose="experiment.profile", max_tokens=1024)
        code = extract_code(reply.text)
        script_path.parent.mkdir(parents=True, exist_ok=True)
        script_path.write_text(code, encoding="utf-8")
        command = f"python {shlex.quote(str(script_path))}"
        result = sandbox.run(command, workspace_root, timeout_s=timeout_s)
        if result.ok and result.stdout_tail.strip():
            return DataFindings(ok=True, findings=compact_output(result.stdout_tail)[-max_chars:], script=code,
                                tries=attempt)
        error = (result.stderr_tail or result.stdout_tail
                 or f"it exited with code {result.exit_code} and printed nothing")[-1500:]
        log.warning("profiling script try %d failed: %s", attempt, error.strip().splitlines()[-1:] or error)
        error += advise(error)
    result = sandbox.run(f"python {shlex.quote(str(BUILTIN_PROFILER))}", workspace_root, timeout_s=timeout_s)
    if result.ok and result.stdout_tail.strip():
        if use_model:
            log.warning("the model's profiling scripts failed %d times; copilot's own profiler ran instead", max_tries)
        return DataFindings(ok=True, findings=compact_output(result.stdout_tail)[-max_chars:], script=code,
                            tries=max_tries if use_model else 0, source="builtin")
    why = (result.stderr_tail or result.stdout_tail).strip()[-300:]
    return DataFindings(ok=False, findings=f"(data profiling failed: {(error or '').strip()[-500:]}; copilot's own "
                        f"profiler failed too: {why})", script=code, tries=max_tries)
