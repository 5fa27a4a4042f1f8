"""`tracking=mlflow`: a run and each of its attempts logged to MLflow, while the run goes on.

Mapping (a sweep is one experiment, each job one run, each attempt a nested run):
- experiment: `tracking.experiment`, else `copilot/<task>` for a single run, `copilot-sweep/<sweep folder>` for a job
  of a Hydra multirun (found by the `multirun.yaml` Hydra writes in the sweep folder);
- the run: params task, llm, model, seed, hypothesis (the one chosen at stage 1's gate, once recorded) and the
  flattened configuration (`config.<key>`); the measured metric per attempt as a step series (step = attempt index,
  so MLflow's chart is the run's metric plot); at the end baseline, best, improvements, tokens, cost, wall time and
  the re-execution's metric; artifacts report.md, summary.json, metric.png, run.html, run.json;
- each attempt: a nested run (MLflow's `mlflow.parentRunId`) named `<id> <kind>`, params kind, parent, hypothesis,
  command, status; metrics the measured metric, duration, tokens, cost; artifacts code.diff, error.txt, attempt.json.
  Nested runs rather than steps of the run because an attempt has its own params and artifacts (its diff above all),
  which steps cannot carry, and nested runs can be filtered and compared in MLflow's UI (`params.kind = 'debug'`).

The MLflow ids are kept in `tracking/mlflow.json` of the run directory, so a resumed run logs into the same MLflow run
and an attempt is never logged twice; attempts recorded while MLflow was off are logged when the run (re)starts.

A failure of MLflow (server down, store unwritable) is one warning and the tracker stops; the run goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from copilot.errors import UserError
from copilot.execution.attempt import Attempt
from copilot.execution.report import RunSummary, load_attempts
from copilot.rundir import write_json_atomic
from copilot.tracking.base import RunInfo

log = logging.getLogger("copilot.tracking")

STATE_FILE = "tracking/mlflow.json"
STORE_DIR = "mlflow"
"""The default local store: `<run dir>/mlflow/` (`<sweep dir>/mlflow/` for the jobs of a sweep)."""
PARAM_CHARS = 500
BATCH = 100  # MLflow's limit on params (and tags) per log_batch call


class MlflowState(BaseModel):
    """`tracking/mlflow.json`: where this run was logged, and which attempts are."""

    tracking_uri: str
    experiment_id: str
    run_id: str
    attempts: dict[str, str] = Field(default_factory=dict, description="attempt id -> its nested MLflow run id")
    hypothesis: str = ""


def sweep_dir_of(run_dir: Path) -> Path | None:
    """The Hydra sweep folder that holds `run_dir` as a job, or None for a single run."""
    return run_dir.parent if (run_dir.parent / "multirun.yaml").is_file() else None


def metric_key(name: str) -> str:
    """`name` as an MLflow key (letters, digits, `_ - . / space`; anything else becomes `_`)."""
    return re.sub(r"[^\w\-. /]", "_", name) or "metric"


def flatten(config: Any, prefix: str = "config") -> dict[str, str]:
    """Scalar leaves of a nested config as `prefix.a.b` -> text (lists as JSON), cut to MLflow-friendly lengths."""
    out: dict[str, str] = {}
    if isinstance(config, dict):
        for key, value in config.items():
            out.update(flatten(value, f"{prefix}.{key}"))
        return out
    text = json.dumps(config) if isinstance(config, list) else str(config)
    out[metric_key(prefix)] = text[:PARAM_CHARS]
    return out


class MlflowTracker:
    """Logs a run and its attempts to MLflow (see the module docstring for what goes where)."""

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None, artifacts: bool = True,
                 http_retries: int = 1, http_timeout_s: int = 20) -> None:
        """`tracking_uri` None: a local SQLite store under the run directory (the sweep directory for a sweep's
        jobs). `artifacts`: also upload the diffs, report and page. `http_retries`, `http_timeout_s`: for a remote
        server, bounds on MLflow's own retries (its defaults wait minutes on a server that is down); the
        `MLFLOW_HTTP_REQUEST_*` environment variables win when set."""
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            raise UserError("tracking=mlflow: the mlflow package is not installed (pip install 'copilot[tracking]')")
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.artifacts = artifacts
        self.environment = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(http_retries),
                            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(http_timeout_s),
                            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # no "View run at" lines
                            "MLFLOW_DISABLE_TELEMETRY": "true"}  # MLflow's usage reports: copilot works offline
        self.disabled = False
        self._client: Any = None
        self._state: MlflowState | None = None

    # -- the observer ------------------------------------------------------------------------------------------
    def run_started(self, run_dir: Path, info: RunInfo) -> None:
        """Open (or, on resume, reopen) this run's MLflow run and log what is recorded already."""
        self._guard("logging the run's start", lambda: self._start(run_dir, info))

    def attempt_recorded(self, run_dir: Path, attempt: Attempt) -> None:
        """Log `attempt` as a nested run, and its metric as the run's next step."""
        self._guard(f"logging attempt {attempt.id}", lambda: self._attempt(run_dir, attempt))

    def run_finished(self, run_dir: Path, summary: RunSummary) -> None:
        """Log the summary's numbers and the report's files, and end the MLflow run."""
        self._guard("logging the run's end", lambda: self._finish(run_dir, summary))

    # -- a sweep (called by copilot.sweep's callback in the sweep's own process) --------------------------------
    def sweep_started(self, sweep_dir: Path) -> None:
        """Create the sweep's store and experiment before its jobs start (parallel jobs would race to create them)."""
        self._guard("creating the sweep's experiment", lambda: self._experiment_id(
            self._connect(sweep_dir), self.experiment or f"copilot-sweep/{sweep_dir.name}", sweep_dir))

    def sweep_finished(self, sweep_dir: Path, summary_md: str) -> None:
        """Put the sweep table in the experiment's description (what MLflow's UI shows above its runs)."""

        def describe() -> None:
            client = self._connect(sweep_dir)
            experiment_id = self._experiment_id(client, self.experiment or f"copilot-sweep/{sweep_dir.name}",
                                                sweep_dir)
            client.set_experiment_tag(experiment_id, "mlflow.note.content", summary_md)

        self._guard("describing the sweep's experiment", describe)

    # -- guarded work ------------------------------------------------------------------------------------------
    def _guard(self, what: str, work: Any) -> None:
        if self.disabled:
            return
        from mlflow.exceptions import MlflowException

        try:
            work()
        except (MlflowException, OSError) as error:  # the service or its store failed: not a bug of ours
            self.disabled = True
            log.warning("tracking: MLflow failed while %s (%s: %s); the run goes on without MLflow", what,
                        type(error).__name__, str(error).splitlines()[0][:300] if str(error) else "")

    def _connect(self, home: Path) -> Any:
        if self._client is not None:
            return self._client
        for name, value in self.environment.items():
            os.environ.setdefault(name, value)
        from mlflow import MlflowClient

        uri = self.tracking_uri
        if uri is None:
            store = home / STORE_DIR
            store.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{store / 'mlflow.db'}"
        self._client = MlflowClient(tracking_uri=uri)
        return self._client

    def _experiment_id(self, client: Any, name: str, home: Path) -> str:
        from mlflow.exceptions import MlflowException

        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = (home / STORE_DIR / "artifacts").as_uri() if self.tracking_uri is None else None
        try:
            return str(client.create_experiment(name, artifact_location=location,
                                                tags={"copilot.home": str(home)}))
        except MlflowException:  # another job of the sweep created it meanwhile
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def _start(self, run_dir: Path, info: RunInfo) -> None:
        from mlflow.entities import Param, RunTag

        sweep = sweep_dir_of(run_dir)
        client = self._connect(sweep or run_dir)
        state_path = run_dir / STATE_FILE
        state = MlflowState.model_validate_json(state_path.read_text()) if state_path.is_file() else None
        if state is not None and state.tracking_uri == client.tracking_uri:
            client.update_run(state.run_id, status="RUNNING")
            existing = client.get_run(state.run_id).data.params
        else:
            name = self.experiment or (f"copilot-sweep/{sweep.name}" if sweep else f"copilot/{info.task}")
            experiment_id = self._experiment_id(client, name, sweep or run_dir)
            tags = {"copilot.run_dir": str(run_dir), "copilot.task": info.task, "copilot.llm": info.llm}
            if sweep is not None:
                tags["copilot.sweep_dir"] = str(sweep)
            run = client.create_run(experiment_id, tags=tags, run_name=run_dir.name)
            state = MlflowState(tracking_uri=client.tracking_uri, experiment_id=experiment_id, run_id=run.info.run_id)
            existing = {}
        self._state = state
        params = {"task": info.task, "llm": info.llm, "model": info.model,
                  "seed": "" if info.seed is None else str(info.seed), **flatten(info.config)}
        new = [Param(k, v) for k, v in params.items() if k not in existing]
        changed = [RunTag(f"resumed.{k}", v) for k, v in params.items() if k in existing and existing[k] != v]
        for i in range(0, max(len(new), len(changed)), BATCH):
            client.log_batch(state.run_id, params=new[i:i + BATCH], tags=changed[i:i + BATCH])
        if self.artifacts and (run_dir / "run.json").is_file():
            client.log_artifact(state.run_id, str(run_dir / "run.json"))
        self._save(run_dir)
        for attempt in load_attempts(run_dir):  # recorded before MLflow was on (or before a kill)
            if attempt.id not in state.attempts:
                self._attempt(run_dir, attempt)

    def _attempt(self, run_dir: Path, attempt: Attempt) -> None:
        from mlflow.entities import Metric, Param

        state = self._require_state()
        if attempt.id in state.attempts:
            return
        client = self._client
        self._log_hypothesis(run_dir)
        child = client.create_run(state.experiment_id, run_name=f"{attempt.id} {attempt.kind}",
                                  tags={"mlflow.parentRunId": state.run_id, "copilot.attempt": attempt.id,
                                        "copilot.status": attempt.status})
        child_id = child.info.run_id
        now = int(time.time() * 1000)
        index = int(attempt.id[1:]) if attempt.id[1:].isdigit() else len(state.attempts)
        metrics = [Metric("duration_s", attempt.duration_s, now, 0),
                   Metric("prompt_tokens", attempt.prompt_tokens, now, 0),
                   Metric("completion_tokens", attempt.completion_tokens, now, 0),
                   Metric("cost_usd", attempt.cost_usd, now, 0)]
        parent_metrics = [Metric("attempt_duration_s", attempt.duration_s, now, index)]
        if attempt.metric is not None and attempt.measurement is not None:
            key = metric_key(attempt.measurement.metric)
            metrics.append(Metric(key, attempt.metric, now, 0))
            parent_metrics.append(Metric(key, attempt.metric, now, index))
        params = [Param("kind", attempt.kind), Param("parent", attempt.parent or ""),
                  Param("hypothesis", attempt.hypothesis[:PARAM_CHARS]),
                  Param("command", attempt.command[:PARAM_CHARS]), Param("status", attempt.status)]
        client.log_batch(child_id, metrics=metrics, params=params)
        client.log_batch(state.run_id, metrics=parent_metrics)
        if self.artifacts:
            if attempt.code_diff:
                client.log_text(child_id, attempt.code_diff, "code.diff")
            error = attempt.error or (attempt.run.stderr_tail if attempt.run and not attempt.run.ok else "")
            if error:
                client.log_text(child_id, error, "error.txt")
            record = run_dir / "attempts" / attempt.id / "attempt.json"
            if record.is_file():
                client.log_artifact(child_id, str(record))
        client.set_terminated(child_id, status="FINISHED" if attempt.status == "ok" else "FAILED")
        state.attempts[attempt.id] = child_id
        self._save(run_dir)

    def _finish(self, run_dir: Path, summary: RunSummary) -> None:
        from mlflow.entities import Metric, RunTag

        state = self._require_state()
        client = self._client
        self._log_hypothesis(run_dir)
        now = int(time.time() * 1000)
        values: dict[str, float | None] = {
            "baseline": summary.baseline, "best": summary.best, "improvement_abs": summary.improvement_abs,
            "improvement_rel": summary.improvement_rel, "success": float(summary.success),
            "prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens,
            "cached_prompt_tokens": summary.cached_prompt_tokens, "cost_usd": summary.cost_usd,
            "wall_time_s": summary.wall_time_s,
            "reproduced": summary.reexecution.reproduced if summary.reexecution else None,
            **{f"attempts_{status}": count for status, count in summary.attempts.items()}}
        metrics = [Metric(key, float(value), now, 0) for key, value in values.items() if value is not None]
        tags = [RunTag("copilot.metric", f"{summary.metric} ({summary.direction})"),
                RunTag("copilot.best_attempt", summary.best_attempt or "")]
        if summary.reexecution is not None:
            tags.append(RunTag("copilot.verification", "reproduced" if summary.reexecution.ok else "MISMATCH"))
        client.log_batch(state.run_id, metrics=metrics, tags=tags)
        if self.artifacts:
            for name in ("report.md", "summary.json", "metric.png", "run.html"):
                if (run_dir / name).is_file():
                    client.log_artifact(state.run_id, str(run_dir / name))
        client.set_terminated(state.run_id, status="FINISHED")

    def _log_hypothesis(self, run_dir: Path) -> None:
        state = self._require_state()
        chosen = run_dir / "idea" / "chosen.json"
        if state.hypothesis or not chosen.is_file():
            return
        title = str(json.loads(chosen.read_text(encoding="utf-8")).get("title", ""))
        if title:
            self._client.log_param(state.run_id, "hypothesis", title[:PARAM_CHARS])
            state.hypothesis = title
            self._save(run_dir)

    def _require_state(self) -> MlflowState:
        if self._state is None:
            raise RuntimeError("MlflowTracker: run_started must be called before attempts and the end are logged")
        return self._state

    def _save(self, run_dir: Path) -> None:
        write_json_atomic(run_dir / STATE_FILE, self._require_state())
