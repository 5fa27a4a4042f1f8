"""Search policies (which attempt next), the rules every policy follows (rollback, repair first, dead ends, parts),
and the hypothesis queue they read."""

from __future__ import annotations

import pytest

from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.journal import Candidate, JournalState, Queued
from copilot.execution.policies.base import SearchState, best_attempt
from copilot.execution.policies.linear import LinearSearch
from copilot.execution.policies.tree import TreeSearch
from copilot.execution.queue import HypothesisQueue
from copilot.idea.models import Hypothesis, NoveltyJudgement, RankedHypothesis, Score, Scores
from copilot.records import ChosenHypothesis
from copilot.task import MetricSpec

ACC = MetricSpec(name="accuracy", direction="maximize")
RMSE = MetricSpec(name="rmse", direction="minimize")


def attempt(id_: str, kind: str, status: str, value: float | None = None, parent: str | None = None,
            error: str | None = None, hypothesis: str = "") -> Attempt:
    measurement = Measurement(metric="m", value=value, source="results.json") if value is not None else None
    return Attempt(id=id_, kind=kind, status=status, measurement=measurement, parent=parent, error=error,
                   hypothesis=hypothesis)


def traceback(line: int, last: str) -> str:
    return (f'experiment ended: finished, exit code 1\nTraceback (most recent call last):\n  File "/run/train.py", '
            f"line {line}, in <module>\n    import prophet\n{last}")


def step(policy, history, metric=ACC, queue=None, journal=None):
    chosen = policy.next_step(SearchState(history, metric, queue or HypothesisQueue(), journal or JournalState()))
    return chosen.kind, chosen.parent


def ranked(*titles: str) -> list[RankedHypothesis]:
    score = Score(score=3, justification="j.")
    return [RankedHypothesis(hypothesis=Hypothesis(title=t, problem="p.", rationale="r.", method=f"Do {t}.",
                                                   supporting_result="s.", refuting_result="f."),
                             lexical_overlap=0.0, novelty=NoveltyJudgement(novel=True, closest_work_ids=[],
                                                                           explanation="e."),
                             scores=Scores(clarity=score, validity=score, novelty=score, feasibility=score,
                                           significance=score), total=3.0) for t in titles]


def test_best_attempt_respects_direction_and_ignores_failures():
    attempts = [attempt("a000", "baseline", "ok", 0.5), attempt("a001", "draft", "ok", 0.7),
                attempt("a002", "improve", "failed"), attempt("a003", "improve", "ok", 0.6)]
    assert best_attempt(attempts, ACC).id == "a001"
    assert best_attempt(attempts, RMSE).id == "a000"
    assert best_attempt([attempt("a000", "baseline", "failed")], ACC) is None


def test_linear_debugs_a_failure_a_bounded_number_of_times_then_improves_the_latest_working():
    search = LinearSearch(max_debug_rounds=2)
    history = [attempt("a000", "baseline", "ok", 0.5), attempt("a001", "draft", "ok", 0.6, "a000"),
               attempt("a002", "improve", "failed", parent="a001")]
    assert step(search, history) == ("debug", "a002")
    history.append(attempt("a003", "debug", "failed", parent="a002"))
    assert step(search, history) == ("debug", "a003")
    history.append(attempt("a004", "debug", "failed", parent="a003"))
    assert step(search, history) == ("improve", "a001")


def test_linear_improves_the_best_working_attempt_and_the_latest_among_equals():
    search = LinearSearch()
    history = [attempt("a000", "baseline", "ok", 66.4), attempt("a001", "draft", "ok", 97.0, "a000")]
    assert step(search, history, RMSE) == ("improve", "a000"), "a001 made the error worse"
    history.append(attempt("a002", "improve", "ok", 66.4, "a000"))
    assert step(search, history, RMSE) == ("improve", "a002"), "equal to the baseline: the chain goes on"
    history.append(attempt("a003", "improve", "ok", 18.2, "a002"))
    assert step(search, history, RMSE) == ("improve", "a003")


def test_a_fix_that_fails_with_the_error_it_was_fixing_ends_the_debugging():
    missing = "ModuleNotFoundError: No module named 'prophet'"
    history = [attempt("a000", "baseline", "ok", 66.4),
               attempt("a001", "draft", "failed", parent="a000", error=traceback(7, missing)),
               attempt("a002", "debug", "failed", parent="a001", error=traceback(2, missing))]
    state = SearchState(history, RMSE)
    chosen = LinearSearch(max_debug_rounds=3).next_step(state)
    assert (chosen.kind, chosen.parent) == ("improve", "a000")
    assert chosen.reason.startswith("a002 failed with the error it was fixing (ModuleNotFoundError")
    tree = [*history[:2], attempt("a002", "draft", "ok", 60.0, "a000"),
            attempt("a003", "debug", "failed", parent="a001", error=traceback(2, missing))]
    assert step(TreeSearch(num_drafts=2, max_debug_depth=3), tree, RMSE) == ("improve", "a002")
    # A fix that changed the failure is worth another one.
    history[2] = attempt("a002", "debug", "failed", parent="a001", error=traceback(9, "SyntaxError: invalid syntax"))
    assert step(LinearSearch(max_debug_rounds=3), history, RMSE) == ("debug", "a002")


def test_tree_drafts_first_then_debugs_leaves_then_improves_the_best():
    search = TreeSearch(num_drafts=2, max_debug_depth=1)
    history = [attempt("a000", "baseline", "ok", 0.5)]
    assert step(search, history) == ("draft", None)
    history += [attempt("a001", "draft", "ok", 0.7, "a000"), attempt("a002", "draft", "failed", parent="a000")]
    assert step(search, history) == ("debug", "a002")
    history.append(attempt("a003", "debug", "failed", parent="a002"))
    assert step(search, history) == ("improve", "a001"), "a003 reached the debug depth"


@pytest.mark.parametrize("policy", [LinearSearch(), TreeSearch()], ids=["linear", "tree"])
def test_a_starter_that_does_not_run_is_repaired_first_and_then_is_where_the_search_starts(policy):
    crash = "AttributeError: module 'numpy' has no attribute 'float'"
    history = [attempt("a000", "baseline", "failed", error=f"Traceback\n{crash}")]
    first = policy.next_step(SearchState(history, ACC))
    assert (first.kind, first.parent, first.candidate) == ("repair", "a000", None)
    assert "smallest change" in first.reason
    history.append(attempt("a001", "repair", "failed", parent="a000", error="Traceback\nNameError: name 'x'"))
    assert step(policy, history) == ("repair", "a001"), "the next repair builds on the partial fix"
    history.append(attempt("a002", "repair", "ok", 0.4, "a001"))
    kind, parent = step(policy, history)
    assert kind in ("improve", "draft") and parent == "a002", "the repaired code is the new starting point"


def test_repairs_stop_at_their_limit_or_when_a_repair_repeats_the_error():
    crash = "Traceback\nAttributeError: module 'numpy' has no attribute 'float'"
    history = [attempt("a000", "baseline", "failed", error=crash),
               attempt("a001", "repair", "failed", parent="a000", error=crash)]
    assert step(LinearSearch(max_repairs=3), history) == ("draft", None), "from the starter code: nothing runs"
    other = [history[0], attempt("a001", "repair", "failed", parent="a000", error="Traceback\nKeyError: 'y'")]
    assert step(LinearSearch(max_repairs=1), other)[0] != "repair"


def test_a_rollback_asked_after_the_latest_attempt_comes_first():
    history = [attempt("a000", "baseline", "ok", 0.5), attempt("a001", "draft", "ok", 0.9, "a000"),
               attempt("a002", "improve", "failed", parent="a001")]
    assert step(LinearSearch(), history, journal=JournalState(rollback="a000")) == ("improve", "a000")


def test_the_queue_offers_the_plan_then_the_parts_then_the_other_hypotheses_each_until_tested():
    chosen = ChosenHypothesis(**ranked("B")[0].hypothesis.model_dump(), rank=1)
    queue = HypothesisQueue(ranked("A", "B", "C"), chosen)
    base = [attempt("a000", "baseline", "ok", 0.5)]
    assert [c.title for c in queue.untried(base)] == ["B", "A", "C"]
    assert queue.untried(base)[0].source == "plan"
    history = [*base, attempt("a001", "draft", "failed", parent="a000", hypothesis="B")]
    parts = Queued(reason="fell short", of="B", candidates=[Candidate(title="Part 1", source="part")])
    queue.add(parts)
    assert [c.title for c in queue.untried(history)] == ["Part 1", "A", "C"]
    journal = JournalState(queued=[parts])
    chosen_step = LinearSearch().next_step(SearchState(history, ACC, queue, journal))
    assert (chosen_step.kind, chosen_step.parent, chosen_step.candidate.title) == ("improve", "a000", "Part 1"), \
        "a reproduction split into parts is not debugged: its parts are the smaller fixes"
    debug = LinearSearch().next_step(SearchState(history, ACC, queue, JournalState()))
    assert (debug.kind, debug.candidate.title) == ("debug", "B"), "a debug attempt keeps its parent's hypothesis"


def test_without_a_gate_record_the_top_hypothesis_counts_as_the_plans():
    queue = HypothesisQueue(ranked("A", "B"))
    assert [c.title for c in queue.untried([])] == ["B"]
    assert HypothesisQueue().next([]) is None
