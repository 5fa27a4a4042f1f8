"""The run page (`run.html`) and a sweep's index page (`index.html`): self-contained HTML rendered from the records.

Jinja templates in `templates/` with autoescaping on (attempt text, diffs and errors are untrusted) and
`StrictUndefined`. Everything is inline (CSS, the small script, the SVG plot), so a page opens offline, from a copied
run directory too. Every number shown is a recorded value formatted by the filters below; nothing is computed but
the selection of the best attempt so far and a relative improvement shown as a percentage.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from copilot.view.chart import metric_chart
from copilot.view.records import RunView, load_run_view

TEMPLATES = Path(__file__).resolve().parent / "templates"
RUN_PAGE = "run.html"
SWEEP_PAGE = "index.html"
DIFF_LINES = 600
"""Lines of a diff shown on the page; the whole diff stays in the attempt's record."""
OUTPUT_LINES = 40
"""Last lines of an experiment's stdout and stderr shown on the page."""
RELOAD_S = 10
"""How often an unfinished run's page reloads itself."""


def num(value: float | int | None) -> str:
    """A recorded value with six significant digits, as the report writes it; an em dash when there is none."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.6g}"


def seconds(value: float | None) -> str:
    """A duration in seconds with one decimal."""
    return "—" if value is None else f"{value:,.1f} s"


def money(value: float | None) -> str:
    """A cost in US dollars, as the report writes it."""
    return "—" if value is None else f"${value:.4f}"


def percent(value: float | None) -> str:
    """A recorded fraction (the relative improvement) as a signed percentage with one decimal."""
    return "—" if value is None else f"{100 * value:+.1f}%"


def signed(value: float | None) -> str:
    """A recorded difference with its sign (positive is better)."""
    return "—" if value is None else f"{value:+.6g}"


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """(css class, text) for each shown line of a unified diff: add, del, hunk, file or ctx."""
    out = []
    for line in diff.splitlines()[:DIFF_LINES]:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx" if line.startswith(" ") else "file"
        out.append((kind, line))
    return out


def diff_is_cut(diff: str) -> bool:
    """Whether the page shows only the head of this diff."""
    return len(diff.splitlines()) > DIFF_LINES


def tail(text: str | None, lines: int = OUTPUT_LINES) -> str:
    """The last `lines` lines of `text`."""
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=num, seconds=seconds, money=money, percent=percent, signed=signed,
                       diff_lines=diff_lines, diff_is_cut=diff_is_cut, tail=tail)
    return env


def render_run_page(view: RunView, *, live: bool) -> str:
    """The HTML of the run page; `live`: the run is going on, so the page reloads itself."""
    best = view.best
    baseline = view.baseline
    chart = metric_chart(view.attempts, baseline.metric if baseline else None, best.id if best else None)
    last = view.attempts[-1] if view.attempts else None
    shown = best or last
    selected = shown.id if shown is not None else ""
    reproduction = next((r.hypothesis.title for r in view.hypotheses if r.reproduces_paper), None)
    return _environment().get_template("run.html.j2").render(
        v=view, best=best, baseline=baseline, chart=chart, live=live and not view.finished, reload_s=RELOAD_S,
        selected=selected, last=last, reproduction=reproduction,
        report_exists=(view.root / "report.md").is_file(), plot_exists=(view.root / "metric.png").is_file())


def _write_atomic(path: Path, text: str) -> None:
    """Through a temporary file and a rename: a page reloading meanwhile never reads half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run_page(run_dir: Path, *, live: bool = False) -> Path:
    """Render `run_dir/run.html` from the run's records and return its path."""
    path = Path(run_dir) / RUN_PAGE
    _write_atomic(path, render_run_page(load_run_view(run_dir), live=live))
    return path


def write_sweep_index(sweep_dir: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    """`sweep_dir/index.html`: the sweep table (rows as `copilot.sweep.job_row` makes them) with a link to each
    job's run page, rendered first where a job has records but no page yet."""
    pages = {}
    for row in rows:
        job = sweep_dir / str(row["job"])
        if not (job / RUN_PAGE).is_file() and (job / "run.json").is_file():
            write_run_page(job)
        pages[row["job"]] = f"{row['job']}/{RUN_PAGE}" if (job / RUN_PAGE).is_file() else None
    text = _environment().get_template("sweep.html.j2").render(
        sweep=sweep_dir.resolve(), rows=rows, columns=list(columns), pages=pages)
    path = sweep_dir / SWEEP_PAGE
    _write_atomic(path, text)
    return path
