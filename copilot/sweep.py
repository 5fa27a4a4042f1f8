"""After a Hydra multirun: one row per job in `sweep_summary.md`, `sweep_summary.csv` and `index.html` (the same
table, each job linked to its run page) in the sweep directory.

Registered in `conf/config.yaml` under `hydra.callbacks`; it reads only what each job wrote (`run.json`,
`summary.json`), so a failed or interrupted job is a row with its status rather than a missing line. With
`tracking=mlflow` the sweep is one MLflow experiment: created here before the jobs start (parallel jobs would race to
create it), and given the sweep table as its description when they have ended.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("copilot.sweep")

COLUMNS = ["job", "task", "llm", "seed", "baseline", "best", "improvement_rel", "success", "cost_usd",
           "prompt_tokens", "completion_tokens", "wall_time_s", "status"]


def job_row(job_dir: Path) -> dict[str, Any]:
    """The summary row of one job folder."""
    row: dict[str, Any] = {"job": job_dir.name}
    overrides = job_dir / ".hydra" / "overrides.yaml"
    if overrides.is_file():
        import yaml

        for item in yaml.safe_load(overrides.read_text()) or []:
            key, _, value = str(item).partition("=")
            if key in ("task", "llm", "seed"):
                row[key] = value
    run = job_dir / "run.json"
    if run.is_file():
        data = json.loads(run.read_text())
        row.setdefault("task", data.get("task"))
        row.setdefault("llm", data.get("llm"))
        row.setdefault("seed", data.get("config", {}).get("seed"))
    summary = job_dir / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text())
        row.update({k: data.get(k) for k in ("baseline", "best", "improvement_rel", "success", "cost_usd",
                                              "prompt_tokens", "cached_prompt_tokens", "cached_share",
                                              "completion_tokens", "wall_time_s")})
        row["status"] = "done"
    elif (job_dir / "idea" / "plan.json").is_file():
        attempts = any((job_dir / "attempts").glob("*/attempt.json"))
        row["status"] = "incomplete" if attempts else "stopped after stage 1"
    else:
        row["status"] = "failed (see the job's agent_log/main_log)"
    return row


def write_sweep_summary(sweep_dir: Path) -> Path:
    """Write the markdown, CSV and HTML summaries of every job folder under `sweep_dir`; returns the markdown path."""
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").is_dir()),
                  key=lambda p: (len(p.name), p.name))
    rows = [job_row(job) for job in jobs]
    with (sweep_dir / "sweep_summary.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in COLUMNS) + " |" for row in rows]
    path = sweep_dir / "sweep_summary.md"
    path.write_text(f"# Sweep summary ({len(rows)} jobs)\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    from copilot.view.page import write_sweep_index

    write_sweep_index(sweep_dir, rows, COLUMNS)
    return path


def _sweep_trackers(config: DictConfig) -> list[Any]:
    from copilot.errors import UserError
    from copilot.tracking.base import build_trackers

    try:
        trackers = build_trackers(config.get("tracking"))
    except UserError as error:  # each job reports it as its own one-line error; the sweep's summary still comes
        log.warning("sweep tracking: %s", error)
        return []
    return [t for t in trackers if hasattr(t, "sweep_started")]


class SweepSummaryCallback(Callback):
    """Hydra callback: prepares the sweep's experiment tracking when a multirun starts, and writes the sweep summary
    (and describes the tracked experiment with it) when it ends."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Called by Hydra before the first job starts."""
        sweep_dir = Path(config.hydra.sweep.dir)
        for tracker in _sweep_trackers(config):
            sweep_dir.mkdir(parents=True, exist_ok=True)
            tracker.sweep_started(sweep_dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Called by Hydra after every job of the sweep finished."""
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            summary = write_sweep_summary(sweep_dir)
            log.info("sweep summary: %s (page: %s)", summary, sweep_dir / "index.html")
            for tracker in _sweep_trackers(config):
                tracker.sweep_finished(sweep_dir, summary.read_text(encoding="utf-8"))
