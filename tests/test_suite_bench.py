"""benchmarks/bench_task_outcomes.py --suite: how a finished run of a suite task is judged, read from run folders
holding a summary.json written by copilot's own RunSummary model (no LLM, no run: the folders are built here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from copilot.execution.report import RunSummary
from copilot.execution.verify import Reexecution

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks" / "bench_task_outcomes.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_task_outcomes", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_folder(tmp_path: Path, *, baseline: float | None, repaired: bool, best: float, reproduced: float | None,
                ok: bool, direction: str = "minimize") -> Path:
    folder = tmp_path / "task--local"
    folder.mkdir()
    summary = RunSummary(
        task="task", llm="local", metric="mse", direction=direction, baseline=baseline, baseline_repaired=repaired,
        best=best, best_attempt="a002", improvement_abs=None, improvement_rel=None, success=False, attempts={"ok": 2},
        reexecution=Reexecution(attempt_id="a002", recorded=best, reproduced=reproduced, ok=ok, tolerance=0.02,
                                note=""))
    (folder / "summary.json").write_text(summary.model_dump_json())
    (folder / "bench_commit.txt").write_text("abc1234\n")
    return folder


ENTRY = {"name": "task", "metric": {"name": "mse", "direction": "minimize"}, "reference": {"score": 100.0}}


def test_a_run_whose_starter_ran_is_compared_with_its_own_baseline(tmp_path: Path) -> None:
    row = _bench().suite_row(_run_folder(tmp_path, baseline=80.0, repaired=False, best=70.0, reproduced=70.0,
                                         ok=True), ENTRY)
    assert row["compared_with"] == "baseline" and row["improvement_rel"] == pytest.approx(0.125)
    assert row["success"] is True and row["commit"] == "abc1234" and row["reference"] == 100.0


def test_a_run_whose_starter_was_repaired_is_compared_with_the_documented_reference(tmp_path: Path) -> None:
    """The run's own baseline is its repair; the suite compares with the reference score instead (here the repair
    scored 95, and 88 is only 7.4 % better than that but 12 % better than the reference 100)."""
    row = _bench().suite_row(_run_folder(tmp_path, baseline=95.0, repaired=True, best=88.0, reproduced=88.0,
                                         ok=True), ENTRY)
    assert row["compared_with"] == "reference" and row["improvement_rel"] == pytest.approx(0.12)
    assert row["success"] is True


def test_a_best_attempt_that_was_not_reproduced_is_no_success(tmp_path: Path) -> None:
    row = _bench().suite_row(_run_folder(tmp_path, baseline=80.0, repaired=False, best=10.0, reproduced=60.0,
                                         ok=False), ENTRY)
    assert row["reproduced"] is None and row["success"] is False


def test_the_reproduced_number_decides_not_the_recorded_one(tmp_path: Path) -> None:
    row = _bench().suite_row(_run_folder(tmp_path, baseline=80.0, repaired=False, best=70.0, reproduced=73.0,
                                         ok=True), ENTRY)
    assert row["improvement_rel"] == pytest.approx(0.0875) and row["success"] is False


def test_an_unfinished_run_is_a_row_with_its_status(tmp_path: Path) -> None:
    row = _bench().suite_row(tmp_path / "missing", ENTRY)
    assert row["status"] == "not run" and row["success"] is False and row["reference"] == 100.0


def test_maximised_metrics_count_gains_upwards() -> None:
    bench = _bench()
    assert bench.relative_gain(0.55, 0.5, "maximize") == pytest.approx(0.1)
    assert bench.relative_gain(-0.1, -0.25, "maximize") == pytest.approx(0.6)
    assert bench.relative_gain(1.0, 0.0, "maximize") is None


def test_the_command_line_lists_every_suite_task_and_refuses_unknown_ones(tmp_path: Path) -> None:
    listed = subprocess.run([sys.executable, str(BENCH), "--suite", "real", "--summarise-only", "--out",
                             str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert listed.returncode == 0, listed.stderr
    assert "| ucr-gunpoint | local |" in listed.stdout and "0 of 8 runs succeeded" in listed.stdout
    unknown = subprocess.run([sys.executable, str(BENCH), "--suite", "real", "--tasks", "nope", "--summarise-only"],
                             capture_output=True, text=True, cwd=REPO)
    assert unknown.returncode == 1 and "not in suite 'real': nope" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_a_run_whose_best_did_not_reproduce_reports_no_success() -> None:
    """summary.json and report.md: 14 % better once (the real suite's sat-heuristic, CPU time) but 13.84 s on the
    clean re-execution against 13.31 recorded: not a success, and the report says why."""
    from copilot.execution.attempt import Attempt, Measurement
    from copilot.execution.report import render_report, summarize
    from copilot.task import MetricSpec

    def measured(id_: str, value: float) -> Attempt:
        return Attempt(id=id_, kind="baseline" if id_ == "a000" else "draft", status="ok",
                       measurement=Measurement(metric="time_s", value=value, source="results.json"))

    attempts = [measured("a000", 15.508), measured("a001", 13.314)]
    metric = MetricSpec(name="time_s", direction="minimize")
    mismatch = Reexecution(attempt_id="a001", recorded=13.314, reproduced=13.841, ok=False, tolerance=0.02,
                           note="the metric differs beyond the tolerance")
    summary = summarize(attempts, metric, task="sat", llm="local", reexecution=mismatch)
    assert summary.improvement_rel == pytest.approx(0.1415, abs=1e-4) and summary.success is False
    assert "not a success: >= 10% once, but the clean re-execution of the best attempt did not reproduce it" in \
        render_report(summary, attempts, None, None)
    matched = mismatch.model_copy(update={"reproduced": 13.4, "ok": True})
    assert summarize(attempts, metric, task="sat", llm="local", reexecution=matched).success is True


def test_a_metric_that_varies_between_runs_states_its_own_reproduction_tolerance() -> None:
    """sat-heuristic's CPU time: the improved heuristic measured 1.728 s and, re-executed, 1.640 s (5 %), which the
    configured 2 % called a mismatch; its task.yaml says 10 %. Other metrics keep execution.verify_tolerance."""
    from types import SimpleNamespace

    from copilot.execution.stage import verify_tolerance
    from copilot.execution.verify import compare_reproduction
    from copilot.task import load_task

    cfg = SimpleNamespace(execution=SimpleNamespace(verify_tolerance=0.02))
    sat = load_task("sat-heuristic", REPO / "problems", REPO / "workspaces")
    digits = load_task("tabular-digits", REPO / "problems", REPO / "workspaces")
    assert verify_tolerance(SimpleNamespace(cfg=cfg, task=sat)) == 0.1
    assert verify_tolerance(SimpleNamespace(cfg=cfg, task=digits)) == 0.02
    assert compare_reproduction(1.728, 1.640, 0.1) and not compare_reproduction(1.728, 1.640, 0.02)


def test_a_re_run_that_did_better_than_recorded_confirms_it_and_the_recorded_number_counts(tmp_path: Path) -> None:
    """sat-heuristic at a26c10e: recorded 12.26 s, re-executed 10.04 s (18 %, beyond its 10 %). The re-run confirms
    every claim the recorded number supports; the gain is taken from the worse of the two, the recorded 12.26."""
    from copilot.execution.verify import judge_reexecution
    from copilot.task import MetricSpec

    time_s = MetricSpec(name="time_s", direction="minimize")
    ok, note = judge_reexecution(time_s, 12.26, 10.04, 0.1)
    assert ok and "did better" in note and "12.26 is the number reported" in note
    assert judge_reexecution(time_s, 12.26, 14.0, 0.1) == (False, "the metric differs beyond the tolerance")
    assert judge_reexecution(time_s, 12.26, 12.9, 0.1) == (True, "reproduced")
    assert judge_reexecution(time_s, 12.26, None, 0.1)[0] is False
    accuracy = MetricSpec(name="accuracy", direction="maximize")
    assert judge_reexecution(accuracy, 0.90, 0.95, 0.02)[0] and not judge_reexecution(accuracy, 0.95, 0.90, 0.02)[0]

    row = _bench().suite_row(_run_folder(tmp_path, baseline=13.64, repaired=False, best=12.26, reproduced=10.04,
                                         ok=True), ENTRY)
    assert row["reproduced"] == 10.04 and row["improvement_rel"] == pytest.approx((13.64 - 12.26) / 13.64)
