"""Task outcomes: each demo task with each LLM preset that runs offline, end to end, as a user would run it
(`python -m copilot task=<task> llm=<llm> feedback=auto retrieval=offline`). Prints one row per run: baseline and
best metric (both measured by the task's own evaluation), relative improvement, success (at least 10% relative
improvement in the metric's direction, the MLAgentBench definition), tokens, wall time and status.

Runs go to `--out/<task>--<llm>`; a run that already finished there is read, not repeated, and an unfinished one is
resumed, so the benchmark can be stopped and started again. `--summarise-only` only reads.

    .venv/bin/python benchmarks/bench_task_outcomes.py [--tasks a,b] [--llms local,tiny] [--out logs/bench_outcomes]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copilot.sweep import job_row  # noqa: E402 - after the sys.path line above

TASKS = ("tabular-digits", "text-embeddings", "forecast-sales")
COLUMNS = ("task", "llm", "baseline", "best", "improvement_rel", "success", "prompt_tokens", "completion_tokens",
           "wall_time_s", "status")


def run_one(task: str, llm: str, folder: Path, extra: list[str]) -> None:
    """Start, or resume, one end-to-end run; its own logs say what happened."""
    if (folder / "summary.json").is_file():
        return
    if (folder / "run.json").is_file():
        argv = [sys.executable, "-m", "copilot", f"resume={folder}"]
    else:
        argv = [sys.executable, "-m", "copilot", f"task={task}", f"llm={llm}", "feedback=auto", "retrieval=offline",
                f"hydra.run.dir={folder}", *extra]
    started = time.monotonic()
    print(f"running {task} with llm={llm} ...", file=sys.stderr, flush=True)
    done = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL)
    print(f"  {task}/{llm}: exit {done.returncode} after {time.monotonic() - started:.0f} s", file=sys.stderr)


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--llms", default="local")
    parser.add_argument("--out", type=Path, default=ROOT / "logs" / "bench_outcomes")
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    pairs = [(t, m) for t in args.tasks.split(",") for m in args.llms.split(",")]
    rows = []
    for task, llm in pairs:
        folder = args.out / f"{task}--{llm}"
        if not args.summarise_only:
            run_one(task, llm, folder, args.overrides)
        row = job_row(folder) if folder.is_dir() else {"status": "not run"}
        row.update(task=task, llm=llm)
        rows.append(row)
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(cell(row.get(c)) for c in COLUMNS) + " |")
    done = [r for r in rows if r.get("status") == "done"]
    print(f"\n{sum(bool(r.get('success')) for r in done)} of {len(rows)} runs succeeded "
          f"(>= 10% relative improvement); {len(done)} finished.")


if __name__ == "__main__":
    main()
