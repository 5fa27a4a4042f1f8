"""`InteractiveFeedback`: asks at a terminal, with a rich table of hypotheses, the diff before each execution, the
result after it, and prompts that accept a unique prefix of a choice (`r` for `regenerate`).

Editing a hypothesis opens `$EDITOR` (default `vi`) on a temporary YAML file of its fields. The `confirm` mode is the
same class asking only before executions. The console and the input stream are injectable, so tests drive every
question with scripted keystrokes (`io.StringIO`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import InvalidResponse, Prompt
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from copilot.errors import UserError
from copilot.feedback.base import (
    AfterDecision,
    Decision,
    EndDecision,
    ExecDecision,
    FeedbackBase,
    FeedbackPoint,
    IdeaDecision,
    default_decision,
    editable_fields,
)

EDIT_HEADER = "# Edit the hypothesis, save, quit the editor. Keep the field names; a deleted field stays as it was.\n"


class _ChoicePrompt(Prompt):
    """rich's `Prompt`, reading a scripted stream line without its newline (so Enter gives the default, and the end
    of the input raises `EOFError` as `input()` does) and accepting a unique prefix of a choice."""

    @classmethod
    def get_input(cls, console: Console, prompt: Any, password: bool, stream: TextIO | None = None) -> str:
        """One line typed by the user (from `stream` when given), without the line break."""
        if stream is None:
            return console.input(prompt, password=password)
        console.print(prompt, end="")
        line = stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def process_response(self, value: str) -> str:
        """The answer, expanded to the one choice it names (exactly or by a unique prefix, any case)."""
        value = value.strip()
        if self.choices is None:
            return value
        lowered = value.lower()
        exact = [choice for choice in self.choices if choice.lower() == lowered]
        if exact:
            return exact[0]
        prefixed = [choice for choice in self.choices if lowered and choice.lower().startswith(lowered)]
        if len(prefixed) == 1:
            return prefixed[0]
        raise InvalidResponse(f"[prompt.invalid.choice]please answer one of: {', '.join(self.choices)}")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _tail(text: str, lines: int) -> str:
    kept = text.rstrip().splitlines()
    return "\n".join(kept[-lines:])


def _shorten(text: Any, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _summary_value(value: Any) -> str:
    """A summary entry on one line: numbers rounded, flat mappings as `k=v`; nested values and None are left out."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        flat = [f"{k}={_summary_value(v)}" for k, v in value.items() if not isinstance(v, dict | list)]
        return ", ".join(flat) if len(flat) == len(value) else ""
    if isinstance(value, list):
        return ""
    return _shorten(value, 100)


def _parse_edit(text: str, fields: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The edited fields merged over the originals, or the reason the edited text cannot be used."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return None, f"not valid YAML ({str(error).splitlines()[0]})"
    if not isinstance(loaded, dict):
        return None, "the hypothesis must stay a mapping of `field: value` lines"
    unknown = sorted(str(key) for key in set(loaded) - set(fields))
    if unknown:
        return None, f"unknown field '{unknown[0]}'; the fields are: {', '.join(fields)}"
    merged = {**fields, **loaded}
    for key, original in fields.items():
        if isinstance(original, str) and not (isinstance(merged[key], str) and merged[key].strip()):
            return None, f"field '{key}' must stay non-empty text"
    return merged, None


class InteractiveFeedback(FeedbackBase):
    """Questions at a terminal. A point whose `ask_*` flag is off gets the auto answer without a question.

    `console` (default: rich on stderr) shows the questions; `input_stream` (default: the terminal) answers them;
    `editor` (default: `$EDITOR`, else `vi`) edits hypotheses. Without `input_stream`, stdin must be a terminal.
    """

    TAIL_LINES = 20

    def __init__(self, console: Console | None = None, editor: str | None = None, ask_ideas: bool = True,
                 ask_before: bool = True, ask_after: bool = True, ask_end: bool = True,
                 input_stream: TextIO | None = None, mode: str = "interactive", max_diff_lines: int = 200) -> None:
        if input_stream is None and not sys.stdin.isatty():
            raise UserError(f"feedback={mode} needs a terminal; use feedback=auto or feedback=scripted")
        self.mode = mode
        self.console = console or Console(stderr=True)
        self.input = input_stream
        self.editor = editor or os.environ.get("EDITOR") or "vi"
        self.ask = {"ideas": ask_ideas, "before_execution": ask_before, "after_execution": ask_after,
                    "end": ask_end}
        self.max_diff_lines = max_diff_lines

    def _answer(self, point: FeedbackPoint, question: dict[str, Any]) -> Decision:
        if not self.ask[point]:
            return default_decision(point)
        try:
            if point == "ideas":
                return self._ideas(**question)
            if point == "before_execution":
                return self._before(**question)
            if point == "after_execution":
                return self._after(**question)
            return self._end(**question)
        except EOFError:
            raise UserError(f"feedback={self.mode}: the input ended during the '{point}' question; "
                            "the run stops here (what it produced so far is kept)") from None

    def _answer_point(self, point: Any, question: dict[str, Any]) -> Any:
        from copilot.feedback.points import PointDecision

        try:
            self.console.print(f"[bold]{point.name}[/]: {question['question']}")
            action = self._choose("answer", list(point.actions), default=point.actions[0])
            text = self._text("your words") if action in point.needs_text else None
        except EOFError:
            raise UserError(f"feedback={self.mode}: the input ended during the '{point.name}' question; "
                            "the run stops here (what it produced so far is kept)") from None
        return PointDecision(action=action, text=text)

    def _choose(self, question: str, choices: list[str], default: str | None = None) -> str:
        prompt = _ChoicePrompt(question, console=self.console, choices=choices)
        return str(prompt(default=... if default is None else default, stream=self.input))

    def _text(self, question: str, default: str | None = None, required: bool = True) -> str:
        while True:
            prompt = _ChoicePrompt(question, console=self.console)
            answer = str(prompt(default=... if default is None else default, stream=self.input))
            if answer.strip() or not required:
                return answer.strip()
            self.console.print("[prompt.invalid]please type something")

    # ideas

    def _ideas(self, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        self.console.print(self._hypothesis_table(hypotheses))
        while True:
            action = self._choose("accept the top hypothesis, pick one, edit one, regenerate them, or quit?",
                                  ["accept", "pick", "edit", "regenerate", "quit"], "accept")
            if action in ("accept", "quit"):
                return IdeaDecision(action=action)  # type: ignore[arg-type]
            if action == "regenerate":
                comment = self._text("what should change? (Enter: no comment)", required=False)
                return IdeaDecision(action="regenerate", comment=comment or None)
            index = self._rank(len(hypotheses)) - 1
            if action == "pick":
                return IdeaDecision(action="pick", index=index)
            edited = self._edit_hypothesis(hypotheses[index])
            if edited is not None:
                return IdeaDecision(action="edit", index=index, edited=edited)

    def _hypothesis_table(self, hypotheses: list[dict[str, Any]]) -> Table:
        score_keys = list(hypotheses[0].get("scores") or {})
        table = Table(title="Hypotheses, best first", show_lines=True)
        table.add_column("rank", justify="right")
        table.add_column("hypothesis", ratio=1)
        for key in score_keys:
            table.add_column(key, justify="right")
        table.add_column("total", justify="right", style="bold")
        for rank, hypothesis in enumerate(hypotheses, 1):
            scores = hypothesis.get("scores") or {}
            cell = Text(str(hypothesis.get("title", "(untitled)")), style="bold")
            for field in ("problem", "method"):
                if hypothesis.get(field):
                    cell.append(f"\n{field}: {_shorten(hypothesis[field], 240)}", style="dim")
            if hypothesis.get("reproduces_paper"):
                cell.append("\nreproduces the paper's proposed method (ranked first)", style="green")
            if hypothesis.get("missing_packages"):
                cell.append(f"\nneeds {', '.join(hypothesis['missing_packages'])}: not installed in the sandbox",
                            style="red")
            total = hypothesis.get("total")
            table.add_row(str(rank), cell, *(str(scores.get(key, "-")) for key in score_keys),
                          f"{total:.2f}" if isinstance(total, int | float) else "-")
        return table

    def _rank(self, count: int) -> int:
        if count == 1:
            return 1
        return int(self._choose("which rank?", [str(rank) for rank in range(1, count + 1)]))

    def _edit_hypothesis(self, hypothesis: Mapping[str, Any]) -> dict[str, Any] | None:
        """The edited fields, or None when the edit is cancelled or changes nothing (back to the menu)."""
        fields = editable_fields(hypothesis)
        text = EDIT_HEADER + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=100)
        while True:
            edited_text = self._run_editor(text)
            if edited_text is None:
                return None
            edited, problem = _parse_edit(edited_text, fields)
            if edited is not None and edited == fields:
                self.console.print("no changes made; back to the question")
                return None
            if edited is not None:
                return edited
            self.console.print(f"[red]{escape(str(problem))}[/]")
            if self._choose("edit again or cancel the edit?", ["edit", "cancel"], "edit") == "cancel":
                return None
            text = edited_text

    def _run_editor(self, text: str) -> str | None:
        """Open the editor on `text` in a temporary file; the saved text, or None when the editor failed."""
        with tempfile.TemporaryDirectory(prefix="copilot-edit-") as folder:
            path = Path(folder) / "hypothesis.yaml"
            path.write_text(text, encoding="utf-8")
            try:
                result = subprocess.run([*shlex.split(self.editor), str(path)], check=False)
            except OSError as error:
                self.console.print(f"[red]cannot start the editor {escape(repr(self.editor))} ({error.strerror}); "
                                   "set $EDITOR or feedback.editor[/]")
                return None
            if result.returncode != 0:
                self.console.print(f"[red]the editor exited with status {result.returncode}: edit discarded[/]")
                return None
            return path.read_text(encoding="utf-8")

    # executions

    def _before(self, attempt_id: str, command: str, diff: str) -> ExecDecision:
        self.console.print(self._diff_panel(attempt_id, diff))
        self.console.print(Text.assemble(("command: ", "bold"), command))
        action = self._choose("run it?", ["approve", "skip", "edit"], "approve")
        if action != "edit":
            return ExecDecision(action=action)  # type: ignore[arg-type]
        new = self._text("command to run", default=command)
        if new == command.strip():
            self.console.print("the command is unchanged: running it as it is")
            return ExecDecision(action="approve")
        return ExecDecision(action="edit", command=new)

    def _diff_panel(self, attempt_id: str, diff: str) -> Panel:
        title = f"{attempt_id}: changes against the starter code"
        lines = diff.rstrip().splitlines()
        if not lines:
            return Panel("no code changes", title=title)
        body: RenderableType = Syntax("\n".join(lines[: self.max_diff_lines]), "diff", word_wrap=True)
        hidden = len(lines) - self.max_diff_lines
        subtitle = f"{hidden} more lines not shown; the full diff is saved with the attempt" if hidden > 0 else None
        return Panel(body, title=title, subtitle=subtitle)

    def _after(self, attempt_id: str, status: str, metric: float | None, baseline: float | None, best: float | None,
               stdout_tail: str, stderr_tail: str, attempt_ids: list[str]) -> AfterDecision:
        grid = Table.grid(padding=(0, 3))
        grid.add_row("status", "metric", "baseline", "best so far")
        grid.add_row(Text(status, style="green" if status == "ok" else "red"), _number(metric), _number(baseline),
                     _number(best))
        self.console.print(Panel(grid, title=f"{attempt_id}: result"))
        for name, tail in (("stdout", stdout_tail), ("stderr", stderr_tail)):
            if tail.strip():
                self.console.print(Panel(Text(_tail(tail, self.TAIL_LINES)), title=f"{name} (last lines)"))
        choices = ["continue", "instruct", "rollback", "stop"] if attempt_ids else ["continue", "instruct", "stop"]
        action = self._choose("next: continue, instruct the next attempt, roll back, or stop?", choices, "continue")
        if action == "instruct":
            return AfterDecision(action="instruct", instruction=self._text("instruction for the next attempt"))
        if action == "rollback":
            return AfterDecision(action="rollback", attempt_id=self._choose("roll back to which attempt?", attempt_ids))
        return AfterDecision(action=action)  # type: ignore[arg-type]

    # end

    def _end(self, summary: dict[str, Any]) -> EndDecision:
        table = Table(title="Run summary (full report in report.md)", show_header=False)
        for key, value in summary.items():
            shown = _summary_value(value)
            if shown:
                table.add_row(key, shown)
        self.console.print(table)
        if self._choose("accept the run, or comment on it?", ["accept", "comment"], "accept") == "accept":
            return EndDecision(action="accept")
        return EndDecision(action="comment", comment=self._text("comment"))
