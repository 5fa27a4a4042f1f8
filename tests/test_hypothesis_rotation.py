"""Which stage-1 hypothesis each attempt tests: the plan's first, then the best-ranked untried one per draft or
improvement; a debug attempt keeps its parent's; with none left (or no stage 1) the agent picks its own change."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.search import NextStep
from copilot.execution.stage import hypothesis_for, instruction_for, untried_hypotheses
from copilot.rundir import RunDir
from copilot.task import MetricSpec


def hypothesis(title: str) -> dict:
    return {"hypothesis": {"title": title, "problem": "p.", "rationale": "r.", "method": f"Do {title}.",
                           "supporting_result": "s.", "refuting_result": "f."}}


@pytest.fixture
def ctx(tmp_path):
    run = RunDir(tmp_path / "run")
    run.write_json("idea/hypotheses.json", [hypothesis("A"), hypothesis("B"), hypothesis("C {braces}")])
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "train.py").write_text('import pandas as pd\ntrain = pd.read_csv("data/train.csv")\nprint(len(train))\n')
    task = SimpleNamespace(spec=SimpleNamespace(metric=MetricSpec(name="accuracy", direction="maximize"),
                                                run="python train.py", hidden=[]), workspace=starter)
    return SimpleNamespace(run=run, task=task)


def attempt(id_: str, kind: str, hypothesis: str = "", parent: str | None = None, metric: float | None = None):
    a = Attempt(id=id_, kind=kind, parent=parent, hypothesis=hypothesis, status="ok" if metric else "failed")
    if metric is not None:
        a.measurement = Measurement(metric="accuracy", value=metric, source="results.json")
    return a


def test_the_plan_hypothesis_counts_as_tried_and_the_rest_follow_in_rank_order(ctx):
    base = attempt("a000", "baseline", metric=0.5)
    assert [h["title"] for h in untried_hypotheses(ctx, [base])] == ["B", "C {braces}"]
    ctx.run.write_json("idea/chosen.json", hypothesis("B")["hypothesis"])  # the human picked the second one
    history = [base, attempt("a001", "draft", "B", "a000", 0.6)]
    step = NextStep("improve", "a001")
    chosen = hypothesis_for(step, history, ctx)
    assert chosen["title"] == "A"
    text = instruction_for(step, history, ctx, None, chosen)
    assert "test the next hypothesis from stage 1" in text and "A. Do A." in text and "accuracy = 0.6" in text
    history.append(attempt("a002", "improve", "A", "a001"))
    assert hypothesis_for(NextStep("debug", "a002"), history, ctx) == {"title": "A"}
    braces = hypothesis_for(NextStep("draft", None), history, ctx)
    assert "Do C {braces}." in instruction_for(NextStep("draft", None), history, ctx, None, braces)
    history.append(attempt("a003", "draft", "C {braces}", "a000", 0.7))
    assert hypothesis_for(NextStep("improve", "a003"), history, ctx) is None
    assert "Make one focused change" in instruction_for(NextStep("improve", "a003"), history, ctx, "use PCA", None)


def test_a_debug_instruction_quotes_the_starter_line_the_failing_version_dropped(ctx):
    failed = attempt("a001", "draft", "A", "a000")
    failed.error = "Traceback ...\n    print(train.shape)\nNameError: name 'train' is not defined"
    text = instruction_for(NextStep("debug", "a001"), [attempt("a000", "baseline", metric=0.5), failed], ctx, None)
    assert "Attempt a001 failed" in text and "NameError: name 'train' is not defined" in text
    assert 'earlier working version of the script by:\ntrain = pd.read_csv("data/train.csv")\n' in text


def test_a_hypothesis_edited_at_the_gate_is_not_tested_again_in_its_original_form(ctx):
    ctx.run.write_json("idea/chosen.json", {**hypothesis("B, but with a larger C")["hypothesis"], "rank": 1})
    base = attempt("a000", "baseline", metric=0.5)
    assert [h["title"] for h in untried_hypotheses(ctx, [base])] == ["A", "C {braces}"]


def test_without_stage_one_there_is_nothing_to_rotate(tmp_path):
    ctx = SimpleNamespace(run=RunDir(tmp_path / "run"))
    assert untried_hypotheses(ctx, []) == []
    assert hypothesis_for(NextStep("improve", "a000"), [], ctx) is None


def test_the_first_episode_is_shown_the_chosen_hypothesis_method(tmp_path):
    """The plan carries only the chosen hypothesis' title, which the embedded model cut short ("... sin and cos of 2
    pi"), and the draft implemented the title; the task block now shows the chosen method too, when it is the plan's."""
    from copilot.experiment.stage import chosen_method
    from copilot.idea.models import ExperimentPlan

    ctx = SimpleNamespace(run=RunDir(tmp_path / "run"))
    plan = ExperimentPlan(hypothesis_title="A", datasets=[], baselines=["starter"], metric="accuracy",
                          metric_direction="maximize", steps=["change the model"], expected_outcome="better",
                          compute_budget="minutes", workspace_files=[])
    assert chosen_method(ctx, plan) == ""  # no stage 1
    ctx.run.write_json("idea/chosen.json", {**hypothesis("A")["hypothesis"], "method": " Fit OLS on log(y). ",
                                            "rank": 0})
    assert chosen_method(ctx, plan) == "Fit OLS on log(y)."
    assert chosen_method(ctx, plan.model_copy(update={"hypothesis_title": "a plan written by hand"})) == ""


def test_a_reproduction_falls_short_when_none_of_its_attempts_beats_the_baseline():
    from copilot.execution.parts import MethodParts, fell_short, part_hypotheses

    accuracy = MetricSpec(name="accuracy", direction="maximize")
    base = attempt("a000", "baseline", metric=0.5)
    title = "Reproduce the paper: SVM"
    assert not fell_short([base], title, accuracy)  # not tested yet
    assert fell_short([base, attempt("a001", "draft", title)], title, accuracy)  # failed
    assert fell_short([base, attempt("a001", "draft", title, metric=0.5)], title, accuracy)  # no better
    assert not fell_short([base, attempt("a001", "draft", title), attempt("a002", "debug", title, "a001", 0.9)],
                          title, accuracy)
    rmse = MetricSpec(name="rmse", direction="minimize")
    assert fell_short([attempt("a000", "baseline", metric=64.8), attempt("a001", "draft", title, metric=110.3)],
                      title, rmse)
    parts = part_hypotheses(["log(sales) as the target.", "day-of-week indicators"], title)
    assert [p["title"] for p in parts] == ["Part 1 of the paper's method: log(sales) as the target",
                                          "Part 2 of the paper's method: day-of-week indicators"]
    assert parts[1]["method"].startswith("Add only this one part of the paper's method (Reproduce the paper: SVM)")
    # The embedded model's reading of the forecast paper, slot by slot (its reply, trimmed to what matters here).
    read = MethodParts(model="Ordinary least squares", target="log(sales)",
                       inputs=["days since the start of the series", "six day-of-week indicators"],
                       prediction="exponential of the prediction")
    assert read.as_changes() == [
        "the input feature days since the start of the series", "the input feature six day-of-week indicators",
        "fit the model on log(sales) and turn its prediction into the output by exponential of the prediction",
        "the model Ordinary least squares"]
    assert MethodParts(model="SVC", target="unchanged", inputs=["None"], prediction="Unchanged").as_changes() == [
        "the model SVC"]


def test_parts_are_asked_for_only_once_the_reproduction_fell_short_and_only_when_enabled(ctx, scripted):
    """Scripted LLM (a canned reading of the method, not model output): no request before the reproduction was
    tested or after it beat the baseline, none with `execution.reproduce_in_parts=false`, one when it fell short, and
    the untried parts are offered in order."""
    from omegaconf import OmegaConf

    from copilot.execution.stage import parts_to_test

    title = "Reproduce the paper: SVM"
    ctx.run.write_json("idea/hypotheses.json", [{**hypothesis(title), "reproduces_paper": True}, hypothesis("A")])
    ctx.llm = scripted([{"model": "SVC(C=10)", "target": "unchanged", "inputs": ["scaled pixels"],
                         "prediction": "unchanged"}])
    ctx.console = SimpleNamespace(print=lambda *args, **kwargs: None)
    ctx.cfg = OmegaConf.create({"execution": {"reproduce_in_parts": False}})
    base = attempt("a000", "baseline", metric=0.5)
    short = [base, attempt("a001", "draft", title, "a000", metric=0.5)]
    assert parts_to_test(ctx, short) == []  # turned off
    ctx.cfg = OmegaConf.create({"execution": {"reproduce_in_parts": True}})
    assert parts_to_test(ctx, [base]) == []  # not tested yet
    assert parts_to_test(ctx, [base, attempt("a001", "draft", title, "a000", metric=0.9)]) == []  # it worked
    assert not ctx.run.exists("execution/reproduction_parts.json")
    offered = parts_to_test(ctx, short)
    assert [p["title"] for p in offered] == ["Part 1 of the paper's method: the input feature scaled pixels",
                                            "Part 2 of the paper's method: the model SVC(C=10)"]
    later = [*short, attempt("a002", "improve", offered[0]["title"], "a000", metric=0.6)]
    assert [p["title"] for p in parts_to_test(ctx, later)] == [offered[1]["title"]]  # read back, not asked again
