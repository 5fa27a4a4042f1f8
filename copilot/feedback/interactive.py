"""`InteractiveFeedback`: asks at a terminal with rich tables, diffs and prompts; `confirm` mode asks only before
executions. Input and output streams are injectable, so tests drive it with scripted keystrokes.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import yaml
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from copilot.errors import UserError
from copilot.feedback.base import AfterDecision, EndDecision, ExecDecision, IdeaDecision

SCORE_KEYS = ("clarity", "validity", "novelty", "feasibility", "significance")


class InteractiveFeedback:
    """Questions at a terminal. `ask_ideas`/`ask_after` off give the `confirm` mode (only before executions)."""

    def __init__(self, console: Console | None = None, input_stream: IO[str] | None = None, editor: str | None = None,
                 ask_ideas: bool = True, ask_before: bool = True, ask_after: bool = True, mode: str = "interactive",
                 require_tty: bool = True) -> None:
        self.input = input_stream or sys.stdin
        if require_tty and input_stream is None and not sys.stdin.isatty():
            raise UserError(f"feedback={mode} needs a terminal; use feedback=auto or feedback=scripted")
        self.console = console or Console(stderr=True)
        self.editor = editor or os.environ.get("EDITOR") or "vi"
        self.ask_ideas, self.ask_before, self.ask_after = ask_ideas, ask_before, ask_after
        self.mode = mode

    def _ask(self, question: str, choices: list[str], default: str) -> str:
        """Ask until the answer is one of `choices` (a unique prefix counts)."""
        while True:
            self.console.print(f"{question} [{'/'.join(choices)}] ({default}): ", end="")
            line = self.input.readline()
            if line == "":
                raise UserError("feedback: the input ended while a question was open")
            answer = line.strip().lower() or default
            matches = [c for c in choices if c.startswith(answer)]
            if len(matches) == 1:
                return matches[0]
            self.console.print(f"[red]please answer one of: {', '.join(choices)}[/]")

    def _line(self, question: str) -> str:
        self.console.print(f"{question}: ", end="")
        return self.input.readline().strip()

    def _edit_text(self, text: str) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as fh:
            fh.write(text)
            path = Path(fh.name)
        try:
            subprocess.run([*shlex.split(self.editor), str(path)], check=False)
            return path.read_text(encoding="utf-8")
        finally:
            path.unlink(missing_ok=True)

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        """Show the ranked hypotheses and ask what to do."""
        if not self.ask_ideas:
            return IdeaDecision(action="accept")
        table = Table(title="Hypotheses (ranked)")
        for column in ("#", "title", *SCORE_KEYS, "total"):
            table.add_column(column)
        for i, h in enumerate(hypotheses):
            scores = h.get("scores", {})
            cells = [str(scores.get(k, "-")) for k in SCORE_KEYS]
            table.add_row(str(i), h["title"], *cells, f"{h.get('total', 0):.1f}")
        self.console.print(table)
        action = self._ask("accept the top one, pick, edit, regenerate or quit?",
                           ["accept", "pick", "edit", "regenerate", "quit"], "accept")
        if action in ("pick", "edit"):
            index = self._index(len(hypotheses))
            if action == "pick":
                return IdeaDecision(action="pick", index=index)
            fields = {k: v for k, v in hypotheses[index].items() if k not in ("scores", "total", "novel")}
            return IdeaDecision(action="edit", index=index, edited=self._edited(fields))
        if action == "regenerate":
            return IdeaDecision(action="regenerate", comment=self._line("what should change") or None)
        return IdeaDecision(action=action)  # type: ignore[arg-type]

    def _index(self, count: int) -> int:
        while True:
            answer = self._line(f"which hypothesis (0-{count - 1})")
            if answer.isdigit() and int(answer) < count:
                return int(answer)
            self.console.print(f"[red]a number from 0 to {count - 1}, please[/]")

    def _edited(self, fields: dict[str, Any]) -> dict[str, Any]:
        text = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
        while True:
            text = self._edit_text(text)
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as error:
                self.console.print(f"[red]not valid YAML ({str(error).splitlines()[0]}); edit again[/]")
                continue
            if isinstance(data, dict):
                return data
            self.console.print("[red]the hypothesis must stay a mapping of fields; edit again[/]")

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision:
        """Show the diff and the command; approve, skip or edit the command."""
        if not self.ask_before:
            return ExecDecision(action="approve")
        if diff.strip():
            self.console.print(Panel(Syntax(diff[-6000:], "diff"), title=f"{attempt_id}: changes"))
        self.console.print(f"command: [bold]{command}[/]")
        action = self._ask("run it?", ["approve", "skip", "edit"], "approve")
        if action == "edit":
            return ExecDecision(action="edit", command=self._line("command") or command)
        return ExecDecision(action=action)  # type: ignore[arg-type]

    def after_execution(self, *, attempt_id: str, status: str, metric: float | None, baseline: float | None,
                        best: float | None, stdout_tail: str, stderr_tail: str,
                        attempt_ids: list[str]) -> AfterDecision:
        """Show the result; continue, instruct, roll back or stop."""
        if not self.ask_after:
            return AfterDecision(action="continue")
        self.console.print(Panel(f"status: {status}   metric: {metric}   baseline: {baseline}   best: {best}\n\n"
                                 f"{(stderr_tail or stdout_tail)[-1500:]}", title=f"{attempt_id}: result"))
        action = self._ask("next?", ["continue", "instruct", "rollback", "stop"], "continue")
        if action == "instruct":
            return AfterDecision(action="instruct", instruction=self._line("instruction for the next attempt"))
        if action == "rollback":
            target = self._ask("roll back to which attempt?", attempt_ids, attempt_ids[-1])
            return AfterDecision(action="rollback", attempt_id=target)
        return AfterDecision(action=action)  # type: ignore[arg-type]

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision:
        """Show the summary; accept or comment."""
        if not self.ask_after:
            return EndDecision(action="accept")
        self.console.print(Panel(yaml.safe_dump(summary, sort_keys=False)[:3000], title="summary"))
        action = self._ask("done?", ["accept", "comment"], "accept")
        if action == "comment":
            return EndDecision(action="comment", comment=self._line("comment"))
        return EndDecision(action="accept")
