"""The run's live display (`copilot.progress.Progress`): the rich status line, the plain periodic writer, activities,
notices, the terminal log handler, and the LLM channel as the `LLM` client feeds it (with a scripted backend here; the
real local backend's token stream is tested in tests/test_llm_local.py). Time comes from a fake clock."""

from __future__ import annotations

import io
import logging
import re
import sys
import time

import pytest
from rich.console import Console

from copilot.llm.base import Completion, Message, PermanentLLMError, Request, Usage
from copilot.llm.client import LLM
from copilot.progress import LOG_ONLY, Progress


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain(clock: Clock, period: float = 30.0, **kwargs) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    return Progress(console, live=False, plain_period_s=period, clock=clock, **kwargs), out


def lines(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line]


def test_the_status_line_names_stage_attempt_purpose_tokens_rate_elapsed_and_budget():
    clock = Clock()
    progress, _ = plain(clock, budget_left=lambda: 664.0)
    progress.stage("execution")
    progress.attempt("a002", "improve")
    progress.llm_started("experiment.rewrite", expected_tokens=1024)
    progress.llm_prompt(evaluating=300, cached=2600)
    clock.now += 4
    assert progress.status_text() == ("stage execution · a002 improve · model: writing the experiment script · "
                                      "reading its 2,900-token prompt, 2,600 cached · 0:04 · 11:04 of the budget left")
    progress.llm_tokens(1)
    for generated in range(2, 101):
        clock.now += 0.1
        progress.llm_tokens(generated)
    assert progress.status_text() == ("stage execution · a002 improve · model: writing the experiment script · "
                                      "100 tokens (at most 1,024) · 10.0 tokens/s · 0:13 · 11:04 of the budget left")
    progress.llm_finished(Usage(completion_tokens=100))
    assert progress.status_text() == "stage execution · a002 improve · 0:13 · 11:04 of the budget left"


def test_an_unknown_purpose_is_shown_as_given_and_a_spent_budget_says_so():
    clock = Clock()
    progress, _ = plain(clock, budget_left=lambda: -3.0)
    progress.stage("idea")
    progress.llm_started("custom.thing")
    assert progress.status_text() == "stage idea · model: custom.thing · waiting for the reply · 0:00 · budget spent"


def test_plain_mode_prints_at_most_one_line_per_period_and_only_on_change():
    clock = Clock()
    progress, out = plain(clock, period=30.0)
    assert not progress.tick(), "before anything has started there is nothing to say"
    progress.stage("idea")
    assert progress.tick()
    progress.llm_started("idea.hypotheses", expected_tokens=2048)
    clock.now += 10
    assert not progress.tick(), "within the period nothing is printed, even though something changed"
    for generated in range(1, 3001):  # 300 s of tokens, a tick every second as the writer's thread does
        progress.llm_tokens(generated)
        if generated % 10 == 0:
            clock.now += 1
            progress.tick()
    printed = lines(out)
    assert 10 <= len(printed) <= 11, printed  # one per 30 s over 300 s, never one per token
    assert all(line.startswith("progress: stage idea") for line in printed)
    assert re.search(r"model: writing hypotheses · [\d,]+ tokens \(at most 2,048\) · 10\.0 tokens/s", printed[-1])
    progress.llm_finished(None)
    clock.now += 31
    assert progress.tick()
    clock.now += 120
    assert not progress.tick(), "time passing alone is no change"


def test_plain_mode_shows_activities_inline_with_their_amount():
    clock = Clock()
    progress, _ = plain(clock)
    progress.stage("execution")
    with progress.activity("running a001: python train.py", total_s=120) as step:
        clock.now += 32
        assert "running a001: python train.py 0:32 of 2:00" in progress.status_text()
        assert step.amount_text(clock.now) == "0:32 of 2:00"
    with progress.activity("assembling the embedded model", total=1_117_320_768, unit="bytes") as step:
        step.advance(502_794_345)
        clock.now += 12
        assert "assembling the embedded model 45% of 1.1 GB, 0:12" in progress.status_text()
    with progress.activity("related work", total=3, unit="sources") as step:
        step.advance()
        step.update(label="related work: asking arXiv")
        assert "related work: asking arXiv 1 of 3 sources, 0:00" in progress.status_text()
    assert progress.status_text().startswith("stage execution · ")
    assert "related work" not in progress.status_text()


def test_rich_mode_renders_the_status_line_and_a_bar_per_activity():
    clock = Clock()
    console = Console(record=True, force_terminal=True, width=160, file=io.StringIO())
    progress = Progress(console, clock=clock, budget_left=lambda: 600.0)
    assert progress.live
    progress.stage("idea")
    progress.llm_started("idea.hypotheses", expected_tokens=2048)
    progress.llm_tokens(1)
    clock.now += 2
    progress.llm_tokens(21)
    with progress.activity("running a001: python train.py", total_s=120):
        clock.now += 30
        console.print(progress.render())
    text = console.export_text()
    assert "stage idea · model: writing hypotheses · 21 tokens (at most 2,048) · 10.0 tokens/s" in text
    assert "10:00 of the budget left" in text
    assert "running a001: python train.py" in text and "0:30 of 2:00" in text
    assert "━" in text, "the timed step is drawn as a bar"


def test_the_live_display_starts_shows_the_line_and_goes_away():
    console = Console(record=True, force_terminal=True, width=160, file=io.StringIO())
    with Progress(console, refresh_per_second=20) as progress:
        progress.stage("experiment")
        progress.line("implementing the plan")
        time.sleep(0.2)
        assert progress._display is not None
        with progress.paused():
            assert progress._display is not None and not progress._display.is_started
        assert progress._display.is_started
    assert progress._display is None
    assert "implementing the plan" in console.export_text()


def test_the_plain_writer_thread_prints_once_and_then_stays_quiet_without_changes():
    out = io.StringIO()
    progress = Progress(Console(file=out, width=100), live=False, plain_period_s=0.05)
    progress.stage("idea")
    with progress:
        deadline = time.monotonic() + 10
        while not lines(out) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
    assert len(lines(out)) == 1 and lines(out)[0].startswith("progress: stage idea · 0:0")


def test_a_notice_is_printed_once_per_key():
    progress, out = plain(Clock())
    assert progress.notice("arXiv: offline, using the local library")
    assert not progress.notice("arXiv: offline, using the local library")
    assert progress.notice("Semantic Scholar: offline, using the local library")
    assert lines(out) == ["arXiv: offline, using the local library",
                          "Semantic Scholar: offline, using the local library"]


def test_a_long_path_stays_on_the_line_of_its_label():
    out = io.StringIO()
    progress = Progress(Console(file=out, width=40), live=False)
    path = "/home/someone/copilot/logs/tabular-digits/2026-12-02_11-34-08/idea/plan.json"
    progress.line(f"plan written: {path}")
    assert out.getvalue() == f"plan written: {path}\n"


def test_the_run_console_never_breaks_a_long_line_when_output_is_not_a_terminal():
    from copilot.app import run_console

    out = io.StringIO()
    line = "agent: edit (train.py has 167 lines: search/replace edits instead of whole files) " + "x" * 60
    run_console(out).print(line)
    assert out.getvalue() == line + "\n"


def test_captured_logging_shows_warnings_once_keeps_log_only_records_in_the_file(tmp_path):
    """The root logger set up as Hydra does (a stdout handler and cli.log): while captured, the terminal shows each
    warning as one line, nothing below warnings and nothing marked LOG_ONLY; the file keeps everything."""
    root = logging.getLogger()
    console_handler = logging.StreamHandler(sys.stdout)
    file_handler = logging.FileHandler(tmp_path / "cli.log")
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(console_handler)
    root.addHandler(file_handler)
    progress, out = plain(Clock())
    log = logging.getLogger("copilot.test_progress")
    try:
        with progress.capture_logging():
            assert console_handler not in root.handlers
            log.info("loading the model")
            log.warning("arxiv: offline (export.arxiv.org does not resolve); continuing without it", extra=LOG_ONLY)
            log.warning("the reply did not validate")
        assert console_handler in root.handlers
    finally:
        for handler in (console_handler, file_handler):
            root.removeHandler(handler)
        file_handler.close()
        root.setLevel(old_level)
    assert lines(out) == ["warning: the reply did not validate"]
    logged = (tmp_path / "cli.log").read_text()
    assert "loading the model" in logged and "export.arxiv.org does not resolve" in logged
    assert "the reply did not validate" in logged


class _Backend:
    """A test double backend: a fixed reply, or a failure (scripted, no model)."""

    model = "double"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def generate(self, request: Request) -> Completion:
        if self.fail:
            raise PermanentLLMError("bad request")
        return Completion(text="ok", usage=Usage(prompt_tokens=5, completion_tokens=2))


class Recorder:
    """Records what the LLM client reports."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def llm_started(self, purpose, expected_tokens=None):
        self.events.append(("started", purpose, expected_tokens))

    def llm_prompt(self, evaluating, cached=0):
        self.events.append(("prompt", evaluating, cached))

    def llm_tokens(self, generated):
        self.events.append(("tokens", generated))

    def llm_finished(self, usage=None):
        self.events.append(("finished", usage.completion_tokens if usage else None))


def test_the_client_reports_each_call_of_a_backend_that_does_not_stream_at_its_end():
    recorder = Recorder()
    llm = LLM(_Backend(), progress=recorder)
    llm.complete([Message(role="user", content="hi")], max_tokens=64, purpose="idea.plan")
    assert recorder.events == [("started", "idea.plan", 64), ("finished", 2)]
    failing = LLM(_Backend(fail=True), progress=recorder, max_retries=0)
    with pytest.raises(PermanentLLMError):
        failing.complete([Message(role="user", content="hi")], purpose="idea.plan")
    assert recorder.events[-2:] == [("started", "idea.plan", None), ("finished", None)]


def test_a_call_that_fails_leaves_no_stale_model_status():
    clock = Clock()
    progress, _ = plain(clock)
    progress.stage("idea")
    with pytest.raises(PermanentLLMError):
        LLM(_Backend(fail=True), progress=progress, max_retries=0).complete([Message(role="user", content="x")])
    assert progress.status_text() == "stage idea · 0:00"
