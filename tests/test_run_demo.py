"""run_demo.sh's argument checks: each bad argument is refused with exit 2 and the list of valid names, before any
set-up runs. Every valid task must get past the task check: the first listed one used to be refused as unknown at
random (`tasks | grep -q` under `set -o pipefail`: grep leaving at the match ended the listing with SIGPIPE)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = sorted(p.name for p in (REPO / "problems").iterdir() if (p / "task.yaml").is_file() or p.is_file())


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "run_demo.sh"), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_without_arguments_it_prints_the_usage_with_the_valid_names():
    result = run_demo()
    assert result.returncode == 2
    assert "usage: bash run_demo.sh <task> <llm> [hydra overrides...]" in result.stderr
    assert f"tasks: {' '.join(TASKS)}" in result.stderr and "local" in result.stderr


def test_an_unknown_task_is_refused_with_the_list():
    result = run_demo("no-such-task", "local")
    assert result.returncode == 2
    assert result.stderr.strip() == f"run_demo.sh: unknown task 'no-such-task'; available: {' '.join(TASKS)}"


def test_every_demo_task_passes_the_task_check_every_time():
    assert {"tabular-digits", "text-embeddings", "forecast-sales"} <= set(TASKS)
    for _ in range(5):  # the refusal was a race; repeat it
        for task in TASKS:
            result = run_demo(task, "no-such-llm")  # stops at the llm check, before any set-up
            assert result.returncode == 2, result.stderr
            assert result.stderr.startswith("run_demo.sh: unknown llm 'no-such-llm'; available: claude"), (
                task, result.stderr)
