"""Whole-file replies versus search/replace edits on the embedded model, for experiment scripts of about 50, 150 and
500 lines: seconds and tokens per successful edit, each strategy run as copilot runs it (the `local` preset, the
default coach, a real sandbox).

Each episode copies the tabular-digits workspace (without its held-out labels), puts one of the starter scripts of
`benchmarks/data/edit_formats/` in as `train.py` (written for this benchmark: a decision-tree digits experiment with
the data checks, shape features, cross-validation, reports and plots such scripts carry; every line runs), and asks
for one small change: the decision tree replaced by a random forest of 200 trees. An edit is **successful** when
the episode ends with a run of the edited script that exited 0 (the agent's own trial run), and the final `train.py`
(1) calls `RandomForestClassifier` with `n_estimators=200` and calls `DecisionTreeClassifier` nowhere, (2) made
that run write `predictions.csv` with one row per test row, and (3) still holds all but at most 10 of the starter's
non-blank lines (the rest of the script kept).

    .venv/bin/python benchmarks/bench_edit_formats.py --n 3
    .venv/bin/python benchmarks/bench_edit_formats.py --sizes 150 --strategies edit edit-numbered --n 5

Strategies: `rewrite` (copilot/experiment/rewrite.py), `edit` (copilot/experiment/edit.py as configured) and
`edit-numbered` (the same with the file's lines numbered, `line_numbers=True`). Every episode starts a fresh model
instance with its own seed, so the KV cache holds nothing of an earlier episode. Timings depend on the machine's
load: publish only quiet-machine runs.
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from copilot.coach.small import RuleCoach  # noqa: E402
from copilot.experiment.agent import AgentConfig, render_prompt  # noqa: E402
from copilot.experiment.edit import EditAgent  # noqa: E402
from copilot.experiment.rewrite import RewriteAgent  # noqa: E402
from copilot.experiment.tools import ToolBox  # noqa: E402
from copilot.experiment.workspace import Workspace  # noqa: E402
from copilot.llm import build_llm  # noqa: E402
from copilot.rundir import JsonlWriter  # noqa: E402
from copilot.sandbox.local import LocalSandbox  # noqa: E402

STARTERS = ROOT / "benchmarks" / "data" / "edit_formats"
TASK_WORKSPACE = ROOT / "workspaces" / "tabular-digits"
READ_ONLY = ["evaluate.py", "data/train.csv", "data/test.csv"]
HIDDEN = ["data/test_labels.csv"]
INSTRUCTION = ("Replace the decision tree with a random forest of 200 trees (sklearn.ensemble.RandomForestClassifier "
               "with n_estimators=200 and the same random_state), keeping everything else as it is.")
MAX_LOST_LINES = 10
STRATEGIES = ("rewrite", "edit", "edit-numbered")


def task_message(workspace: Workspace, episode: int) -> str:
    """The task block copilot's loop renders (copilot/experiment/prompts/task.j2), for the tabular-digits task."""
    plan = SimpleNamespace(hypothesis_title="A random forest beats the depth-4 tree on raw pixels",
                           steps=["Replace the decision tree by a random forest of 200 trees",
                                  "Keep the data loading, features and outputs as they are"])
    return f"<!-- benchmark episode {episode} -->\n" + render_prompt(
        "task.j2", title="Handwritten digit classification from 8x8 pixel features", plan=plan, plan_method="",
        paper_method="", metric="accuracy", direction="maximize", evaluate="python evaluate.py", run="python train.py",
        timeout=120, workspace=workspace.list_files(), read_only=READ_ONLY, hidden=HIDDEN, resources=[], findings="",
        history="", testing=None, instruction=INSTRUCTION, constraints=[])


def make_workspace(folder: Path, starter: Path) -> Workspace:
    source = folder / "source"
    shutil.copytree(TASK_WORKSPACE, source)
    shutil.copy(starter, source / "train.py")
    return Workspace.create(source, folder / "workspace", READ_ONLY, folder / "traces", hidden=HIDDEN)


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """The calls of `name` (as `name(...)` or `module.name(...)`) in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called == name:
                found.append(node)
    return found


def judge(workspace: Workspace, starter: str, status: str) -> dict[str, Any]:
    """Whether the episode's edit is successful (see the module docstring), and each criterion."""
    final = (workspace.root / "train.py").read_text(encoding="utf-8")
    try:
        tree = ast.parse(final)
        forest = any(any(k.arg == "n_estimators" and isinstance(k.value, ast.Constant) and k.value.value == 200
                         for k in call.keywords) for call in calls(tree, "RandomForestClassifier"))
        changed = forest and not calls(tree, "DecisionTreeClassifier")
    except SyntaxError:
        changed = False
    predictions = workspace.root / "predictions.csv"
    test_rows = sum(1 for _ in (workspace.root / "data" / "test.csv").open()) - 1
    wrote = predictions.is_file() and sum(1 for _ in predictions.open()) - 1 == test_rows
    kept = Counter(line.strip() for line in final.splitlines() if line.strip())
    lost = sum((Counter(line.strip() for line in starter.splitlines() if line.strip()) - kept).values())
    ran = status == "final"
    return {"ran": ran, "changed": changed, "wrote_predictions": wrote, "lost_lines": lost,
            "success": ran and changed and wrote and lost <= MAX_LOST_LINES, "lines_after": len(final.splitlines())}


def episode(strategy: str, size: int, seed: int, index: int, keep: Path | None = None) -> dict[str, Any]:
    """One episode of `strategy` on the starter of about `size` lines, with a fresh model seeded `seed`; with
    `keep`, its model calls, trace and final script are kept in `keep/<strategy>-<lines>-<seed>/`."""
    starter_path = STARTERS / f"train_{size}.py"
    starter = starter_path.read_text(encoding="utf-8")
    conf = OmegaConf.create({"seed": seed, "llm": OmegaConf.load(ROOT / "conf" / "llm" / "local.yaml")})
    kept = keep / f"{strategy}-{size}-{seed}" if keep else None
    if kept:
        kept.mkdir(parents=True, exist_ok=True)
    llm = build_llm(conf.llm, call_log=JsonlWriter(kept / "full_log.jsonl") if kept else None)
    llm.count_tokens("load")  # the model loads here, outside the timed episode
    with tempfile.TemporaryDirectory(prefix="bench-edit-") as tmp:
        workspace = make_workspace(Path(tmp), starter_path)
        coach = RuleCoach()
        box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=120, coach=coach)
        config = AgentConfig(max_steps=12, context_tokens=llm.context_tokens or 8192)
        trace = JsonlWriter((kept or Path(tmp)) / "trace.jsonl")
        common = {"script": "train.py", "run_command": "python train.py", "trace": trace,
                  "coach": coach, "earlier_versions": [starter]}
        agent: Any
        if strategy == "rewrite":
            agent = RewriteAgent(llm, box, config, **common)
        else:
            agent = EditAgent(llm, box, config, line_numbers=strategy == "edit-numbered", **common)
        message = task_message(workspace, index)
        started = time.perf_counter()
        result = agent.run(message, INSTRUCTION)
        seconds = time.perf_counter() - started
        verdict = judge(workspace, starter, result.status)
        if kept:
            shutil.copy(workspace.root / "train.py", kept / "train.py")
    usage = llm.total_usage
    row = {"strategy": strategy, "lines": len(starter.splitlines()), "seed": seed, "status": result.status,
           "replies": llm.calls, "seconds": round(seconds, 1),
           "prompt_tokens": usage.prompt_tokens, "cached_prompt_tokens": usage.cached_prompt_tokens,
           "completion_tokens": usage.completion_tokens, **verdict}
    del llm, agent, box
    gc.collect()
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the episodes, one line per strategy and size."""
    out = ["| strategy | lines | successful edits | median s / episode | s per successful edit | median replies | "
           "median completion tokens | median prompt tokens | cached share of prompt |",
           "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["lines"], STRATEGIES.index(r["strategy"])) for r in rows})
    for lines, order in keys:
        strategy = STRATEGIES[order]
        cell = [r for r in rows if r["lines"] == lines and r["strategy"] == strategy]
        wins = sum(r["success"] for r in cell)
        total_s = sum(r["seconds"] for r in cell)
        per_win = f"{total_s / wins:.0f}" if wins else "none succeeded"
        prompt = sum(r["prompt_tokens"] for r in cell)
        cached = sum(r["cached_prompt_tokens"] for r in cell)
        out.append(f"| {strategy} | {lines} | {wins}/{len(cell)} | {statistics.median(r['seconds'] for r in cell):.0f}"
                   f" | {per_win} | {statistics.median(r['replies'] for r in cell):g} | "
                   f"{statistics.median(r['completion_tokens'] for r in cell):.0f} | "
                   f"{statistics.median(r['prompt_tokens'] for r in cell):.0f} | "
                   f"{cached / prompt if prompt else 0:.2f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150, 500], choices=[50, 150, 500])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--n", type=int, default=3, help="episodes per strategy and size (seeds 0..n-1)")
    parser.add_argument("--out", type=Path, help="append one JSON line per episode here")
    parser.add_argument("--keep", type=Path, help="keep each episode's model calls, trace and final script here")
    parser.add_argument("--from-jsonl", type=Path, help="print the table of episodes recorded earlier with --out")
    args = parser.parse_args()
    if args.from_jsonl:
        print(table([json.loads(line) for line in args.from_jsonl.open() if line.strip()]))
        return
    rows = []
    for size in args.sizes:
        for strategy in args.strategies:
            for seed in range(args.n):
                row = episode(strategy, size, seed, len(rows), args.keep)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if args.out:
                    with args.out.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row) + "\n")
    print(f"embedded model, `llm=local` preset; instruction: {INSTRUCTION}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
