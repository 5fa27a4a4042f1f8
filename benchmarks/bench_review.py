"""Stage 1's review run again on finished runs' hypotheses, with the embedded model: the same hypotheses, the recorded
scores beside the current review's.

    .venv/bin/python benchmarks/bench_review.py logs/<task>/<timestamp> [more run directories ...]

Each run directory needs `run.json` (its task and problems folder) and `idea/hypotheses.json`. The hypotheses are
reviewed by `IdeaAgent.review` as stage 1 does now (llm=local, seed 0; clarity is measured, so only the four reviewed
criteria are compared). Prints one row per hypothesis (recorded and new validity/novelty/feasibility/significance) and
one summary row per run: how many hypotheses got the same score on all four reviewed criteria ("flat") before and
now, and how many distinct totals. Quality numbers: the seconds column is the only one that depends on load.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from copilot.constraints.model import Constraint
from copilot.idea.chain import IdeaAgent, TaskFacts
from copilot.idea.models import REVIEWED, RankedHypothesis
from copilot.llm import build_llm

ROOT = Path(__file__).resolve().parent.parent


def _facts(run: Path) -> TaskFacts:
    config = json.loads((run / "run.json").read_text())["config"]
    task_file = Path(config["paths"]["problems"], config["task"], "task.yaml")
    if not task_file.is_absolute():
        task_file = ROOT / task_file
    spec = yaml.safe_load(task_file.read_text()) if task_file.is_file() else {}
    metric = spec.get("metric", {"name": "score", "direction": "maximize"})
    constraints_file = run / "idea" / "constraints.json"
    constraints = ([Constraint.model_validate(c) for c in json.loads(constraints_file.read_text())["constraints"]]
                   if constraints_file.is_file() else [])
    return TaskFacts(workspace="", metric=metric["name"], direction=metric["direction"],
                     run=spec.get("run", "python train.py"), read_only=spec.get("read_only", []),
                     constraints=constraints)


def main(paths: list[str]) -> None:
    """Review the hypotheses of each run in `paths` again and print the tables."""
    cfg = OmegaConf.load(ROOT / "conf" / "llm" / "local.yaml")
    cfg.backend.seed = 0
    llm = build_llm(cfg)
    summaries, details = [], []
    for path in paths:
        run = Path(path)
        name = run.parent.name if run.name[:1].isdigit() else run.name
        ranked = [RankedHypothesis.model_validate(r) for r in json.loads((run / "idea/hypotheses.json").read_text())]
        ranked.sort(key=lambda r: r.review_number or 0)
        start = time.monotonic()
        scores = IdeaAgent(llm, _facts(run)).review([{"hypothesis": r.hypothesis, "novelty": r.novelty}
                                                    for r in ranked])
        seconds = time.monotonic() - start
        before = [[getattr(r.scores, c).score for c in REVIEWED] for r in ranked]
        now = [[getattr(s, c).score for c in REVIEWED] for s in scores]
        for r, old, new in zip(ranked, before, now, strict=True):
            details.append(f"| {name} | {r.hypothesis.title[:70]} | {'/'.join(map(str, old))} | "
                           f"{'/'.join(map(str, new))} |")
        summaries.append(f"| {name} | {len(ranked)} | {sum(len(set(v)) == 1 for v in before)} | "
                         f"{sum(len(set(v)) == 1 for v in now)} | {len({sum(v) for v in before})} | "
                         f"{len({sum(v) for v in now})} | {seconds:.0f} |")
    print("| run | hypotheses | flat before | flat now | distinct totals before | distinct totals now | seconds |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(summaries))
    print()
    print("| run | hypothesis | before (validity/novelty/feasibility/significance) | now |")
    print("|---|---|---|---|")
    print("\n".join(details))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
