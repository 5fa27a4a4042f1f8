"""What a user sees on a terminal during a demo run: the run started in tmux as a user starts it
(`bash run_demo.sh <task> local feedback=auto retrieval=<retrieval>`), the pane captured twice a second. With the
default retrieval on a machine without internet, each unreachable source should be one notice line, shown once.

Prints one markdown row per run: the longest stretch in which the pane did not change, how many status-line
updates there were, how often each offline notice was shown, and when the first attempt after the baseline was
measured (from the run's `attempts/*/attempt.json`), against the task's wall-clock budget. `--busy` starts a process
that spins on one core for the whole run (issue 18: with another busy process, a demo still reaches its first
measured attempt within its budget). The frames go to `<out>/frames.txt` and the last screen to `<out>/screen.txt`.

    .venv/bin/python benchmarks/bench_terminal.py --task tabular-digits [--busy] [--retrieval default|offline]
        [--out /tmp/terminal]

Needs tmux. Run it on an otherwise quiet machine (the point of `--busy` is one known competitor, not unknown ones).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = re.compile(r"^(?:\S+: )?(\S[^:\n]{0,40}): offline\b.*$", re.MULTILINE)


def _spin() -> None:
    while True:
        pass


def newest_run(task: str, after: float) -> Path | None:
    """The newest `logs/<task>/<timestamp>/` folder created after `after` (epoch seconds)."""
    runs = [p for p in (ROOT / "logs" / task).glob("*/") if p.stat().st_mtime >= after - 1]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def first_measured(run: Path, started: float) -> tuple[str, float] | None:
    """The first attempt after the baseline with a measured metric, and when its record was written, in seconds from
    `started` (the moment the command was typed, so the set-up check of run_demo.sh counts too)."""
    for path in sorted(run.glob("attempts/a*/attempt.json")):
        attempt = json.loads(path.read_text())
        if attempt.get("kind") != "baseline" and (attempt.get("measurement") or {}).get("value") is not None:
            return attempt["id"], path.stat().st_mtime - started
    return None


def main() -> None:
    """Run the demo in tmux, capture it, print the row."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tabular-digits")
    parser.add_argument("--busy", action="store_true", help="one process spinning on a core throughout")
    parser.add_argument("--retrieval", default="default", choices=("default", "offline"),
                        help="default: arXiv, Semantic Scholar and the local library (offline notices); offline: local")
    parser.add_argument("--out", type=Path, default=Path("/tmp/terminal"))
    parser.add_argument("--timeout-s", type=float, default=1500)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench_terminal.py: tmux is not installed")
    args.out.mkdir(parents=True, exist_ok=True)
    session = f"copilot-bench-{int(time.time())}"
    command = (f"cd {ROOT} && bash run_demo.sh {args.task} local feedback=auto retrieval={args.retrieval}; "
               "echo '[exit '$?']'; sleep 600")
    busy = multiprocessing.Process(target=_spin, daemon=True) if args.busy else None
    if busy is not None:
        busy.start()
    started = time.time()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", command], check=True)
    frames, changes, last_change, longest, previous = [], 0, started, 0.0, ""
    try:
        while time.time() - started < args.timeout_s:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            now = time.time()
            if screen != previous:
                longest = max(longest, now - last_change)
                changes += 1
                last_change, previous = now, screen
                frames.append(f"=== t={now - started:7.1f}s\n{screen}")
            if "[exit " in screen:
                break
            time.sleep(0.5)
    finally:
        history = subprocess.run(["tmux", "capture-pane", "-p", "-S", "-3000", "-t", session], capture_output=True,
                                 text=True).stdout
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
        if busy is not None:
            busy.terminate()
    wall = time.time() - started
    (args.out / "frames.txt").write_text("\n".join(frames))
    (args.out / "screen.txt").write_text(history)
    notices: dict[str, int] = {}
    for match in OFFLINE.finditer(history):
        notices[match.group(1).strip()] = notices.get(match.group(1).strip(), 0) + 1
    run = newest_run(args.task, started)
    first = first_measured(run, started) if run else None
    exit_code = re.search(r"\[exit (\d+)\]", history)
    print("| task | busy | retrieval | wall_s | screen changes | longest unchanged (s) | offline notices | "
          "first measured attempt (s from start) | exit |")
    print("|---|---|---|---|---|---|---|---|---|")
    shown = ", ".join(f"{name} x{count}" for name, count in sorted(notices.items())) or "none"
    reached = f"{first[0]} at {first[1]:.0f}" if first else "none"
    print(f"| {args.task} | {'yes' if args.busy else 'no'} | {args.retrieval} | {wall:.0f} | {changes} | "
          f"{longest:.1f} | {shown} | {reached} | {exit_code.group(1) if exit_code else '-'} |")
    print(f"\nrun: {run}\nframes: {args.out / 'frames.txt'}; whole screen: {args.out / 'screen.txt'}")


if __name__ == "__main__":
    main()
