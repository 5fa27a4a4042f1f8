"""Framework overhead: a full run of the tabular-digits demo with the replay LLM (zero LLM latency), so what is not
experiment time is our own code. Reports time per agent step spent in copilot and total overhead versus the time
of the experiment scripts themselves. Target: under 20 ms per agent step. Prints a markdown table.

It also measures the sandbox's own cost per command (`sandbox_command_ms`): the median wall time of a trivial
command (`true`, and `python -c pass`) through `LocalSandbox` with its default configuration, minus the same command
run bare (`bash -c` with the same environment). Target for the bubblewrap sandbox of issue 17: at most 50 ms more
than the sandbox before it; `--source` measures another checkout's sandbox (a `git worktree` of an older commit) with
the same code, for that comparison.

    .venv/bin/python benchmarks/bench_overhead.py [--runs 3] [--commands 40] [--sandbox-only] [--source DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "fixtures" / "pipeline_script.jsonl"


def one_run(folder: Path) -> dict[str, float]:
    """Run the pipeline in-process (imports excluded) and split its wall time into sandboxed code and the rest."""
    from hydra import compose, initialize_config_dir

    from copilot.app import run
    from copilot.sandbox.local import LocalSandbox

    sandboxed = []
    original = LocalSandbox.run

    def timed_run(self, *args, **kwargs):  # every experiment, evaluation, profiling and agent command
        result = original(self, *args, **kwargs)
        sandboxed.append(result.duration_s)
        return result

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[
            "task=tabular-digits", f"paths.problems={REPO / 'problems'}", f"paths.workspaces={REPO / 'workspaces'}",
            "llm=replay", f"llm.backend.path={SCRIPT}", "feedback=auto", "retrieval=offline",
            "idea.num_hypotheses=1", "execution.max_attempts=2"])
    LocalSandbox.run = timed_run
    try:
        start = time.perf_counter()
        run(cfg, folder)
        total = time.perf_counter() - start
    finally:
        LocalSandbox.run = original
    steps = len((folder / "env_log" / "trace.jsonl").read_text().splitlines())
    return {"total": total, "sandboxed": sum(sandboxed), "commands": len(sandboxed), "steps": steps}


def sandbox_command_ms(commands: int, source: Path) -> None:
    """Median milliseconds per command through the sandbox of `source`, bare, and the difference (a markdown table).
    The first command of a sandbox (which probes bubblewrap and the interpreter once) is not counted."""
    sys.path.insert(0, str(source))
    from copilot.sandbox.local import LocalSandbox

    box = LocalSandbox()
    with tempfile.TemporaryDirectory() as folder:
        box.run("true", Path(folder))
        rows = []
        for command in ("true", "python -c pass"):
            sandboxed, bare = [], []
            for _ in range(commands):  # interleaved, so a busy moment of the machine falls on both alike
                start = time.perf_counter()
                result = box.run(command, Path(folder))
                sandboxed.append(time.perf_counter() - start)
                assert result.ok, result
                start = time.perf_counter()
                subprocess.run(["/bin/bash", "-c", command], cwd=folder, env=box.environment(), check=True)
                bare.append(time.perf_counter() - start)
            inside, outside = 1000 * statistics.median(sandboxed), 1000 * statistics.median(bare)
            rows.append(f"| `{command}` | {commands} | {inside:.1f} | {outside:.1f} | {inside - outside:.1f} |")
    print(f"\nsandbox of {source}: {box.describe()}\n")
    print("| command | runs | sandboxed ms (median) | bare ms (median) | sandbox's cost ms |\n|---|---|---|---|---|")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=40, help="commands per kind for the sandbox's own cost")
    parser.add_argument("--sandbox-only", action="store_true", help="measure only the sandbox's cost per command")
    parser.add_argument("--source", type=Path, default=REPO, help="the checkout whose sandbox to measure")
    args = parser.parse_args()
    if args.sandbox_only:
        sandbox_command_ms(args.commands, args.source.resolve())
        return
    sys.path.insert(0, str(REPO))
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(one_run(Path(tmp) / "run"))
    print("| run | wall s | sandboxed commands | experiment code s | copilot s | copilot share |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(results, 1):
        ours = r["total"] - r["sandboxed"]
        print(f"| {i} | {r['total']:.2f} | {r['commands']:.0f} | {r['sandboxed']:.2f} | {ours:.2f} | "
              f"{100 * ours / r['total']:.0f}% |")
    ours = statistics.median(r["total"] - r["sandboxed"] for r in results)
    print(f"\ncopilot's own time (median {ours:.2f} s) covers workspace and clean copies, paper parsing, BM25, "
          "snapshots, report and plot; the per-step cost of the agent loop is measured alone below.")
    agent_loop_ms()
    sandbox_command_ms(args.commands, args.source.resolve())


def agent_loop_ms(steps: int = 200) -> None:
    """Time of one agent step in our code: a scripted LLM and a cheap tool (list_files), no subprocess."""
    sys.path.insert(0, str(REPO))
    from copilot.experiment.agent import AgentConfig, ExperimentAgent
    from copilot.experiment.tools import ToolBox
    from copilot.experiment.workspace import Workspace
    from copilot.llm.client import LLM
    from copilot.rundir import JsonlWriter
    from tests.conftest import ScriptedBackend

    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.create(REPO / "workspaces" / "tabular-digits", Path(tmp) / "run" / "workspace",
                                     ["evaluate.py"], Path(tmp) / "run" / "traces")
        # alternating folders: an identical look twice in a row would be answered without running the tool
        script = [{"tool": "list_files", "arguments": {"path": "." if i % 2 else "data"}} for i in range(steps - 1)] + [
            {"tool": "final_answer", "arguments": {"summary": "done"}}]
        llm = LLM(ScriptedBackend(script), call_log=JsonlWriter(Path(tmp) / "full_log.jsonl"))
        box = ToolBox(workspace, sandbox=None, llm=llm)
        agent = ExperimentAgent(llm, box, AgentConfig(max_steps=steps + 1, context_tokens=10**9),
                                trace=JsonlWriter(Path(tmp) / "trace.jsonl"))
        start = time.perf_counter()
        agent.run("benchmark")
        per_step = 1000 * (time.perf_counter() - start) / steps
    print(f"\n| agent loop steps | ms per step (LLM call logging, tool dispatch, workspace step diff, trace) |\n"
          f"|---|---|\n| {steps} | {per_step:.1f} |")


if __name__ == "__main__":
    main()
