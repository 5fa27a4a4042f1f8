"""The implementation agent's tools: typed argument models, their JSON schemas, and `ToolBox.call`.

What the agent causes (a bad path, a missing search text, a failing command, unknown tool, bad arguments) becomes an
`Observation` with `ok=False` that it reads; a bug in our own code is not caught here and crashes loudly.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.coach.base import Coach, NoCoach
from copilot.experiment.outputs import unwritten, unwritten_message
from copilot.experiment.workspace import Workspace, WorkspaceError
from copilot.llm import Message, ToolSpec


class Observation(BaseModel):
    """What a tool call returned. `final` ends the episode; `data` carries structured results."""

    tool: str
    ok: bool
    text: str
    final: bool = False
    data: dict[str, Any] = Field(default_factory=dict)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListFiles(_Args):
    """List files (with sizes) under a folder of the workspace."""

    path: str = Field(".", description="folder relative to the workspace root")


class ReadFile(_Args):
    """Read a text file with line numbers, optionally a line range."""

    path: str = Field(description="file relative to the workspace root")
    start_line: int | None = Field(None, ge=1, description="first line to show (1-based)")
    end_line: int | None = Field(None, ge=1, description="last line to show")


class WriteFile(_Args):
    """Create or overwrite a file with the full content given."""

    path: str = Field(description="file relative to the workspace root")
    content: str = Field(description="the complete new content of the file")


class EditFile(_Args):
    """Replace one exact occurrence of `search` with `replace` in a file."""

    path: str = Field(description="file relative to the workspace root")
    search: str = Field(description="exact text to find (must occur exactly once)")
    replace: str = Field(description="text to put in its place")


class UndoEdit(_Args):
    """Restore the version of a file before the last write/edit."""

    path: str = Field(description="file relative to the workspace root")


class Execute(_Args):
    """Run a shell command in the workspace (sandboxed, with a time limit) and see its output."""

    command: str = Field(description="e.g. 'python train.py'")
    timeout_s: float | None = Field(None, gt=0, description="seconds before the command is killed")


class InspectLines(_Args):
    """Show a window of at most 200 lines of a file."""

    path: str = Field(description="file relative to the workspace root")
    start_line: int = Field(ge=1, description="first line")
    end_line: int = Field(ge=1, description="last line (at most start_line + 199)")


class UnderstandFile(_Args):
    """Ask for a summary of a long file focused on a question."""

    path: str = Field(description="file relative to the workspace root")
    question: str = Field(description="what you want to know about the file")


class RetrieveModel(_Args):
    """Find a pretrained model available locally (or on the Hugging Face hub when online)."""

    query: str = Field(description="model name or description, e.g. 'all-MiniLM-L6-v2'")
    task: str | None = Field(None, description="hub task filter, e.g. 'sentence-similarity'")


class Reflection(_Args):
    """Think about a question given the recent observations; returns the reflection."""

    question: str = Field(description="what to reflect on")


class FinalAnswer(_Args):
    """Finish the episode when the code is ready and runs."""

    summary: str = Field(description="what was changed and why")
    claimed_metric: float | None = Field(None, description="the metric you expect (it will be measured anyway)")


TOOLS: dict[str, type[_Args]] = {
    "list_files": ListFiles, "read_file": ReadFile, "write_file": WriteFile, "edit_file": EditFile,
    "undo_edit": UndoEdit, "execute": Execute, "inspect_lines": InspectLines, "understand_file": UnderstandFile,
    "retrieve_model": RetrieveModel, "reflection": Reflection, "final_answer": FinalAnswer,
}


def truncate(text: str, max_chars: int) -> str:
    """Keep the head and the tail of `text`, saying how much was cut."""
    if len(text) <= max_chars:
        return text
    head = max_chars // 3
    tail = max_chars - head
    return f"{text[:head]}\n[... {len(text) - max_chars:,} characters cut ...]\n{text[-tail:]}"


def tool_specs() -> list[ToolSpec]:
    """Every agent tool as a JSON-schema spec, in a fixed order."""
    specs = []
    for name, model in TOOLS.items():
        schema = model.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        specs.append(ToolSpec(name=name, description=(model.__doc__ or "").strip(), parameters=schema))
    return specs


class ToolBox:
    """Dispatches tool calls onto a workspace, a sandbox, an LLM (for understand/reflect) and resources."""

    def __init__(self, workspace: Workspace, *, sandbox: Any, llm: Any = None, resources: Any = None,
                 observation_max_chars: int = 6000, run_timeout_s: float = 300, coach: Coach | None = None,
                 earlier_versions: list[str] | None = None, experiment: str | None = None,
                 outputs: list[str] | None = None, evaluate: str = "the evaluation") -> None:
        self.workspace = workspace
        self.experiment = experiment  # the task's experiment command: a run of it must write `outputs`
        self.outputs = outputs or []
        self.evaluate = evaluate
        self.coach: Coach = coach or NoCoach()
        self.earlier_versions = earlier_versions or []  # working versions of the experiment script, for the coach
        self.sandbox = sandbox
        self._notices_shown: set[str] = set()
        self.llm = llm
        self.resources = resources
        self.observation_max_chars = observation_max_chars
        self.run_timeout_s = run_timeout_s
        self.recent: deque[str] = deque(maxlen=5)

    def specs(self) -> list[ToolSpec]:
        """The tools as JSON-schema specs (the same list every step, so the prompt prefix stays stable)."""
        return tool_specs()

    def call(self, name: str, arguments: dict[str, Any]) -> Observation:
        """Validate the arguments, run the tool, and return a (truncated) observation."""
        if name not in TOOLS:
            return Observation(tool=name, ok=False, text=f"unknown tool '{name}'; valid tools: {', '.join(TOOLS)}")
        try:
            args = TOOLS[name].model_validate(arguments if isinstance(arguments, dict) else {})
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in error.errors())
            return Observation(tool=name, ok=False, text=f"invalid arguments for {name}: {problems}")
        try:
            observation = getattr(self, f"_{name}")(args)
        except WorkspaceError as error:
            observation = Observation(tool=name, ok=False, text=str(error))
        observation.text = truncate(observation.text, self.observation_max_chars)
        self.recent.append(f"{name}: {observation.text[:800]}")
        return observation

    def _list_files(self, a: ListFiles) -> Observation:
        return Observation(tool="list_files", ok=True, text=self.workspace.list_files(a.path))

    def _read_file(self, a: ReadFile) -> Observation:
        return Observation(tool="read_file", ok=True, text=self.workspace.read_file(a.path, a.start_line, a.end_line))

    def _write_file(self, a: WriteFile) -> Observation:
        return Observation(tool="write_file", ok=True, text=self.workspace.write_file(a.path, a.content))

    def _edit_file(self, a: EditFile) -> Observation:
        return Observation(tool="edit_file", ok=True, text=self.workspace.edit_file(a.path, a.search, a.replace))

    def _undo_edit(self, a: UndoEdit) -> Observation:
        return Observation(tool="undo_edit", ok=True, text=self.workspace.undo_edit(a.path))

    def _inspect_lines(self, a: InspectLines) -> Observation:
        if a.end_line < a.start_line or a.end_line - a.start_line >= 200:
            return Observation(tool="inspect_lines", ok=False,
                               text="end_line must be >= start_line and the window at most 200 lines")
        return Observation(tool="inspect_lines", ok=True,
                           text=self.workspace.read_file(a.path, a.start_line, a.end_line))

    def _execute(self, a: Execute) -> Observation:
        timeout = min(a.timeout_s or self.run_timeout_s, self.run_timeout_s)
        started = time.time()
        result = self.sandbox.run(a.command, Path(self.workspace.root), timeout_s=timeout)
        text = (f"exit code {result.exit_code} ({result.reason}) after {result.duration_s:.1f}s\n"
                f"--- stdout ---\n{result.stdout_tail.strip()}\n--- stderr ---\n{result.stderr_tail.strip()}")
        if result.notice and result.notice not in self._notices_shown:
            # The same notice on every run (the fallback isolation's) is told once an episode: the model needs it
            # at most once, and repeated it cost each later observation some 50 tokens.
            self._notices_shown.add(result.notice)
            text += f"\n(note: {result.notice})"
        if not result.ok:
            text += self.coach.run_failed(result.stderr_tail, self.earlier_versions)
            return Observation(tool="execute", ok=False, text=text,
                               data={"exit_code": result.exit_code, "reason": result.reason})
        missing = unwritten(Path(self.workspace.root), self.outputs, started) \
            if a.command.strip() == (self.experiment or "").strip() else []
        if missing:
            text += "\n" + unwritten_message(missing, self.evaluate)
        return Observation(tool="execute", ok=not missing, text=text,
                           data={"exit_code": result.exit_code, "reason": result.reason, "unwritten": missing})

    def _understand_file(self, a: UnderstandFile) -> Observation:
        if self.llm is None:
            return Observation(tool="understand_file", ok=False, text="understand_file is not available (no LLM)")
        content = self.workspace.read_file(a.path, max_chars=10_000_000)
        window = 12_000
        notes = []
        for start in range(0, len(content), window):
            chunk = content[start : start + window]
            prompt = (f"Part {start // window + 1} of {a.path}:\n{chunk}\n\nAnswer briefly, citing line numbers: "
                      f"{a.question}")
            notes.append(self.llm.complete([Message(role="user", content=prompt)], max_tokens=400,
                                           purpose="tool.understand_file").text.strip())
        return Observation(tool="understand_file", ok=True, text="\n\n".join(notes))

    def _retrieve_model(self, a: RetrieveModel) -> Observation:
        if self.resources is None:
            return Observation(tool="retrieve_model", ok=False, text="no resource manager is configured")
        found = self.resources.find_model(a.query, task=a.task)
        if found is None:
            return Observation(tool="retrieve_model", ok=False,
                               text=f"no model matching '{a.query}' is available locally, and the hub is unreachable")
        if self.sandbox is not None:
            self.sandbox.expose([Path(found.local_path)])  # readable to the commands that load it
        return Observation(tool="retrieve_model", ok=True, text=f"{found.id} is available at {found.local_path}",
                           data=found.model_dump(mode="json"))

    def _reflection(self, a: Reflection) -> Observation:
        if self.llm is None:
            return Observation(tool="reflection", ok=False, text="reflection is not available (no LLM)")
        context = "\n".join(self.recent) or "(no observations yet)"
        prompt = (f"Files:\n{self.workspace.list_files()}\n\nRecent observations:\n{context}\n\n"
                  f"Reflect briefly and concretely: {a.question}")
        text = self.llm.complete([Message(role="user", content=prompt)], max_tokens=400,
                                 purpose="tool.reflection").text.strip()
        return Observation(tool="reflection", ok=True, text=text)

    def _final_answer(self, a: FinalAnswer) -> Observation:
        return Observation(tool="final_answer", ok=True, text="episode finished", final=True,
                           data={"summary": a.summary, "claimed_metric": a.claimed_metric})
