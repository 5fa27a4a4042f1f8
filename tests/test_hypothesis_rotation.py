"""What each attempt is asked to do (copilot/execution/instructions.py) and the reproduction-in-parts rule
(copilot/coach/parts.py): the plan's hypothesis first, then the next untried candidate per draft or improvement; a
debug attempt keeps its parent's; a starter that does not run is repaired first; the paper's method in parts once
its reproduction fell short."""

from __future__ import annotations

from types import SimpleNamespace

from copilot.coach.advice import DroppedDefinition
from copilot.coach.parts import MethodParts, ReproductionParts, fell_short, part_candidates
from copilot.coach.small import DROPPED_RULES, RuleCoach
from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.instructions import instruction_for
from copilot.execution.journal import Candidate, JournalState
from copilot.execution.policies.base import NextStep, SearchState
from copilot.records import RunRecords
from copilot.sandbox.base import RunResult
from copilot.task import Budgets, MetricSpec, TaskSpec

SPEC = TaskSpec(title="t", metric=MetricSpec(name="accuracy", direction="maximize"), run="python train.py",
                evaluate="python evaluate.py", budgets=Budgets(run_timeout_s=60))
STARTER = 'import pandas as pd\ntrain = pd.read_csv("data/train.csv")\nprint(len(train))\n'


def hypothesis(title: str) -> dict:
    return {"title": title, "problem": "p.", "rationale": "r.", "method": f"Do {title}.", "supporting_result": "s.",
            "refuting_result": "f."}


def ranked(title: str, reproduces: bool = False) -> dict:
    score = {"score": 3, "justification": "j."}
    return {"hypothesis": hypothesis(title), "lexical_overlap": 0.0, "total": 3.0, "reproduces_paper": reproduces,
            "novelty": {"novel": True, "closest_work_ids": [], "explanation": "e."},
            "scores": {k: score for k in ("clarity", "validity", "novelty", "feasibility", "significance")}}


def attempt(id_: str, kind: str, hypothesis: str = "", parent: str | None = None, metric: float | None = None):
    a = Attempt(id=id_, kind=kind, parent=parent, hypothesis=hypothesis, status="ok" if metric else "failed")
    if metric is not None:
        a.measurement = Measurement(metric="accuracy", value=metric, source="results.json")
    return a


def coach() -> RuleCoach:
    return RuleCoach(rule_dirs=[str(DROPPED_RULES)])


def test_an_improvement_names_the_candidate_and_the_parent_metric_and_a_plain_one_asks_for_a_focused_change():
    history = [attempt("a000", "baseline", metric=0.5), attempt("a001", "draft", "B", "a000", 0.6)]
    candidate = Candidate(title="A {braces}.", method="Do A {braces}.")
    text = instruction_for(NextStep("improve", "a001", candidate), history, SPEC, coach(), [])
    assert "test the next hypothesis: A {braces}. Do A {braces}." in text and "accuracy = 0.6" in text
    draft = instruction_for(NextStep("draft", None, candidate), history, SPEC, coach(), [])
    assert draft.startswith("Starting again from the starter code, test another hypothesis: A {braces}.")
    plain = instruction_for(NextStep("improve", "a001"), history, SPEC, coach(), [], human="use PCA")
    assert "Make one focused change that should improve accuracy (maximize)" in plain
    assert plain.endswith("The human asks: use PCA")
    plan = instruction_for(NextStep("draft", None, Candidate(title="B", source="plan")), history, SPEC, coach(), [])
    assert plan == "Implement the plan from the starter code, then make sure the experiment command runs."


def test_a_debug_instruction_quotes_the_starter_line_the_failing_version_dropped():
    failed = attempt("a001", "draft", "A", "a000")
    failed.error = "Traceback ...\n    print(train.shape)\nNameError: name 'train' is not defined"
    text = instruction_for(NextStep("debug", "a001"), [attempt("a000", "baseline", metric=0.5), failed], SPEC,
                           coach(), [STARTER])
    assert "Attempt a001 failed" in text and "NameError: name 'train' is not defined" in text
    assert 'earlier working version of the script by:\ntrain = pd.read_csv("data/train.csv")\n' in text
    assert DroppedDefinition("d")(failed.error, []) is None


def test_a_timed_out_attempt_is_debugged_with_the_timeout_as_its_error():
    slow = attempt("a001", "draft", "A", "a000")
    slow.error = "experiment ended: timeout, exit code -9"
    slow.run = RunResult(command="python train.py", exit_code=-9, duration_s=60.0, reason="timeout")
    history = [attempt("a000", "baseline", metric=0.5), slow]
    text = instruction_for(NextStep("debug", "a001"), history, SPEC, coach(), [])
    assert "ran past the 60-second limit" in text and "a smaller search" in text
    assert "sample of the training data" in text


def test_a_repair_asks_for_the_smallest_change_that_makes_the_starter_run():
    crash = attempt("a000", "baseline")
    crash.error = "Traceback\nAttributeError: module 'numpy' has no attribute 'float'"
    text = instruction_for(NextStep("repair", "a000"), [crash], SPEC, coach(), [])
    assert text.startswith("The starter code does not run yet: `python train.py` fails. Make it run with the smallest")
    assert "module 'numpy' has no attribute 'float'" in text and "no new model" in text


def test_a_reproduction_falls_short_when_none_of_its_attempts_beats_the_baseline():
    accuracy = MetricSpec(name="accuracy", direction="maximize")
    base = attempt("a000", "baseline", metric=0.5)
    title = "Reproduce the paper: SVM"
    assert not fell_short([base], title, accuracy)  # not tested yet
    crashed = attempt("a001", "draft", title)
    assert not fell_short([base, crashed], title, accuracy), "a crash is fixed first"
    assert fell_short([base, crashed, attempt("a002", "debug", title, "a001")], title, accuracy)  # and its fix
    assert fell_short([base, attempt("a001", "draft", title, metric=0.5)], title, accuracy)  # no better
    assert not fell_short([base, attempt("a001", "draft", title), attempt("a002", "debug", title, "a001", 0.9)],
                          title, accuracy)
    rmse = MetricSpec(name="rmse", direction="minimize")
    assert fell_short([attempt("a000", "baseline", metric=64.8), attempt("a001", "draft", title, metric=110.3)],
                      title, rmse)
    parts = part_candidates(["log(sales) as the target.", "day-of-week indicators"], title)
    assert [p.title for p in parts] == ["Part 1 of the paper's method: log(sales) as the target",
                                        "Part 2 of the paper's method: day-of-week indicators"]
    assert parts[1].method.startswith("Add only this one part of the paper's method (Reproduce the paper: SVM)")
    # The embedded model's reading of the forecast paper, slot by slot (its reply, trimmed to what matters here).
    read = MethodParts(model="Ordinary least squares", training="unchanged", target="log(sales)",
                       inputs=["days since the start of the series", "six day-of-week indicators"],
                       prediction="exponential of the prediction")
    assert read.as_changes() == [
        "the input feature days since the start of the series", "the input feature six day-of-week indicators",
        "fit the model on log(sales) and turn its prediction into the output by exponential of the prediction",
        "the model Ordinary least squares"]
    assert MethodParts(model="SVC", training="n/a", target="unchanged", inputs=["None"],
                       prediction="Unchanged").as_changes() == ["the model SVC"]
    # An optimiser paper (Adam) keeps the model and adds no input: its one part is how the model is trained.
    adam = MethodParts(model="unchanged", training="Adam (alpha 0.001, beta1 0.9, beta2 0.999, epsilon 1e-8)",
                       target="unchanged", inputs=[], prediction="unchanged")
    assert adam.as_changes() == ["train it with Adam (alpha 0.001, beta1 0.9, beta2 0.999, epsilon 1e-8)"]


def test_parts_are_asked_for_once_and_only_after_the_reproduction_fell_short(tmp_path, scripted):
    """Scripted LLM (a canned reading of the method, not model output): no request before the reproduction was
    tested or after it beat the baseline; one when it fell short; none once asked (the journal records it)."""
    run = RunRecords(tmp_path / "run")
    title = "Reproduce the paper: SVM"
    run.write_json("idea/hypotheses.json", [ranked(title, reproduces=True), ranked("A")])
    llm = scripted([{"model": "SVC(C=10)", "training": "unchanged", "target": "unchanged", "inputs": ["scaled pixels"],
                     "prediction": "unchanged"}])
    rule = ReproductionParts("reproduction_parts")
    rule.bind(SimpleNamespace(run=run, llm=llm, console=SimpleNamespace(print=lambda *a, **k: None)))
    metric = MetricSpec(name="accuracy", direction="maximize")
    base = attempt("a000", "baseline", metric=0.5)
    assert rule(SearchState([base], metric)) is None  # not tested yet
    assert rule(SearchState([base, attempt("a001", "draft", title, "a000", metric=0.9)], metric)) is None  # it worked
    short = [base, attempt("a001", "draft", title, "a000", metric=0.5)]
    queued = rule(SearchState(short, metric))
    assert queued.of == title and [c.title for c in queued.candidates] == [
        "Part 1 of the paper's method: the input feature scaled pixels",
        "Part 2 of the paper's method: the model SVC(C=10)"]
    assert rule(SearchState(short, metric, journal=JournalState(queued=[queued]))) is None  # asked once
    assert len(llm.backend.requests) == 1


def test_the_first_episode_is_shown_the_chosen_hypothesis_method(tmp_path):
    """The plan carries only the chosen hypothesis' title, which a model can cut short ("... sin and cos of 2 pi");
    the task block shows the chosen method too, when it is the plan's."""
    from copilot.experiment.episode import chosen_method
    from copilot.idea.models import ExperimentPlan

    ctx = SimpleNamespace(run=RunRecords(tmp_path / "run"))
    plan = ExperimentPlan(hypothesis_title="A", datasets=[], baselines=["starter"], metric="accuracy",
                          metric_direction="maximize", steps=["change the model"], expected_outcome="better",
                          compute_budget="minutes", workspace_files=[])
    assert chosen_method(ctx, plan) == ""  # no stage 1
    ctx.run.write_json("idea/chosen.json", {**hypothesis("A"), "method": " Fit OLS on log(y). ", "rank": 0})
    assert chosen_method(ctx, plan) == "Fit OLS on log(y)."
    assert chosen_method(ctx, plan.model_copy(update={"hypothesis_title": "a plan written by hand"})) == ""
