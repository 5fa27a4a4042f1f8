"""Paths in task.yaml that would let stage 2 copy the wrong folder into the run (finding 8 of issue 17), and the
fields the sandbox reads from a task (`masked_sources`) or that bind its attempts (`constraints`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from copilot.errors import UserError
from copilot.task import load_task

VALID = {"title": "toy", "metric": {"name": "accuracy", "direction": "maximize"}, "run": "python train.py",
         "evaluate": "python evaluate.py"}


def write_task(tmp_path: Path, **fields) -> tuple[Path, Path, Path]:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    (problems / "toy").mkdir(parents=True)
    (workspaces / "toy").mkdir(parents=True)
    path = problems / "toy" / "task.yaml"
    path.write_text(yaml.safe_dump({**VALID, **fields}))
    return problems, workspaces, path


@pytest.mark.parametrize(("workspace", "reason"), [
    ("/etc", "a system folder"),
    ("/usr/lib", "a system folder"),
    ("/", "the root of the file system"),
    ("../../../../../../../../../..", "the root of the file system"),
    (str(Path.home()), "the home folder or a folder above it"),
    ("../..", "a folder that holds every task"),
], ids=["etc", "usr-lib", "root", "dotdot-to-root", "home", "the-task-tree"])
def test_a_workspace_outside_the_workspaces_root_that_is_a_system_folder_is_one_line(tmp_path, workspace, reason):
    problems, workspaces, path = write_task(tmp_path, workspace=workspace)
    with pytest.raises(UserError) as error:
        load_task("toy", problems, workspaces)
    message = str(error.value)
    assert message.startswith(f"{path}: field 'workspace': '{workspace}' resolves to ") and reason in message
    assert f"use a folder inside {workspaces.resolve()}" in message and "\n" not in message


def test_a_workspace_inside_the_root_or_a_project_folder_of_ones_own_is_accepted(tmp_path):
    problems, workspaces, _ = write_task(tmp_path, workspace="../../workspaces/toy")
    assert load_task("toy", problems, workspaces).workspace == (workspaces / "toy").resolve()
    own = tmp_path / "projects" / "mine"
    own.mkdir(parents=True)
    problems, workspaces, _ = write_task(tmp_path / "b", workspace=str(own))
    assert load_task("toy", problems, workspaces).workspace == own.resolve()
    (tmp_path / "c" / "link").parent.mkdir()
    (tmp_path / "c" / "link").symlink_to("/etc")  # a link is judged by where it leads
    problems, workspaces, _ = write_task(tmp_path / "d", workspace=str(tmp_path / "c" / "link"))
    with pytest.raises(UserError, match="resolves to /etc, a system folder"):
        load_task("toy", problems, workspaces)


@pytest.mark.parametrize(("masked", "problem"), [
    ([""], "must name a module"),
    (["sklearn/../../etc"], "must not contain '..'"),
    (["not a module"], "neither a dotted module name nor a path"),
])
def test_masked_sources_must_name_a_module_or_a_path(tmp_path, masked, problem):
    problems, workspaces, path = write_task(tmp_path, masked_sources=masked)
    with pytest.raises(UserError, match=problem) as error:
        load_task("toy", problems, workspaces)
    assert f"{path}: field 'masked_sources" in str(error.value)


def test_masked_sources_and_constraints_are_kept_as_written(tmp_path):
    masked = ["statsmodels.datasets.co2", "sklearn/datasets/data/digits.csv.gz", "/opt/data/answers.csv"]
    problems, workspaces, _ = write_task(tmp_path, masked_sources=masked, constraints=[" use only numpy "])
    spec = load_task("toy", problems, workspaces).spec
    assert spec.masked_sources == masked and spec.constraints == ["use only numpy"]
    problems, workspaces, _ = write_task(tmp_path / "b", constraints=["  "])
    with pytest.raises(UserError, match=r"field .constraints.*non-empty"):
        load_task("toy", problems, workspaces)
