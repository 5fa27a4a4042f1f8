"""The MLAgentBench importer on the small task in tests/fixtures/mlagentbench_task (a house-price regression in
MLAgentBench's layout): the produced task loads, its run + evaluate commands really score a submission with the
task's own get_score(), guesses are recorded, and bad folders give one-line errors without writing anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from copilot.errors import UserError
from copilot.importers import mlagentbench
from copilot.importers.mlagentbench import EVAL_DIR, expand_read_only, guess_metric, import_mlagentbench, main
from copilot.task import load_task

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mlagentbench_task"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A private copy of the fixture task, safe to modify."""
    target = tmp_path / "src" / "house-price"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """Empty problems/ and workspaces/ folders."""
    return tmp_path / "problems", tmp_path / "workspaces"


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _two_scripts_without_train(env: Path) -> None:
    (env / "train.py").rename(env / "a.py")
    (env / "b.py").write_text("")


def _nothing_written(problems: Path, workspaces: Path) -> bool:
    return not any(problems.glob("*")) and not any(workspaces.glob("*"))


def test_import_produces_a_loadable_task(src: Path, dirs: tuple[Path, Path]) -> None:
    problems, workspaces = dirs
    name = import_mlagentbench(src, problems, workspaces)
    assert name == "house-price"
    task = load_task(name, problems, workspaces)
    assert task.spec.metric.name == "mae" and task.spec.metric.direction == "minimize"
    assert task.spec.run == "python train.py" and task.spec.evaluate == "python evaluate.py"
    assert task.problem_text == (src / "scripts" / "research_problem.txt").read_text().strip()
    assert task.spec.read_only == ["evaluate.py", "mlagentbench_eval/eval.py", "data_description.txt", "test.csv",
                                   "train.csv"]
    assert task.spec.hidden == ["mlagentbench_eval/answer.csv"]  # scripts/ was never the agent's in MLAgentBench
    copied = sorted(p.relative_to(task.workspace).as_posix() for p in task.workspace.rglob("*") if p.is_file())
    assert copied == ["data_description.txt", "evaluate.py", "mlagentbench_eval/answer.csv",
                      "mlagentbench_eval/eval.py", "test.csv", "train.csv", "train.py"]
    assert (task.workspace / "mlagentbench_eval" / "eval.py").read_bytes() == (src / "scripts/eval.py").read_bytes()


def test_guesses_are_recorded_as_comments(src: Path, dirs: tuple[Path, Path]) -> None:
    import_mlagentbench(src, *dirs)
    text = (dirs[0] / "house-price" / "task.yaml").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("metric: 'mae' (guessed: 'mae' in the return value of get_score()" in line for line in header)
    assert any("direction: 'minimize' (guessed" in line for line in header)
    assert any("run: 'python train.py' (guessed: env/train.py exists)" in line for line in header)
    assert any("prepare.py was not run" in line for line in header)
    assert any("matched no file: images/*" in line for line in header)
    assert any("hidden (only the evaluation sees them): mlagentbench_eval/answer.csv" in line for line in header)
    assert any("no env/ file is hidden" in line for line in header)
    assert "problem: |" in text, "the research problem should be a readable literal block"


def test_imported_run_and_evaluate_score_with_the_tasks_own_eval(src: Path, dirs: tuple[Path, Path]) -> None:
    problems, workspaces = dirs
    task = load_task(import_mlagentbench(src, problems, workspaces), problems, workspaces)
    assert _shell(task.spec.run, task.workspace).returncode == 0
    evaluation = _shell(task.spec.evaluate, task.workspace)
    assert evaluation.returncode == 0, evaluation.stderr
    results = json.loads((task.workspace / "results.json").read_text())
    submission = pd.read_csv(task.workspace / "submission.csv")
    answers = pd.read_csv(src / "scripts" / "answer.csv")
    expected = (submission.set_index("Id")["SalePrice"] - answers.set_index("Id")["SalePrice"]).abs().mean()
    assert results == {"metric": "mae", "value": pytest.approx(expected)}
    assert f"METRIC mae={results['value']}" in evaluation.stdout
    assert not (src / "env" / "submission.csv").exists(), "the source folder must stay untouched"


def test_env_answers_named_as_hidden_reach_only_the_evaluation(src: Path, dirs: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    """scripts/hidden_files.txt and --hidden hold out env files; the loop's baseline in the real sandbox then runs
    train.py without any answer file and the task's own get_score() with them."""
    from copilot.execution.loop import ExecutionLoop
    from copilot.feedback.auto import AutoFeedback
    from copilot.rundir import RunDir
    from copilot.sandbox.local import LocalSandbox

    shutil.copy(src / "scripts" / "answer.csv", src / "env" / "solution.csv")
    (src / "env" / "notes.md").write_text("kept out too\n")
    (src / "scripts" / "hidden_files.txt").write_text("# answers kept in env/\n./solution*\nlabels/*\n")
    (src / "scripts" / "read_only_files.txt").write_text("./*.csv\n")
    problems, workspaces = dirs
    task = load_task(import_mlagentbench(src, problems, workspaces, hidden=["notes.md"]), problems, workspaces)
    assert task.spec.hidden == ["mlagentbench_eval/answer.csv", "notes.md", "solution.csv"]
    assert task.spec.read_only == ["evaluate.py", "mlagentbench_eval/eval.py", "test.csv", "train.csv"]
    assert not (task.workspace / EVAL_DIR / "hidden_files.txt").exists()
    header = (problems / task.name / "task.yaml").read_text()
    assert "hidden patterns that matched no file: labels/*" in header and "no env/ file is hidden" not in header

    train = (task.workspace / "train.py").read_text()
    (task.workspace / "train.py").write_text("import os\nassert not any(os.path.exists(p) for p in ('solution.csv', "
                                              "'notes.md', 'mlagentbench_eval/answer.csv'))\n" + train)
    loop = ExecutionLoop(task, RunDir(tmp_path / "run"), tmp_path / "run" / "workspace",
                         LocalSandbox(timeout_s=120, python=sys.executable), AutoFeedback(announce=False))
    baseline = loop.run_baseline()
    assert baseline.status == "ok", baseline.error
    (task.workspace / "train.py").write_text(train)
    reference = _shell(f"{task.spec.run} && {task.spec.evaluate}", task.workspace)  # the starter folder has them all
    assert reference.returncode == 0, reference.stderr
    expected = json.loads((task.workspace / "results.json").read_text())["value"]
    assert baseline.metric == pytest.approx(expected)


def test_imported_evaluation_fails_clearly_without_submission(src: Path, dirs: tuple[Path, Path]) -> None:
    problems, workspaces = dirs
    task = load_task(import_mlagentbench(src, problems, workspaces), problems, workspaces)
    evaluation = _shell(task.spec.evaluate, task.workspace)
    assert evaluation.returncode != 0
    assert "get_score() failed: FileNotFoundError" in evaluation.stderr and "submission.csv" in evaluation.stderr
    assert not (task.workspace / "results.json").exists()


def test_existing_task_is_never_overwritten(src: Path, dirs: tuple[Path, Path]) -> None:
    problems, workspaces = dirs
    import_mlagentbench(src, problems, workspaces)
    before = (problems / "house-price" / "task.yaml").read_text()
    with pytest.raises(UserError, match="already exists"):
        import_mlagentbench(src, problems, workspaces, metric="rmse")
    assert (problems / "house-price" / "task.yaml").read_text() == before
    (workspaces / "other").mkdir()
    with pytest.raises(UserError, match=r"workspaces/other already exists"):
        import_mlagentbench(src, problems, workspaces, "other")
    assert not (problems / "other").exists()


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda s: (s / "scripts" / "research_problem.txt").unlink(), r"research_problem\.txt: not found"),
    (lambda s: (s / "scripts" / "research_problem.txt").write_text("\n  \n"), "the research problem is empty"),
    (lambda s: shutil.rmtree(s / "env"), r"env: not found"),
    (lambda s: (s / "scripts" / "eval.py").unlink(), r"eval\.py: not found.*--evaluate"),
    (lambda s: (s / "scripts" / "eval.py").write_text("def score(folder):\n    return 1.0\n"),
     r"defines no get_score"),
    (lambda s: (s / "scripts" / "eval.py").write_text("def get_score(:\n"), r"eval\.py: not valid Python \(line 1"),
    (lambda s: (s / "env" / "evaluate.py").write_text("print(1)\n"), r"evaluate\.py: already exists"),
    (lambda s: _two_scripts_without_train(s / "env"), r"cannot guess the experiment command.*a\.py, b\.py"),
], ids=["no-problem", "empty-problem", "no-env", "no-eval", "no-get-score", "eval-syntax", "wrapper-clash",
        "no-run-guess"])
def test_bad_source_gives_one_line_error_and_writes_nothing(src: Path, dirs: tuple[Path, Path], breakage,
                                                            message: str) -> None:
    breakage(src)
    with pytest.raises(UserError, match=message) as error:
        import_mlagentbench(src, *dirs)
    assert "\n" not in str(error.value)
    assert _nothing_written(*dirs)


def test_not_a_folder_is_refused(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    with pytest.raises(UserError, match="not a folder"):
        import_mlagentbench(tmp_path / "missing", *dirs)


def test_invalid_name_is_refused(src: Path, dirs: tuple[Path, Path]) -> None:
    with pytest.raises(UserError, match=r"task name '\.\./evil'"):
        import_mlagentbench(src, *dirs, "../evil")
    assert _nothing_written(*dirs)


def test_given_evaluate_command_replaces_the_wrapper(src: Path, dirs: tuple[Path, Path]) -> None:
    (src / "scripts" / "eval.py").unlink()
    (src / "env" / "score.py").write_text("print('METRIC r2=0.5')\n")
    name = import_mlagentbench(src, *dirs, metric="r2", direction="maximize", evaluate="python score.py")
    task = load_task(name, *dirs)
    assert task.spec.evaluate == "python score.py" and task.spec.metric.name == "r2"
    assert not (task.workspace / "evaluate.py").exists() and not (task.workspace / "mlagentbench_eval").exists()
    assert "evaluate.py" not in task.spec.read_only
    header = (dirs[0] / name / "task.yaml").read_text()
    assert "metric: 'r2' (given: from the command line)" in header


def test_metric_override_takes_a_known_direction_or_asks_for_one(src: Path, dirs: tuple[Path, Path]) -> None:
    name = import_mlagentbench(src, *dirs, "h1", metric="rmse")
    assert load_task(name, *dirs).spec.metric.direction == "minimize"
    with pytest.raises(UserError, match="cannot tell whether higher or lower is better"):
        import_mlagentbench(src, *dirs, "h2", metric="r2")
    name = import_mlagentbench(src, *dirs, "h3", direction="maximize")
    metric = load_task(name, *dirs).spec.metric
    assert (metric.name, metric.direction, metric.tolerance) == ("mae", "maximize", None)


def test_unknown_metric_everywhere_asks_for_it(src: Path, dirs: tuple[Path, Path]) -> None:
    (src / "scripts" / "eval.py").write_text("def get_score(folder='../env'):\n    return 0.5\n")
    (src / "scripts" / "research_problem.txt").write_text("Make the model better.\n")
    with pytest.raises(UserError, match=r"no known metric.*--metric NAME"):
        import_mlagentbench(src, *dirs)


def test_run_command_from_the_problem_text(src: Path, dirs: tuple[Path, Path]) -> None:
    (src / "env" / "train.py").rename(src / "env" / "fit.py")
    (src / "env" / "utils.py").write_text("")
    (src / "scripts" / "research_problem.txt").write_text("Improve fit.py and report the MAE.\n")
    task = load_task(import_mlagentbench(src, *dirs), *dirs)
    assert task.spec.run == "python fit.py"


def test_failure_while_copying_leaves_nothing_behind(src: Path, dirs: tuple[Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real_copytree = shutil.copytree

    def failing_copytree(source, target, *args, **kwargs):
        if Path(source).name == "scripts":
            raise OSError("disk full")
        return real_copytree(source, target, *args, **kwargs)

    monkeypatch.setattr(mlagentbench.shutil, "copytree", failing_copytree)
    with pytest.raises(OSError, match="disk full"):
        import_mlagentbench(src, *dirs)
    assert _nothing_written(*dirs)


@pytest.mark.parametrize(("text", "expected"), [
    ("acc / len(test_dataset)", ("accuracy", "maximize")),
    ("np.sqrt(mse)", ("mse", "minimize")),
    ("rmse", ("rmse", "minimize")),
    ("f1_score(y, p, average='macro')", ("f1", "maximize")),
    ("macro_f1", ("macro_f1", "maximize")),
    ("roc_auc", ("auc", "maximize")),
    ("Report the SMAPE and the accuracy", ("smape", "minimize")),
    ("list(map(int, values))", None),
    ("score", None),
])
def test_guess_metric(text: str, expected: tuple[str, str] | None) -> None:
    found = guess_metric([(text, "somewhere")])
    assert (found[:2] if found else None) == expected


def test_guess_metric_prefers_the_earlier_source() -> None:
    found = guess_metric([("", "empty"), ("return dice", "eval.py"), ("accuracy", "problem")])
    assert found == ("dice", "maximize", "'dice' in eval.py")


def test_read_only_patterns_follow_mlagentbench(tmp_path: Path) -> None:
    for rel in ("category_key.csv", "images/a/1.png", "images/2.png", "train.py", "sub/category_key.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    matched, unmatched = expand_read_only(tmp_path, ["./category_key.csv", "images/*", "object_detection/*"])
    assert matched == ["category_key.csv", "images/2.png", "images/a/1.png"]
    assert unmatched == ["object_detection/*"]


def test_main_imports_and_reports(src: Path, dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    problems, workspaces = dirs
    code = main([str(src), "--name", "houses", "--problems", str(problems), "--workspaces", str(workspaces),
                 "--hidden", "data_description.txt"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"imported houses: {problems / 'houses' / 'task.yaml'}")
    assert "metric: 'mae' (guessed" in out and "copilot task=houses" in out
    spec = load_task("houses", problems, workspaces).spec
    assert spec.metric.name == "mae" and spec.hidden == ["mlagentbench_eval/answer.csv", "data_description.txt"]
    assert "data_description.txt" not in spec.read_only  # read_only_files.txt names it too; hidden wins
    assert "hidden (only the evaluation sees them): mlagentbench_eval/answer.csv, data_description.txt" in out


def test_main_rejects_a_bad_option(src: Path) -> None:
    with pytest.raises(SystemExit) as error:
        main([str(src), "--direction", "up"])
    assert error.value.code == 2
