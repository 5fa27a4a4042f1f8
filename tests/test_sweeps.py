"""Hydra multirun: two jobs in parallel with the joblib launcher and the replay LLM (scripted replies from
tests/fixtures/pipeline_script.jsonl), the sweep summary they produce, and one job through submitit's local executor.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "fixtures" / "pipeline_script.jsonl"
COMMON = [f"paths.problems={REPO / 'problems'}", f"paths.workspaces={REPO / 'workspaces'}", "task=tabular-digits",
          "llm=replay", f"llm.backend.path={SCRIPT}", "feedback=auto", "retrieval=offline", "idea.num_hypotheses=1",
          "execution.max_attempts=2"]


def multirun(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COPILOT_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "copilot", "-m", *COMMON, f"hydra.sweep.dir={tmp_path / 'sweep'}",
                           *overrides], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_parallel_jobs_and_their_sweep_summary(tmp_path):
    result = multirun(tmp_path, "seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "sweep"
    rows = list(csv.DictReader((sweep / "sweep_summary.csv").open()))
    assert [r["seed"] for r in rows] == ["0", "1"]
    for row in rows:
        job = sweep / row["job"]
        assert row["status"] == "done" and row["task"] == "tabular-digits" and row["llm"] == "replay"
        assert float(row["baseline"]) == pytest.approx(0.5778, abs=1e-3) and float(row["best"]) > 0.95
        assert (job / "report.md").is_file()
    assert "| 0_tabular-digits_replay_s0 |" in (sweep / "sweep_summary.md").read_text()


@pytest.mark.slow
def test_the_submitit_local_executor_runs_a_job(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    result = multirun(tmp_path, "stages=[idea]", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "sweep" / "sweep_summary.csv").open()))
    assert len(rows) == 1 and rows[0]["status"] == "stopped after stage 1"
    assert (tmp_path / "sweep" / rows[0]["job"] / "idea" / "plan.json").is_file()
