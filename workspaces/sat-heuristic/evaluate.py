"""
Copyright (c) Meta Platforms, Inc. and affiliates.

MLGym's 3SATTime evaluation (data/3SATTime/evaluate.py), adapted for the copilot suite: it solves the held-out
formulas of data/test.pkl (hidden from the experiment) instead of data/dataset.pkl, times them in CPU seconds of this
process (wall-clock time swings with the load of a shared machine), stops with a message on a wrong answer instead
of returning 1e8, and writes results.json = {"metric": "time_s", "value": <CPU s>, ...} and "METRIC time_s=<value>".
"""

import json
import pickle
import sys
import time
from pathlib import Path

process_time = time.process_time  # taken before the experiment's modules are imported
wall_time = time.perf_counter

from heuristic import heuristic_fn  # noqa: E402
from solver import DPLL  # noqa: E402


def evaluate_dpll(test_data_path: str) -> tuple[float, int]:
    sat_data = pickle.load(open(test_data_path, "rb"))

    start, wall_start = process_time(), wall_time()
    correct = 0
    incorrect = 0
    num_decisions = 0
    for ind, num_vars, num_clauses, formula, is_sat, _ in sat_data[3:]:
        alpha = num_clauses / num_vars
        dpll_solver = DPLL([list(clause) for clause in formula], heuristic_fn)
        if not (dpll_solver.solve() ^ is_sat):
            correct += 1
        else:
            sys.exit(f"evaluate.py: held-out formula {ind} ({num_vars} variables, ratio {alpha:.2f}): the solver "
                     f"answered {'UNSAT' if is_sat else 'SAT'}, which is wrong")
        sample_decisions = dpll_solver.num_decisions
        num_decisions += sample_decisions
    cpu = round(process_time() - start, 3)
    metrics = {
        "metric": "time_s",
        "value": cpu,
        "wall_s": round(wall_time() - wall_start, 3),
        "Correct": correct,
        "Incorrect": incorrect,
        "Decisions": num_decisions,
    }
    Path("results.json").write_text(json.dumps(metrics) + "\n")
    print(json.dumps(metrics))
    print(f"METRIC time_s={cpu}")
    return cpu, num_decisions


evaluate_dpll("data/test.pkl")
