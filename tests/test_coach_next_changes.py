"""The `next_changes` derive rule (copilot/coach/ideas.py) with a scripted LLM: its replies are canned test input,
not model output. Modelled on the real suite's prisoners-dilemma at ba96b5f, whose three hypotheses were tested by
a003 and whose next five improve attempts, with no candidate left, each gave the file back unchanged."""

from __future__ import annotations

from types import SimpleNamespace

from omegaconf import OmegaConf

from copilot.budget import Budget
from copilot.coach.ideas import NextChanges, debug_depth, tried_lines
from copilot.coach.small import RuleCoach
from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.instructions import instruction_for
from copilot.execution.journal import Candidate, JournalState
from copilot.execution.policies.base import NextStep, SearchState
from copilot.execution.queue import HypothesisQueue
from copilot.records import RunRecords
from copilot.task import MetricSpec, Task, TaskSpec

METRIC = MetricSpec(name="score", direction="maximize")
SPEC = TaskSpec(title="Prisoner's dilemma", metric=METRIC, run="python strategy.py", evaluate="python evaluate.py",
                read_only=["evaluate.py"])
STARTER = "import random\n\ndef row_strategy(history):\n    return 1 if random.random() < 0.75 else 0\n"
BETTER = STARTER.replace("0.75", "0.9")


def attempt(id_, kind, hypothesis="", parent=None, metric=None, unchanged=False, error=None):
    a = Attempt(id=id_, kind=kind, parent=parent, hypothesis=hypothesis, unchanged=unchanged, error=error,
                status="ok" if metric is not None else "failed")
    if metric is not None:
        a.measurement = Measurement(metric="score", value=metric, source="results.json")
    return a


def setup(tmp_path, scripted, replies, problem="Write row_strategy. Use only numpy and the standard library.",
          wall_clock_s=600.0):
    workspace = tmp_path / "ws"
    workspace.mkdir(parents=True)
    (workspace / "strategy.py").write_text(STARTER)
    (workspace / "evaluate.py").write_text("print(1)\n")
    run = RunRecords(tmp_path / "run")
    (run.path("attempts", "a002", "snapshot", "files")).mkdir(parents=True)
    run.path("attempts", "a002", "snapshot", "files", "strategy.py").write_text(BETTER)
    llm = scripted(replies)
    printed = []
    ctx = SimpleNamespace(run=run, llm=llm, task=Task(name="pd", spec=SPEC, workspace=workspace, problem_text=problem),
                          budget=Budget(wall_clock_s=wall_clock_s),
                          console=SimpleNamespace(print=lambda text, **k: printed.append(text)))
    rule = NextChanges("next_changes")
    rule.bind(ctx)
    return rule, llm, printed


HISTORY = [attempt("a000", "baseline", metric=2.38), attempt("a001", "draft", "Be aggressive", "a000", 2.30),
           attempt("a002", "improve", "Cooperate more", "a000", 2.45),
           attempt("a003", "improve", "", "a002", unchanged=True,
                   error="the episode changed no code: the code is the same as a002's")]


def test_changes_are_asked_for_once_the_queue_is_empty_with_the_best_code_and_what_was_tried(tmp_path, scripted):
    ideas = {"ideas": [
        {"title": "Tit for tat", "change": "In row_strategy, return the column player's last move history[-1][1]."},
        {"title": "Use torch for a policy net", "change": "Train a torch.nn.Linear policy on the history."},
        {"title": "Cooperate more", "change": "Raise the cooperation probability in row_strategy to 0.9."},
        {"title": "Forgive sometimes", "change": "After a defection, cooperate with probability 0.1 in row_strategy."},
    ]}
    rule, llm, printed = setup(tmp_path, scripted, [ideas])
    queue = HypothesisQueue()
    state = SearchState(list(HISTORY), METRIC, queue)
    queued = rule(state)
    # A change breaking the problem's rule (only numpy) is left out; one named after a tested hypothesis keeps its
    # change under a title of its own; at most `count` are read.
    assert [c.title for c in queued.candidates] == [
        "Tit for tat", "Cooperate more: Raise the cooperation probability in row_strategy to 0.9."]
    assert queued.candidates[0].source == "idea" and queued.of == "the attempts up to a003"
    prompt = llm.backend.requests[0].messages[-1].content
    assert BETTER.strip() in prompt and "attempt a002, score = 2.45" in prompt  # the best code, not the starter
    assert "- a001 (draft): Be aggressive -> 2.3" in prompt
    assert "- a003 (improve): a change of the model's own choice -> the code came back unchanged" in prompt
    assert "Use only numpy" in prompt and llm.backend.requests[0].schema_name == "ChangeIdeas"
    assert printed and "testing 2 changes" in printed[0]
    # An instruction for such a candidate asks for that one change.
    step = NextStep("improve", "a002", queued.candidates[0])
    text = instruction_for(step, state.attempts, SPEC, RuleCoach(), [])
    assert text.startswith("The current code works (attempt a002, score = 2.45). On top of it, make this one change: "
                           "Tit for tat. In row_strategy, return the column player's last move")


def test_no_request_while_candidates_wait_after_the_last_round_or_without_time(tmp_path, scripted):
    rule, llm, _ = setup(tmp_path, scripted, [])
    waiting = HypothesisQueue(queued=[])
    waiting.stage1 = [Candidate(title="Untested")]
    assert rule(SearchState(list(HISTORY), METRIC, waiting)) is None
    assert rule(SearchState([HISTORY[0].model_copy(update={"status": "failed", "measurement": None})],
                            METRIC)) is None  # nothing ran: the starter is repaired first
    from copilot.coach.ideas import REASON
    from copilot.execution.journal import Queued
    rounds = [Queued(reason=REASON, of=f"the attempts up to a00{i}", candidates=[]) for i in (1, 2)]
    assert rule(SearchState(list(HISTORY), METRIC, journal=JournalState(queued=rounds))) is None
    failing = attempt("a004", "improve", "Tit for tat", "a002", error="Traceback\nValueError: bad")
    assert rule(SearchState([*HISTORY, failing], METRIC)) is None  # the policy debugs it first
    assert debug_depth(SimpleNamespace(cfg=OmegaConf.create({"search": {"max_debug_depth": 0}}))) == 0
    assert debug_depth(SimpleNamespace(cfg=OmegaConf.create({"search": {"max_debug_rounds": 3}}))) == 3
    assert debug_depth(SimpleNamespace()) == 2
    late, late_llm, _ = setup(tmp_path / "late", scripted, [], wall_clock_s=1.0)
    assert late(SearchState(list(HISTORY), METRIC)) is None
    assert not llm.backend.requests and not late_llm.backend.requests


def test_tried_lines_name_the_last_error_line_of_a_failure():
    failed = attempt("a001", "debug", "X", "a000", error="Traceback\n  File x\nValueError: bad")
    lines = tried_lines([HISTORY[0], failed])
    assert lines == ["- a001 (debug): X -> failed: ValueError: bad"]
