"""Live progress of a run: one status line saying what is happening now, and bars for the steps that have a length.

The status line names the stage, the attempt, what the model is doing (its call's purpose), the tokens generated so
far and their rate, how long the current step has taken and how much of the run's budget is left. Bars show model
assembly (bytes), sandboxed runs (elapsed of their timeout) and retrieval (sources asked). On a terminal it is a
`rich.live.Live` display redrawn a few times a second; when the console is not a terminal (CI, a log file) it prints
the status line as plain text at most once every `plain_period_s` seconds, and only when something changed, so the
log is never flooded (never a line per token).

One `Progress` per run, passed explicitly. The terminal is for the user; the log files keep the detail: a log record
made with `extra=LOG_ONLY` goes to the log files but never to the terminal (see `capture_logging`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, TaskID, TextColumn
from rich.progress import Progress as RichBars
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from copilot.llm.base import Usage

LOG_ONLY: dict[str, Any] = {"terminal": False}
"""`extra=` for a log record that belongs in the log files only (its short form is shown on the terminal already)."""

PURPOSES = {
    "idea.analyse": "analysing the paper",
    "idea.hypotheses": "writing hypotheses",
    "idea.reproduce": "writing the reproduction hypothesis",
    "idea.novelty": "judging a hypothesis' novelty",
    "idea.score": "scoring a hypothesis",
    "idea.plan": "writing the experiment plan",
    "experiment.profile": "writing a data-profiling script",
    "experiment.rewrite": "writing the experiment script",
    "experiment.step": "choosing the next action",
    "experiment.compact": "summarising earlier steps",
    "execution.parts": "listing the method's parts",
    "coach.parts": "listing the method's parts",
    "coach.next_changes": "proposing changes to try next",
    "tool.understand_file": "reading a file",
    "tool.reflection": "reflecting on the work so far",
}
"""What the model is doing, by the `purpose` an agent gives `LLM.complete`; other purposes are shown as they are."""


def _clock_text(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _bytes_text(amount: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if amount >= size:
            return f"{amount / size:.1f} {unit}" if unit == "GB" else f"{amount / size:.0f} {unit}"
    return f"{amount:.0f} B"


@dataclass
class _Call:
    """The model call in flight."""

    purpose: str
    expected_tokens: int | None
    started: float
    prompt_tokens: int | None = None
    cached_tokens: int = 0
    generated: int = 0
    first_token_at: float | None = None
    last_token_at: float | None = None


@dataclass
class Activity:
    """A timed step in flight, as `Progress.activity` yields it: `advance` and `update` move its bar.

    `total_s` makes a timed step (its bar is the elapsed time of that limit, moving by itself); `total` a counted one
    (`unit` "bytes" or a word such as "sources"), moved by `advance`; with neither it shows only its elapsed time.
    """

    label: str
    started: float
    total: float | None = None
    total_s: float | None = None
    unit: str = ""
    completed: float = 0.0
    _owner: Progress | None = field(default=None, repr=False)
    _task: TaskID | None = field(default=None, repr=False)

    def advance(self, amount: float = 1.0) -> None:
        """Count `amount` more of the total done."""
        if self._owner is not None:
            self._owner._update_activity(self, completed=self.completed + amount)

    def update(self, *, completed: float | None = None, label: str | None = None) -> None:
        """Set how much is done, or change what the step says it is doing."""
        if self._owner is not None:
            self._owner._update_activity(self, completed=completed, label=label)

    def amount_text(self, now: float) -> str:
        """How far the step is, in words: `0:32 of 2:00`, `45% of 1.1 GB`, `2 of 3 sources`, or its elapsed time."""
        elapsed = _clock_text(now - self.started)
        if self.total_s:
            return f"{elapsed} of {_clock_text(self.total_s)}"
        if self.total and self.unit == "bytes":
            return f"{100 * self.completed / self.total:.0f}% of {_bytes_text(self.total)}, {elapsed}"
        if self.total:
            return f"{self.completed:.0f} of {self.total:.0f} {self.unit}".rstrip() + f", {elapsed}"
        return elapsed


class Progress:
    """The run's live display. Use as a context manager (or `start`/`close`); every method is safe from any thread.

    `console` is the app's console (stderr); everything else printed on it while the display runs appears above the
    status line. `budget_left` returns the seconds left of the run's wall-clock budget (None when unbounded); it may
    be set later, once the budget exists. `live` chooses the display (default: rich on a terminal, plain otherwise).
    """

    def __init__(self, console: Console, *, budget_left: Callable[[], float | None] | None = None,
                 live: bool | None = None, plain_period_s: float = 30.0, refresh_per_second: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.budget_left = budget_left
        self.live = (console.is_terminal and not console.is_dumb_terminal) if live is None else live
        self.plain_period_s = plain_period_s
        self.refresh_per_second = refresh_per_second
        self.clock = clock
        self._lock = threading.RLock()
        self._stage: str | None = None
        self._stage_started = clock()
        self._attempt: str | None = None
        self._call: _Call | None = None
        self._activities: list[Activity] = []
        self._noticed: set[str] = set()
        self._bars = RichBars(TextColumn("  {task.description}"), BarColumn(bar_width=24),
                              TextColumn("{task.fields[amount]}"), console=console, auto_refresh=False)
        self._display: Live | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._paused = False
        self._last_key: tuple[Any, ...] | None = None
        self._last_line_at = float("-inf")

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Progress:
        """Show the display (rich) or start the periodic writer (plain)."""
        if self.live:
            if self._display is None:
                self._display = Live(console=self.console, get_renderable=self.render, transient=True,
                                     refresh_per_second=self.refresh_per_second)
                self._display.start()
        elif self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_forever, name="copilot-progress", daemon=True)
            self._ticker.start()
        return self

    def close(self) -> None:
        """Take the display down (the status line disappears; lines printed above it stay)."""
        if self._display is not None:
            self._display.stop()
            self._display = None
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join(timeout=5)
            self._ticker = None

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the display while the human is asked something (a prompt must not be redrawn over)."""
        display = self._display
        self._paused = True
        if display is not None:
            display.stop()
        try:
            yield
        finally:
            self._paused = False
            if display is not None and self._display is display:
                display.start()

    # -- what the run is doing ---------------------------------------------------------------------------------

    def stage(self, name: str) -> None:
        """A stage started (`idea`, `experiment`, `execution`); the attempt is cleared."""
        with self._lock:
            self._stage, self._attempt, self._stage_started = name, None, self.clock()

    def attempt(self, attempt_id: str | None, kind: str = "") -> None:
        """An attempt started (`a003`, `improve`); None when the stage is between attempts."""
        with self._lock:
            self._attempt = f"{attempt_id} {kind}".strip() if attempt_id else None

    @contextmanager
    def activity(self, label: str, *, total: float | None = None, total_s: float | None = None,
                 unit: str = "") -> Iterator[Activity]:
        """A step with a bar while the block runs (see `Activity` for the three kinds)."""
        step = Activity(label=label, started=self.clock(), total=total, total_s=total_s, unit=unit, _owner=self)
        with self._lock:
            bar_total = total_s if total_s else total
            step._task = self._bars.add_task(label, total=bar_total, amount="")
            self._activities.append(step)
        try:
            yield step
        finally:
            with self._lock:
                self._activities.remove(step)
                if step._task is not None:
                    self._bars.remove_task(step._task)
                step._owner = None

    def _update_activity(self, step: Activity, *, completed: float | None = None, label: str | None = None) -> None:
        with self._lock:
            if completed is not None:
                step.completed = completed
            if label is not None:
                step.label = label

    # -- the LLM channel (copilot.llm.client.LLMProgress) ------------------------------------------------------

    def llm_started(self, purpose: str, expected_tokens: int | None = None) -> None:
        """A model call started; `expected_tokens` is its reply limit, when known."""
        with self._lock:
            self._call = _Call(purpose=purpose, expected_tokens=expected_tokens, started=self.clock())

    def llm_prompt(self, evaluating: int, cached: int = 0) -> None:
        """The model is reading its prompt: `evaluating` new tokens after `cached` ones reused from the KV cache."""
        with self._lock:
            if self._call is not None:
                self._call.prompt_tokens, self._call.cached_tokens = evaluating + cached, cached

    def llm_tokens(self, generated: int) -> None:
        """`generated` tokens of the reply exist so far (a running count, not an increment)."""
        with self._lock:
            call = self._call
            if call is None:
                return
            now = self.clock()
            if call.first_token_at is None:
                call.first_token_at = now
            call.generated, call.last_token_at = generated, now

    def llm_finished(self, usage: Usage | None = None) -> None:
        """The model call ended (`usage` None when it failed)."""
        with self._lock:
            self._call = None

    # -- lines for the user ------------------------------------------------------------------------------------

    def notice(self, text: str, key: str | None = None) -> bool:
        """Print `text` as one line, once per run for its `key` (default: the text); True when it was printed."""
        with self._lock:
            if (key or text) in self._noticed:
                return False
            self._noticed.add(key or text)
        self.line(text)
        return True

    def line(self, text: str, style: str | None = None) -> None:
        """Print one line above the status line, never wrapped away from its start (a long path stays whole)."""
        self.console.print(Text(text, style=style or ""), soft_wrap=True)

    @contextmanager
    def capture_logging(self, logger: logging.Logger | None = None, level: int = logging.WARNING) -> Iterator[None]:
        """While the block runs, `logger`'s (default: the root's) terminal handlers are replaced by one that prints
        records of `level` and above as one line each above the status line, except those made with
        `extra=LOG_ONLY`. File handlers (cli.log, main_log) are untouched and keep every record."""
        target = logger or logging.getLogger()
        streams = {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}
        replaced = [h for h in target.handlers if isinstance(h, logging.StreamHandler)
                    and not isinstance(h, logging.FileHandler) and getattr(h, "stream", None) in streams]
        ours = _TerminalLogHandler(self, level)
        for handler in replaced:
            target.removeHandler(handler)
        target.addHandler(ours)
        try:
            yield
        finally:
            target.removeHandler(ours)
            for handler in replaced:
                target.addHandler(handler)

    # -- rendering ---------------------------------------------------------------------------------------------

    def status_text(self) -> str:
        """The status line as plain text (both displays show it)."""
        with self._lock:
            now = self.clock()
            parts = [f"stage {self._stage}" if self._stage else "starting"]
            if self._attempt:
                parts.append(self._attempt)
            since = self._stage_started
            call = self._call
            if call is not None:
                parts.append(f"model: {PURPOSES.get(call.purpose, call.purpose or 'answering')}")
                parts.extend(self._call_parts(call, now))
                since = call.started
            elif self._activities:
                since = self._activities[-1].started
            if not self.live:
                parts.extend(f"{a.label} {a.amount_text(now)}" for a in self._activities)
            parts.append(_clock_text(now - since))
            left = self.budget_left() if self.budget_left else None
            if left is not None:
                parts.append(f"{_clock_text(left)} of the budget left" if left > 0 else "budget spent")
            return " · ".join(parts)

    @staticmethod
    def _call_parts(call: _Call, now: float) -> list[str]:
        if call.first_token_at is None:
            if call.prompt_tokens is None:
                return ["waiting for the reply"]
            cached = f", {call.cached_tokens:,} cached" if call.cached_tokens else ""
            return [f"reading its {call.prompt_tokens:,}-token prompt{cached}"]
        limit = f" (at most {call.expected_tokens:,})" if call.expected_tokens else ""
        parts = [f"{call.generated:,} tokens{limit}"]
        decoding = (call.last_token_at or now) - call.first_token_at
        if call.generated > 1 and decoding > 0:
            parts.append(f"{(call.generated - 1) / decoding:.1f} tokens/s")
        return parts

    def _status_key(self) -> tuple[Any, ...]:
        """What the plain display compares to decide whether anything changed (time passing alone is no change)."""
        with self._lock:
            call = self._call
            return (self._stage, self._attempt,
                    (call.purpose, call.started, call.prompt_tokens, call.generated) if call else None,
                    tuple((a.label, a.started, a.completed) for a in self._activities))

    def render(self) -> RenderableType:
        """The rich display: a spinner and the status line, then a bar per running step."""
        with self._lock:
            now = self.clock()
            for step in self._activities:
                if step._task is None:
                    continue
                done = now - step.started if step.total_s else step.completed
                self._bars.update(step._task, description=step.label, amount=step.amount_text(now),
                                  completed=min(done, step.total_s) if step.total_s else done)
            line = Table.grid(padding=(0, 1))
            line.add_row(Spinner("dots", style="cyan"), Text(self.status_text(), overflow="ellipsis", no_wrap=True))
            return Group(line, self._bars) if self._activities else line

    def tick(self) -> bool:
        """The plain display's step: print the status line if the period has passed and something changed."""
        if self.live or self._paused:
            return False
        now = self.clock()
        key = self._status_key()
        idle = key == (None, None, None, ())  # nothing has started: nothing to say
        if idle or now - self._last_line_at < self.plain_period_s or key == self._last_key:
            return False
        self._last_key, self._last_line_at = key, now
        self.console.print(Text(f"progress: {self.status_text()}"), soft_wrap=True)
        return True

    def _tick_forever(self) -> None:
        while not self._stop.wait(min(1.0, self.plain_period_s)):
            self.tick()


class _TerminalLogHandler(logging.Handler):
    """Log records on the terminal, one line each above the status line; `extra=LOG_ONLY` ones stay in the files."""

    def __init__(self, progress: Progress, level: int) -> None:
        super().__init__(level)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "terminal", True) is False:
            return
        try:
            style = "red" if record.levelno >= logging.ERROR else "yellow" if record.levelno >= logging.WARNING else ""
            self.progress.line(f"{record.levelname.lower()}: {record.getMessage()}", style=style)
        except Exception:  # a handler must never raise into the code that logged
            self.handleError(record)
