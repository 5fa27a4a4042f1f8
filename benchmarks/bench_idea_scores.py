"""How well stage 1's review scores discriminate, read from finished runs' `idea/hypotheses.json`.

    .venv/bin/python benchmarks/bench_idea_scores.py logs/<task>/<timestamp> [more run directories ...]

Prints two markdown tables: per run, the number of hypotheses, how many got the same score on all five criteria
("flat", the failure seen with one request per hypothesis: 5/5/5/5/5, 3/3/3/3/3, 1/1/1/1/1) and on the four the
model reviews (clarity is measured), how many distinct
totals there are, the range of the totals and the spread (population standard deviation) of all criterion scores;
and per hypothesis its five scores and total, with the rejected hypotheses (`idea/rejected.json`) and their reasons.
Quality numbers, not timings: they do not depend on the machine's load.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

CRITERIA = ("clarity", "validity", "novelty", "feasibility", "significance")


def _scores(ranked: dict) -> list[int]:
    return [ranked["scores"][c]["score"] for c in CRITERIA]


def summarise(run: Path) -> tuple[str, list[str]]:
    """One summary row and the per-hypothesis rows of a run directory."""
    ranked = json.loads((run / "idea" / "hypotheses.json").read_text())
    rejected_path = run / "idea" / "rejected.json"
    rejected = json.loads(rejected_path.read_text()) if rejected_path.is_file() else []
    task = run.parent.name if run.name[:1].isdigit() else run.name  # logs/<task>/<timestamp> or a named folder
    vectors = [_scores(r) for r in ranked]
    totals = [r["total"] for r in ranked]
    flat = sum(len(set(v)) == 1 for v in vectors)
    reviewed_flat = sum(len(set(v[1:])) == 1 for v in vectors)
    values = [s for v in vectors for s in v]
    spread = statistics.pstdev(values) if values else 0.0
    summary = (f"| {task} | {len(ranked)} | {flat} | {reviewed_flat} | {len(set(totals))} | "
               f"{(max(totals) - min(totals)) if totals else 0:.1f} | {spread:.2f} | {len(rejected)} |")
    rows = [f"| {task} | {i} | {r['hypothesis']['title'][:90]} | {'/'.join(map(str, v))} | {r['total']:.1f} |"
            for i, (r, v) in enumerate(zip(ranked, vectors, strict=True))]
    rows += [f"| {task} | rejected | {r['hypothesis']['title'][:90]} | {'; '.join(r['reasons'])[:160]} | - |"
             for r in rejected]
    return summary, rows


def main(paths: list[str]) -> None:
    """Print the two tables for the run directories in `paths`."""
    summaries, details = [], []
    for path in paths:
        summary, rows = summarise(Path(path))
        summaries.append(summary)
        details += rows
    print("| task | hypotheses | flat (all 5 criteria equal) | flat (the 4 reviewed equal) | distinct totals | "
          "total range | score std | rejected |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(summaries))
    print()
    print("| task | rank | hypothesis | clarity/validity/novelty/feasibility/significance | total |")
    print("|---|---|---|---|---|")
    print("\n".join(details))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
