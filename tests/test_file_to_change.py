"""Which file the whole-file and edit agents work on (`copilot.starter.file_to_change`), and how long it is decides
between them (`choose_agent`): the run command's script, unless the problem names other Python files of the
workspace and not that script. Built on the real suite's sat-heuristic (its problem text verbatim in
problems/sat-heuristic/task.yaml) and on tasks made here."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from copilot.experiment.agents import choose_agent
from copilot.starter import file_to_change, starter_script
from copilot.task import load_task

ROOT = Path(__file__).resolve().parent.parent


def task_with(tmp_path: Path, problem: str, files: dict[str, str], run: str = "python solver.py",
              read_only: tuple[str, ...] = ("evaluate.py",)) -> object:
    workspace = tmp_path / "workspaces" / "t"
    workspace.mkdir(parents=True)
    for name, text in {"evaluate.py": "print('METRIC x=1')\n", **files}.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    problem_dir = tmp_path / "problems" / "t"
    problem_dir.mkdir(parents=True)
    spec = {"title": "t", "problem": problem, "workspace": "../../workspaces/t", "run": run,
            "evaluate": "python evaluate.py", "metric": {"name": "x", "direction": "minimize"},
            "read_only": list(read_only)}
    (problem_dir / "task.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(spec)))
    return load_task("t", tmp_path / "problems", tmp_path / "workspaces")


def test_the_file_the_problem_names_is_the_one_changed_and_its_length_chooses_the_agent(tmp_path):
    solver = "\n".join(f"x{i} = {i}" for i in range(300)) + "\nfrom heuristic import pick\n"
    task = task_with(tmp_path, "Write a better heuristic in `heuristic.py`; evaluate.py times it.",
                     {"solver.py": solver, "heuristic.py": "def pick(c):\n    return c[0]\n"})
    assert file_to_change(task) == "heuristic.py"
    assert starter_script(task) == "def pick(c):\n    return c[0]\n"
    auto = OmegaConf.create({"name": "auto"})
    assert choose_agent(auto, "rewrite", "python solver.py", task.workspace)[0] == "edit", "by the 301-line solver"
    assert choose_agent(auto, "rewrite", "python solver.py", task.workspace, file_to_change(task))[0] == "rewrite"


def test_the_run_script_stays_when_the_problem_names_it_or_no_other_python_file(tmp_path):
    files = {"solver.py": "print(1)\n", "heuristic.py": "x = 1\n", "data/notes.txt": "heuristic.py"}
    assert file_to_change(task_with(tmp_path / "a", "Change solver.py and heuristic.py.", files)) == "solver.py"
    assert file_to_change(task_with(tmp_path / "b", "Make it faster.", files)) == "solver.py"
    assert file_to_change(task_with(tmp_path / "c", "Do not change evaluate.py or utils/heuristic.py.", files)) \
        == "solver.py", "the evaluation is the task's own; a path inside another folder is not heuristic.py"
    assert file_to_change(task_with(tmp_path / "d", "Edit heuristic.py.", files, run="bash run.sh")) is None


def test_the_real_suite_and_demo_tasks_work_on_the_files_their_problems_say():
    expected = {"sat-heuristic": "heuristic.py", "mcts-implement": "mcts.py", "prisoners-dilemma": "strategy.py",
                "blotto": "strategy.py", "tabular-digits": "train.py", "diabetes-gbr": "train.py"}
    for name, script in expected.items():
        task = load_task(name, ROOT / "problems", ROOT / "workspaces")
        assert file_to_change(task) == script, name
