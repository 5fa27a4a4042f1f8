"""Coaching table: for each rule of the coach (copilot/coach/rules/), over a set of finished runs, how often it fired,
how many attempts it touched, and how many of those then ran (the evaluation measured them) and improved (measured
better than the attempt they started from, or than the baseline for a repair), and how many improved by way of a fix:
the touched attempt failed and one of its debug attempts (a chain of fixes) then measured better than the last
measured attempt before it (a paper part that crashed once and, fixed, beat the baseline counts here). Read from
each run's `coach/firings.jsonl` and `attempts/*/attempt.json`; nothing is re-run. Rules that never fired are listed
too.

    .venv/bin/python benchmarks/bench_coaching.py logs/bench_outcomes/* [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copilot.coach.small import RULES, load_rules  # noqa: E402 - after the sys.path line above
from copilot.execution.attempt import Attempt  # noqa: E402
from copilot.task import MetricSpec  # noqa: E402


def attempts_of(run: Path) -> dict[str, Attempt]:
    """The run's attempts by id."""
    attempts = [Attempt.model_validate_json(p.read_text(encoding="utf-8"))
                for p in sorted(run.glob("attempts/*/attempt.json"))]
    return {a.id: a for a in attempts}


def metric_of(run: Path) -> MetricSpec | None:
    """The run's metric, from its summary."""
    summary = run / "summary.json"
    if not summary.is_file():
        return None
    data = json.loads(summary.read_text(encoding="utf-8"))
    return MetricSpec(name=data["metric"], direction=data["direction"])


def improved(attempt: Attempt, attempts: dict[str, Attempt], metric: MetricSpec) -> bool:
    """Measured better than the attempt it started from (a repair: than nothing, once it ran)."""
    if attempt.metric is None:
        return False
    parent = attempts.get(attempt.parent or "")
    if parent is None or parent.metric is None:
        return attempt.kind == "repair"
    return metric.better(attempt.metric, parent.metric)


def measured_ancestor(attempt: Attempt, attempts: dict[str, Attempt]) -> Attempt | None:
    """The nearest attempt up the parent chain that has a metric."""
    parent = attempts.get(attempt.parent or "")
    while parent is not None and parent.metric is None:
        parent = attempts.get(parent.parent or "")
    return parent


def improved_by_a_fix(attempt: Attempt, attempts: dict[str, Attempt], metric: MetricSpec) -> bool:
    """A failed attempt whose chain of debug attempts reached a metric better than the last measured one before it."""
    if attempt.metric is not None:
        return False
    reference = measured_ancestor(attempt, attempts)
    fixes = [attempt.id]
    while fixes:
        current = fixes.pop()
        for child in attempts.values():
            if child.parent != current or child.kind != "debug":
                continue
            if child.metric is None:
                fixes.append(child.id)
            elif reference is None or reference.metric is None or metric.better(child.metric, reference.metric):
                return True
    return False


def derived_titles(run: Path) -> dict[str, set[str]]:
    """The candidates a derive rule queued, by the candidate they were derived from (the run's journal)."""
    journal = run / "execution" / "journal.jsonl"
    titles: dict[str, set[str]] = defaultdict(set)
    if journal.is_file():
        for line in journal.read_text(encoding="utf-8").splitlines():
            event = json.loads(line) if line.strip() else {}
            if event.get("event") == "queued":
                titles[event.get("of", "")].update(c["title"] for c in event.get("candidates", []))
    return titles


def tally(runs: list[Path]) -> dict[str, dict[str, int]]:
    """Per rule: fired, touched (attempts), ran, improved, improved by a fix."""
    table: dict[str, dict[str, int]] = defaultdict(
        lambda: {"fired": 0, "touched": 0, "ran": 0, "improved": 0, "fixed_improved": 0})
    for rule in load_rules([RULES], []):
        table[rule.name]  # every built-in rule gets a row, fired or not
    for run in runs:
        firings = run / "coach" / "firings.jsonl"
        metric = metric_of(run)
        if not firings.is_file() or metric is None:
            continue
        attempts = attempts_of(run)
        queued = derived_titles(run)
        touched: dict[str, set[str]] = defaultdict(set)
        for line in firings.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                table[record["rule"]]["fired"] += 1
                if record.get("attempt"):
                    touched[record["rule"]].add(record["attempt"])
                if record.get("event") == "derive":  # every attempt that tested one of the derived candidates
                    titles = queued.get(record.get("detail", "").partition(" candidates of ")[2], set())
                    touched[record["rule"]].update(a.id for a in attempts.values() if a.hypothesis in titles)
        for rule, ids in touched.items():
            for attempt_id in ids:
                attempt = attempts.get(attempt_id)
                if attempt is None:
                    continue
                table[rule]["touched"] += 1
                table[rule]["ran"] += attempt.metric is not None
                table[rule]["improved"] += improved(attempt, attempts, metric)
                table[rule]["fixed_improved"] += improved_by_a_fix(attempt, attempts, metric)
    return dict(table)


def line_fixes(runs: list[Path]) -> dict[str, int]:
    """The whole-file agent's line fixes (copilot/experiment/line_fix.py) in the runs' traces: replies asked for, of
    which placed in the file (a changed line that parses), of which the script then ran, or failed with another error
    than the one the fix was asked for."""
    counts = {"asked": 0, "placed": 0, "ran": 0, "other_error": 0}
    for run in runs:
        trace = run / "env_log" / "trace.jsonl"
        if not trace.is_file():
            continue
        records = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines() if line.strip()]
        last_error = ""
        for i, record in enumerate(records):
            action, text = record.get("action") or {}, (record.get("observation") or {}).get("text") or ""
            if action.get("tool") == "execute" and not (record.get("observation") or {}).get("ok"):
                last_error = text.strip().splitlines()[-1] if text.strip() else ""
            if text.startswith("line fix of lines"):
                counts["asked"] += 1
            elif action.get("line_fix"):
                counts["asked"] += 1
                counts["placed"] += 1
                run_after = next((r for r in records[i + 1:] if (r.get("action") or {}).get("tool") == "execute"), None)
                if run_after is not None:
                    observation = run_after.get("observation") or {}
                    after = (observation.get("text") or "").strip().splitlines()
                    counts["ran"] += bool(observation.get("ok"))
                    counts["other_error"] += not observation.get("ok") and bool(after) and after[-1] != last_error
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories")
    args = parser.parse_args()
    runs = [r for r in args.runs if (r / "summary.json").is_file()]
    table = tally(runs)
    print(f"{len(runs)} finished runs\n")
    print("| rule | fired | attempts touched | touched ran | touched improved | improved after a fix |")
    print("|---|---|---|---|---|---|")
    for rule, row in sorted(table.items(), key=lambda item: (-item[1]["fired"], item[0])):
        print(f"| {rule} | {row['fired']} | {row['touched']} | {row['ran']} | {row['improved']} "
              f"| {row['fixed_improved']} |")
    fixes = line_fixes(runs)
    print("\nLine fixes of the whole-file agent (copilot/experiment/line_fix.py):\n")
    print("| asked | placed | then ran | then failed on another error |")
    print("|---|---|---|---|")
    print(f"| {fixes['asked']} | {fixes['placed']} | {fixes['ran']} | {fixes['other_error']} |")


if __name__ == "__main__":
    main()
