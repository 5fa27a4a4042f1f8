"""Make the 3-SAT instances of the suite task `sat-heuristic` (MLGym's 3SATTime, whose data file is not published).

    /tmp/suite-venv/bin/python suites/export/sat_heuristic.py
Uniform random 3-SAT (each clause: three distinct variables, each negated with probability 1/2) near the
satisfiability threshold, as in SATLIB's uf/uuf sets; each formula is labelled satisfiable or not by pycosat (PicoSAT).
The records have the layout MLGym's evaluate.py reads: (index, num_vars, num_clauses, formula, is_sat, seed); like
MLGym's file, each pickle starts with three warm-up records that the evaluation skips.
Writes workspaces/sat-heuristic/data/dev.pkl (visible to the experiment) and test.pkl (hidden, for the evaluation).
"""

import pickle
import random
from pathlib import Path

import pycosat

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "workspaces" / "sat-heuristic" / "data"
SIZES = (40, 45, 50)  # variables per formula
RATIO = 4.26  # clauses per variable at the satisfiability threshold


def formula(num_vars: int, num_clauses: int, rng: random.Random) -> list[list[int]]:
    clauses = []
    for _ in range(num_clauses):
        variables = rng.sample(range(1, num_vars + 1), 3)
        clauses.append([v if rng.random() < 0.5 else -v for v in variables])
    return clauses


def records(count: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    out = []
    for index in range(count + 3):
        num_vars = SIZES[index % len(SIZES)]
        num_clauses = round(RATIO * num_vars)
        clauses = formula(num_vars, num_clauses, rng)
        is_sat = pycosat.solve(clauses) != "UNSAT"
        out.append((index, num_vars, num_clauses, clauses, is_sat, seed))
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, count, seed in (("dev", 20, 1), ("test", 40, 2)):
        data = records(count, seed)
        (OUT / f"{name}.pkl").write_bytes(pickle.dumps(data, protocol=4))
        sat = sum(r[4] for r in data[3:])
        print(f"{name}: {count} formulas ({sat} satisfiable) -> {OUT / name}.pkl")


if __name__ == "__main__":
    main()
