"""Reference heuristic for sat-heuristic (not shown to the agent): the two-sided Jeroslow-Wang rule, a textbook DPLL
branching heuristic (Jeroslow & Wang 1990; Hooker & Vinay 1995): pick the variable whose literals occur most in
short unresolved clauses (weight 2^-|clause|), and try first the polarity with the larger weight."""

from collections import defaultdict


def heuristic_fn(clauses, assignments, conflict_count, assignment_history, level):
    weights = defaultdict(float)
    for clause in clauses:
        free = [lit for lit in clause if abs(lit) not in assignments]
        for lit in free:
            weights[lit] += 2.0 ** -len(free)
    if not weights:
        return None, True
    variable = max({abs(lit) for lit in weights}, key=lambda v: (weights[v] + weights[-v], -v))
    return variable, weights[variable] >= weights[-variable]
