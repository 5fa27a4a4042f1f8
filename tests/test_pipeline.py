"""End to end through the real CLI: all three stages on the tabular-digits demo task with `llm=replay` reading a
hand-written script (tests/fixtures/pipeline_script.jsonl: canned test replies, not model output). Also: a run
killed with SIGKILL mid-execution resumes without losing or duplicating attempts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "fixtures" / "pipeline_script.jsonl"


def copilot(run_dir: Path, *overrides: str, script: Path = SCRIPT, **popen) -> subprocess.Popen:
    argv = [sys.executable, "-m", "copilot", "task=tabular-digits", f"paths.problems={REPO / 'problems'}",
            f"paths.workspaces={REPO / 'workspaces'}", "llm=replay", f"llm.backend.path={script}",
            "feedback=auto", "retrieval=offline", "idea.num_hypotheses=1", "execution.max_attempts=2",
            f"hydra.run.dir={run_dir}", *overrides]
    env = {**os.environ, "COPILOT_CACHE_DIR": str(run_dir.parent / "cache")}
    return subprocess.Popen(argv, cwd=run_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def rules_run(tmp_path: Path, run: Path, *overrides: str, backend: str = "RuleBackend",
              feedback: str = "auto") -> subprocess.CompletedProcess:
    """A whole run of tabular-digits with a rule-based test LLM (`tests/fixtures/rule_backend.py`, canned replies)
    and the whole-script strategy."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COPILOT_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "copilot", "task=tabular-digits", f"paths.problems={REPO / 'problems'}",
            f"paths.workspaces={REPO / 'workspaces'}", "llm=replay", "llm.name=rules", "~llm.backend",
            f"+llm.backend={{_target_:tests.fixtures.rule_backend.{backend}}}", f"feedback={feedback}",
            "retrieval=offline", "execution.max_attempts=2", "agent=rewrite", f"hydra.run.dir={run}",
            *overrides]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_full_run_measures_verifies_and_reports(tmp_path):
    run = tmp_path / "run"
    proc = copilot(run)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    for name in ("idea/paper.json", "idea/related.json", "idea/hypotheses.json", "idea/plan.json", "idea/idea.md",
                 "experiment/resources.json", "experiment/data_analysis.json", "experiment/episode.json",
                 "summary.json", "report.md", "metric.png", "verify/reexecution.json"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    attempts = {p.parent.name: json.loads(p.read_text()) for p in sorted(run.glob("attempts/*/attempt.json"))}
    assert list(attempts) == ["a000", "a001", "a002"]
    assert attempts["a000"]["kind"] == "baseline" and attempts["a000"]["measurement"]["value"] == pytest.approx(
        0.5778, abs=1e-3)
    assert summary["baseline"] == attempts["a000"]["measurement"]["value"]
    assert summary["best"] == max(a["measurement"]["value"] for a in attempts.values()) > 0.95
    assert summary["success"] is True and summary["reexecution"]["ok"] is True
    # Stage 1 reproduced the paper's method first (its own request), and the draft implemented it.
    ranked = json.loads((run / "idea" / "hypotheses.json").read_text())
    assert [r["reproduces_paper"] for r in ranked] == [True, False]
    assert attempts["a001"]["hypothesis"] == "Reproduce the paper: RBF SVM on the raw pixels"
    assert attempts["a002"]["hypothesis"] == "Replace the shallow tree with an RBF SVM"
    # The agent claimed 0.5 for a001; the report flags it against the measured value.
    assert summary["claim_checks"][0]["ok"] is False
    report = (run / "report.md").read_text()
    assert "FLAG:" in report and f"{summary['best']:.6g}" in report
    # The agent's attempt to overwrite the read-only evaluation was refused and the evaluation is intact.
    trace = jsonl(run / "env_log" / "trace.jsonl")
    refused = [t for t in trace if t["action"] and t["action"]["tool"] == "write_file"]
    assert refused and refused[0]["observation"]["ok"] is False and "read-only" in refused[0]["observation"]["text"]
    original = (REPO / "workspaces/tabular-digits/evaluate.py").read_text()
    assert (run / "workspace" / "evaluate.py").read_text() == original
    # The held-out labels never entered a copy the agent's code ran in, and the agent was told why.
    for copy in ("workspace", "verify/workspace"):
        assert (run / copy / "data" / "test.csv").is_file() and not (run / copy / "data" / "test_labels.csv").exists()
    for manifest in run.glob("attempts/*/snapshot/manifest.json"):
        assert "data/test_labels.csv" not in manifest.read_text()
    assert "Held-out files (kept out of the workspace" in (run / "agent_log/full_log.jsonl").read_text()
    assert all(json.loads(line) for line in (run / "agent_log/full_log.jsonl").read_text().splitlines())
    assert (run / "metric.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_run_killed_mid_execution_resumes_without_losing_or_repeating_attempts(tmp_path):
    run = tmp_path / "run"
    proc = copilot(run, start_new_session=True)
    deadline = time.monotonic() + 180
    while not (run / "attempts" / "a001" / "attempt.json").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the run never reached attempt a001"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The resumed run skips stages 1-2 (their files exist), so it only needs the replies of the later episodes.
    rest = tmp_path / "rest.jsonl"
    rest.write_text("".join(SCRIPT.read_text().splitlines(keepends=True)[-2:]))
    resumed = subprocess.run([sys.executable, "-m", "copilot", f"resume={run}", f"llm.backend.path={rest}"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    ids = sorted(p.parent.name for p in run.glob("attempts/*/attempt.json"))
    assert ids == ["a000", "a001", "a002"]
    for log in ("agent_log/full_log.jsonl", "env_log/trace.jsonl"):
        jsonl(run / log)  # every line parses
    assert json.loads((run / "summary.json").read_text())["attempts"] == {"ok": 3}
    assert (run / ".hydra" / "history").is_dir(), "the first run's config is kept"


@pytest.mark.slow
def test_killed_at_ten_points_and_resumed_every_time_the_run_completes_intact(tmp_path):
    """SIGKILL at 10+ moments spread over all stages (each time resuming the same run), then finish it."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COPILOT_CACHE_DIR": str(tmp_path / "cache")}
    first = [sys.executable, "-m", "copilot", "task=tabular-digits", f"paths.problems={REPO / 'problems'}",
             f"paths.workspaces={REPO / 'workspaces'}", "llm=replay", "llm.name=rules", "~llm.backend",
             "+llm.backend={_target_:tests.fixtures.rule_backend.RuleBackend}", "feedback=auto", "retrieval=offline",
             "idea.num_hypotheses=1", "execution.max_attempts=3", f"hydra.run.dir={run}"]
    resume = [sys.executable, "-m", "copilot", f"resume={run}"]
    # Kill right after each of these appears: positions in every stage, mid-episode and mid-attempt included.
    events = ["run.json", "idea/paper.json", "idea/analysis.json", "idea/hypotheses.json", "idea/plan.json",
              "experiment/resources.json", "experiment/data_analysis.json", "attempts/a000/workspace",
              "attempts/a000/attempt.json", "env_log/trace.jsonl", "experiment/episode.json",
              "attempts/a001/attempt.json", "execution/journal.jsonl", "attempts/a002/snapshot",
              "attempts/a002/attempt.json", "verify/workspace"]
    kills, started = 0, False
    for event in events:
        if (run / event).exists():
            continue
        proc = subprocess.Popen(resume if started else first, cwd=tmp_path, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = True
        deadline = time.monotonic() + 120
        while not (run / event).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(resume, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    assert kills >= 10
    ids = sorted(p.parent.name for p in run.glob("attempts/*/attempt.json"))
    assert ids == ["a000", "a001", "a002", "a003"], ids
    assert not [p for p in run.glob("attempts/*") if not (p / "attempt.json").exists()]
    for log in run.rglob("*.jsonl"):
        jsonl(log)  # every line of every JSONL log parses
    summary = json.loads((run / "summary.json").read_text())
    assert summary["baseline"] == pytest.approx(0.5778, abs=1e-3) and summary["best"] > 0.95


@pytest.mark.slow
def test_the_rewrite_strategy_tests_the_next_hypothesis_in_each_improvement(tmp_path):
    """strategy=rewrite end to end with the rule-based test LLM (canned replies): the plan's hypothesis is the first
    attempt's, the improvement names the second hypothesis, and both are recorded and reported."""
    run = tmp_path / "run"
    done = rules_run(tmp_path, run, "idea.num_hypotheses=2", "idea.reproduce_paper=false")
    assert done.returncode == 0, done.stderr[-3000:]
    attempts = [json.loads(p.read_text()) for p in sorted(run.glob("attempts/*/attempt.json"))]
    assert [(a["kind"], a["status"]) for a in attempts] == [("baseline", "ok"), ("draft", "ok"), ("improve", "ok")]
    assert attempts[1]["hypothesis"] == "Replace the shallow tree with an RBF SVM"
    assert attempts[2]["hypothesis"] == "Tune the SVM's regularisation"
    assert "Set C=10 on the SVC." in attempts[2]["instruction"]
    assert "C=10" in attempts[2]["code_diff"] and attempts[2]["measurement"]["value"] > 0.95
    trace = jsonl(run / "env_log" / "trace.jsonl")
    assert trace and all(t["strategy"] == "rewrite" for t in trace)
    assert [t["action"]["tool"] for t in trace] == ["write_file", "execute"] * 2
    report = (run / "report.md").read_text()
    assert "| hypothesis |" in report and "Tune the SVM's regularisation" in report
    # The second episode's task block names the hypothesis under test after the plan, and both episodes' prompts are
    # the same text up to the current file, which comes before the sections that vary (the cached prefix of an
    # embedded model: episodes starting from the same file share it too).
    asks = [r["request"]["messages"][-1]["content"] for r in jsonl(run / "agent_log" / "full_log.jsonl")
            if r.get("purpose") == "experiment.rewrite"]
    assert "## Plan\nHypothesis: Replace the shallow tree" in asks[0] and "## Hypothesis under test" not in asks[0]
    assert ("## Hypothesis under test in this episode (instead of the plan above)\nTune the SVM's regularisation: "
            "Set C=10 on the SVC.") in asks[1]
    stable = asks[0].split("\n## Current train.py")[0]
    assert len(stable) > 500 and asks[1].startswith(stable)
    assert asks[1].index("## Current train.py") < asks[1].index("## Hypothesis under test")
    # Stage 1 and the agent are told which packages the sandbox can import (nothing can be installed offline).
    calls = jsonl(run / "agent_log" / "full_log.jsonl")
    prompts = [r["request"]["messages"][-1]["content"] for r in calls]
    for text in (next(p for p in prompts if "Propose 2 distinct hypotheses" in p), asks[0]):
        assert "Python packages the experiment can import: numpy, pandas, scipy, sklearn" in text


@pytest.mark.slow
def test_the_hypothesis_picked_at_the_gate_is_the_plan_and_the_top_ranked_one_comes_next(tmp_path):
    """Scripted feedback picks the second-ranked hypothesis (rule-based test LLM, canned replies)."""
    run = tmp_path / "run"
    answers = tmp_path / "answers.yaml"
    answers.write_text("ideas: [{action: pick, index: 1}]\n")
    done = rules_run(tmp_path, run, f"feedback.path={answers}", "idea.num_hypotheses=2", "idea.reproduce_paper=false",
                     feedback="scripted")
    assert done.returncode == 0, done.stderr[-3000:]
    chosen = json.loads((run / "idea" / "chosen.json").read_text())
    assert (chosen["rank"], chosen["title"]) == (1, "Tune the SVM's regularisation")
    attempts = [json.loads(p.read_text()) for p in sorted(run.glob("attempts/*/attempt.json"))]
    assert [a["hypothesis"] for a in attempts] == ["", "Tune the SVM's regularisation",
                                                   "Replace the shallow tree with an RBF SVM", ""]
    # The RBF SVM on top of the tuned SVM writes the same script (the rule-based LLM's), and so does the agent's own
    # change after it: neither is run, and neither counts as one of the two attempts; two of them end the loop.
    assert [(a["status"], a["unchanged"]) for a in attempts[1:]] == [("ok", False), ("failed", True),
                                                                     ("failed", True)]


@pytest.mark.slow
def test_a_reproduction_that_falls_short_is_followed_by_its_parts_one_at_a_time(tmp_path):
    """The reproduction's whole script fails (rule-based test LLM, canned replies), and so does its fix: then the run
    asks once for the method's parts and tests the first one on top of the best code (the baseline). A script that
    crashed once is fixed first: the crash says nothing of the method."""
    run = tmp_path / "run"
    done = rules_run(tmp_path, run, "idea.num_hypotheses=1", "execution.max_attempts=3", backend="PartsBackend")
    assert done.returncode == 0, done.stderr[-3000:]
    attempts = [json.loads(p.read_text()) for p in sorted(run.glob("attempts/*/attempt.json"))]
    # The fix writes the failing script again (not run: unchanged), which is a second failure of the reproduction;
    # part 2 and the next hypothesis then write part 1's script again (unchanged: not counted), and the next one the
    # failing reproduction again: the third attempt that ran ends the loop.
    assert [(a["kind"], a["status"], a["parent"], a["unchanged"]) for a in attempts] == [
        ("baseline", "ok", None, False), ("draft", "failed", "a000", False), ("debug", "failed", "a001", True),
        ("improve", "ok", "a000", False), ("improve", "failed", "a003", True), ("improve", "failed", "a003", True),
        ("improve", "failed", "a003", False)]
    assert attempts[1]["hypothesis"] == attempts[2]["hypothesis"] == "Reproduce the paper: RBF SVM on raw pixels"
    assert attempts[3]["hypothesis"] == "Part 1 of the paper's method: the input feature the 64 raw pixel values"
    assert attempts[3]["measurement"]["value"] > 0.95
    queued = [e for e in jsonl(run / "execution" / "journal.jsonl") if e["event"] == "queued"
              and e["reason"] == "the reproduction fell short of the baseline"]  # `next_changes` queues the others
    assert [(e["of"], [c["title"] for c in e["candidates"]]) for e in queued] == [(
        "Reproduce the paper: RBF SVM on raw pixels",
        ["Part 1 of the paper's method: the input feature the 64 raw pixel values",
         "Part 2 of the paper's method: the model SVC(kernel='rbf', C=10)"])]
    firings = jsonl(run / "coach" / "firings.jsonl")
    assert [(f["rule"], f["attempt"]) for f in firings if f["rule"] == "reproduction_parts"] == [
        ("reproduction_parts", "a003")]
    calls = jsonl(run / "agent_log" / "full_log.jsonl")
    asked = [r["request"]["messages"][-1]["content"] for r in calls if r.get("purpose") == "coach.parts"]
    assert len(asked) == 1
    assert asked[0].startswith("The paper's abstract and method section, verbatim:\n## Abstract\n")
    assert "(one per item, with its formula" in asked[0]
    ask = next(r["request"]["messages"][-1]["content"] for r in calls if r.get("purpose") == "experiment.rewrite"
               and "## Hypothesis under test" in r["request"]["messages"][-1]["content"])  # a003's episode
    assert ("## Hypothesis under test in this episode (instead of the plan above)\nPart 1 of the paper's method: the "
            "input feature the 64 raw pixel values: Add only this one part of the paper's method (Reproduce the "
            "paper: RBF SVM on raw pixels)") in ask
    summary = json.loads((run / "summary.json").read_text())
    assert summary["success"] is True
