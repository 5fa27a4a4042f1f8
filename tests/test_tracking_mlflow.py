"""`tracking=mlflow` (copilot/tracking/mlflow.py) against a real MLflow tracking server that the tests start on
127.0.0.1, and against the default local store. The run is a real one, made by the pipeline with the rule-based test
LLM (tests/fixtures/rule_backend.py, canned replies); the tracker is then given the loop's calls in the loop's order
(run started, each attempt recorded, run finished) from that run's records.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from omegaconf import OmegaConf

from copilot.execution.report import RunSummary, load_attempts
from copilot.tracking.base import RunInfo, build_observers, build_trackers
from tests.test_pipeline import REPO, rules_run

mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (pip install 'copilot[tracking]')")
from mlflow import MlflowClient  # noqa: E402

from copilot.tracking.mlflow import STATE_FILE, MlflowTracker  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """`mlflow server` on a free port of 127.0.0.1 with a SQLite store and proxied artifacts; its URI. The module's
    pipeline run is made while the server starts (each takes some 15-30 s on two busy cores)."""
    home = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}", "--artifacts-destination", str(home / "artifacts")],
        cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    try:
        request.getfixturevalue("real_run")
        uri = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the MLflow server did not answer within 90 s"
            time.sleep(0.3)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:  # uvicorn waits for idle keep-alive connections; this one is ours to end
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A whole run with the rule-based test LLM (canned replies): baseline, a failed draft, a working improvement."""
    tmp = tmp_path_factory.mktemp("tracked")
    run = tmp / "run"
    done = rules_run(tmp, run, "idea.num_hypotheses=1", "execution.max_attempts=3", backend="PartsBackend")
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def copy_run(run: Path, target: Path) -> Path:
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("tracking", "mlflow", "workspace", "snapshot"))
    return target


def replay(tracker, run: Path) -> None:
    """The calls the execution loop makes, in its order, from the run's records."""
    tracker.run_started(run, RunInfo.model_validate_json((run / "run.json").read_text()))
    for attempt in load_attempts(run):
        tracker.attempt_recorded(run, attempt)
    tracker.run_finished(run, RunSummary.model_validate_json((run / "summary.json").read_text()))


def children(client: MlflowClient, experiment_id: str, run_id: str) -> dict:
    found = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
    return {r.data.tags["copilot.attempt"]: r for r in found}


def test_the_config_group_builds_the_tracker_and_none_builds_nothing(tmp_path):
    from hydra import compose, initialize_config_dir

    from copilot.config import validate_config
    from copilot.view.observer import PageObserver

    # `tracking` joins conf/config.yaml's defaults when the loop is wired; until then it is added with `+`.
    group = "tracking" if "tracking:" in (REPO / "conf" / "config.yaml").read_text() else "+tracking"
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["task=tabular-digits", f"{group}=mlflow",
                                           "tracking.tracking_uri=http://127.0.0.1:5999", "tracking.experiment=x"])
        validate_config(cfg)  # every key of conf/tracking/mlflow.yaml is a parameter of MlflowTracker
        trackers = build_trackers(cfg.tracking)
        assert len(trackers) == 1 and isinstance(trackers[0], MlflowTracker)
        assert (trackers[0].tracking_uri, trackers[0].experiment, trackers[0].artifacts) == (
            "http://127.0.0.1:5999", "x", True)
        observers = build_observers(cfg)
        assert [type(o) for o in observers] == [PageObserver, MlflowTracker]
        none = compose("config", overrides=["task=tabular-digits", f"{group}=none"])
        validate_config(none)
        assert build_trackers(none.tracking) == [] and [type(o) for o in build_observers(none)] == [PageObserver]
    assert build_trackers(None) == []
    assert build_trackers(OmegaConf.create({"_target_": "copilot.tracking.base.NoTracker"})) == []


def test_tracking_mlflow_without_the_package_is_one_line_naming_the_extra(monkeypatch):
    import importlib.util

    from copilot.errors import UserError

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else find_spec(name, *a))
    with pytest.raises(UserError, match=r"^tracking=mlflow: the mlflow package is not installed \(pip install "
                                        r"'copilot\[tracking\]'\)$"):
        build_trackers(OmegaConf.create({"_target_": "copilot.tracking.mlflow.MlflowTracker"}))


@pytest.mark.slow
def test_a_run_and_each_attempt_are_logged_to_a_tracking_server(server, real_run, tmp_path):
    run = copy_run(real_run, tmp_path / "run")
    from copilot.view import write_run_page

    write_run_page(run)  # the page observer runs first in a wired run; its page is one of the run's artifacts
    tracker = MlflowTracker(tracking_uri=server)
    replay(tracker, run)
    assert not tracker.disabled
    client = MlflowClient(tracking_uri=server)
    experiment = client.get_experiment_by_name("copilot/tabular-digits")
    state = json.loads((run / STATE_FILE).read_text())
    assert experiment is not None and state["experiment_id"] == experiment.experiment_id
    parent = client.get_run(state["run_id"])
    info = json.loads((run / "run.json").read_text())
    params = parent.data.params
    assert (params["task"], params["llm"], params["model"], params["seed"]) == (
        "tabular-digits", info["llm"], info["model"], str(info["config"]["seed"]))
    assert params["hypothesis"] == json.loads((run / "idea" / "chosen.json").read_text())["title"]
    assert params["config.execution.max_attempts"] == "3"
    summary = json.loads((run / "summary.json").read_text())
    metrics = parent.data.metrics
    for key in ("baseline", "best", "improvement_abs", "improvement_rel", "prompt_tokens", "completion_tokens",
                "cost_usd", "wall_time_s"):
        assert metrics[key] == pytest.approx(summary[key]), key
    assert metrics["reproduced"] == pytest.approx(summary["reexecution"]["reproduced"])
    assert parent.info.status == "FINISHED" and parent.data.tags["copilot.verification"] == "reproduced"
    attempts = load_attempts(run)
    history = client.get_metric_history(state["run_id"], "accuracy")
    assert [(m.step, m.value) for m in history] == [
        (int(a.id[1:]), pytest.approx(a.metric)) for a in attempts if a.metric is not None]
    artifacts = {a.path for a in client.list_artifacts(state["run_id"])}
    assert {"report.md", "summary.json", "metric.png", "run.html", "run.json"} <= artifacts
    report = client.download_artifacts(state["run_id"], "report.md", str(tmp_path))
    assert Path(report).read_text() == (run / "report.md").read_text()
    nested = children(client, experiment.experiment_id, state["run_id"])
    assert sorted(nested) == [a.id for a in attempts]
    for attempt in attempts:
        child = nested[attempt.id]
        assert child.info.run_name == f"{attempt.id} {attempt.kind}"
        assert child.data.params["kind"] == attempt.kind and child.data.params["parent"] == (attempt.parent or "")
        assert child.data.params["status"] == attempt.status
        assert child.data.metrics["duration_s"] == pytest.approx(attempt.duration_s)
        assert child.data.metrics["prompt_tokens"] == attempt.prompt_tokens
        assert child.info.status == ("FINISHED" if attempt.status == "ok" else "FAILED")
        if attempt.metric is not None:
            assert child.data.metrics["accuracy"] == pytest.approx(attempt.metric)
        else:
            assert "accuracy" not in child.data.metrics
            error = client.download_artifacts(child.info.run_id, "error.txt", str(tmp_path / attempt.id))
            assert Path(error).read_text() == attempt.error
        if attempt.code_diff:
            diff = client.download_artifacts(child.info.run_id, "code.diff", str(tmp_path / f"{attempt.id}-diff"))
            assert Path(diff).read_text() == attempt.code_diff


@pytest.mark.slow
def test_a_resumed_run_logs_into_the_same_mlflow_run_and_no_attempt_twice(server, real_run, tmp_path):
    run = copy_run(real_run, tmp_path / "run")
    replay(MlflowTracker(tracking_uri=server, experiment="resume-test"), run)
    client = MlflowClient(tracking_uri=server)
    state = json.loads((run / STATE_FILE).read_text())
    # A kill right after the last attempt's record was written and before MLflow heard of it:
    last = sorted(state["attempts"])[-1]
    client.delete_run(state["attempts"].pop(last))
    (run / STATE_FILE).write_text(json.dumps(state))
    resumed = MlflowTracker(tracking_uri=server, experiment="resume-test")
    info = RunInfo.model_validate_json((run / "run.json").read_text())
    resumed.run_started(run, info.model_copy(update={"llm": "claude"}))  # resume=<run> llm=claude
    resumed.run_finished(run, RunSummary.model_validate_json((run / "summary.json").read_text()))
    again = json.loads((run / STATE_FILE).read_text())
    assert again["run_id"] == state["run_id"] and last in again["attempts"]
    tracked = client.get_run(state["run_id"]).data
    assert tracked.params["llm"] == info.llm and tracked.tags["resumed.llm"] == "claude"  # params cannot change
    nested = children(client, state["experiment_id"], state["run_id"])
    assert sorted(nested) == [a.id for a in load_attempts(run)]  # each attempt once
    runs = client.search_runs([state["experiment_id"]], filter_string="tags.`copilot.run_dir` LIKE '%'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"


@pytest.mark.slow
def test_a_tracking_server_that_is_down_is_one_warning_and_the_run_goes_on(real_run, tmp_path, caplog):
    run = copy_run(real_run, tmp_path / "run")
    tracker = MlflowTracker(tracking_uri=f"http://127.0.0.1:{free_port()}", http_retries=0, http_timeout_s=2)
    with caplog.at_level("WARNING", logger="copilot.tracking"):
        replay(tracker, run)
    warnings = [r.getMessage() for r in caplog.records if r.name == "copilot.tracking"]
    assert len(warnings) == 1 and "the run goes on without MLflow" in warnings[0], warnings
    assert tracker.disabled and not (run / STATE_FILE).exists()
    # Our own misuse is a bug, not a service failure: it is raised, not turned into a warning.
    with pytest.raises(RuntimeError, match="run_started must be called"):
        MlflowTracker(tracking_uri="http://127.0.0.1:1").attempt_recorded(run, load_attempts(run)[0])


@pytest.mark.slow
def test_by_default_the_store_is_local_under_the_run_directory(real_run, tmp_path):
    run = copy_run(real_run, tmp_path / "run")
    replay(MlflowTracker(), run)
    database = run / "mlflow" / "mlflow.db"
    assert database.is_file()
    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    experiment = client.get_experiment_by_name("copilot/tabular-digits")
    state = json.loads((run / STATE_FILE).read_text())
    assert experiment is not None and experiment.artifact_location == (run / "mlflow" / "artifacts").as_uri()
    assert sorted(children(client, experiment.experiment_id, state["run_id"])) == [a.id for a in load_attempts(run)]
    assert list((run / "mlflow" / "artifacts").rglob("report.md"))


@pytest.mark.slow
def test_a_sweep_is_one_experiment_with_a_run_per_job(server, real_run, tmp_path):
    from copilot.sweep import SweepSummaryCallback

    sweep = tmp_path / "2031-01-02_03-04-05"
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}},
                               "tracking": {"_target_": "copilot.tracking.mlflow.MlflowTracker",
                                            "tracking_uri": server}})
    callback = SweepSummaryCallback()
    callback.on_multirun_start(config)
    client = MlflowClient(tracking_uri=server)
    experiment = client.get_experiment_by_name(f"copilot-sweep/{sweep.name}")
    assert experiment is not None  # made before any job starts
    (sweep / "multirun.yaml").write_text("hydra: {}\n")  # Hydra writes it at the start of a multirun
    jobs = []
    for seed in (0, 1):
        job = copy_run(real_run, sweep / f"{seed}_tabular-digits_rules_s{seed}")
        (job / ".hydra" / "overrides.yaml").write_text(f"- task=tabular-digits\n- seed={seed}\n")
        replay(MlflowTracker(tracking_uri=server), job)
        jobs.append(job)
    callback.on_multirun_end(config)
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`copilot.sweep_dir` LIKE '%'")
    assert sorted(r.info.run_name for r in runs) == sorted(job.name for job in jobs)
    for job in jobs:
        state = json.loads((job / STATE_FILE).read_text())
        assert state["experiment_id"] == experiment.experiment_id
        assert sorted(children(client, experiment.experiment_id, state["run_id"])) == [
            a.id for a in load_attempts(job)]
    note = client.get_experiment(experiment.experiment_id).tags["mlflow.note.content"]
    assert note == (sweep / "sweep_summary.md").read_text() and "| 0_tabular-digits_rules_s0 |" in note
    assert (sweep / "index.html").is_file()


@pytest.mark.slow
def test_a_whole_run_through_the_cli_reaches_the_server_and_writes_its_page(server, tmp_path):
    """Wired end to end (rule-based test LLM, canned replies): `tracking=mlflow` logs the run and each attempt as the
    loop records them, and run.html is written by the page observer, finished (no reload)."""
    run = tmp_path / "run"
    done = rules_run(tmp_path, run, "idea.num_hypotheses=1", "tracking=mlflow", f"tracking.tracking_uri={server}",
                     "tracking.experiment=wired")
    assert done.returncode == 0, done.stderr[-3000:]
    page = (run / "run.html").read_text()
    assert "a001" in page and 'data-live="false"' in page
    state = json.loads((run / STATE_FILE).read_text())
    client = MlflowClient(tracking_uri=server)
    assert client.get_run(state["run_id"]).info.status == "FINISHED"
    experiment = client.get_experiment_by_name("wired")
    assert sorted(children(client, experiment.experiment_id, state["run_id"])) == [a.id for a in load_attempts(run)]
