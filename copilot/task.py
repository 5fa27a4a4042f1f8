"""A task: what to read, where the starter code is, how an experiment runs and how it is measured.

Two forms are accepted:
- `problems/<task>/task.yaml` (validated by `TaskSpec`; paths in it are relative to that folder);
- MLR-Copilot's plain-text `problems/<task>` file holding the research problem, with `workspaces/<task>/`. Its
  measuring settings come from `workspaces/<task>/task.yaml` when present, else from the defaults below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from copilot.errors import UserError

DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
SYSTEM_FOLDERS = tuple(Path(p) for p in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/snap", "/sys",
    "/usr", "/var/backups", "/var/cache", "/var/lib", "/var/log", "/var/mail", "/var/spool"))
"""Folders no task's starter code can be: stage 2 copies the workspace into the run directory, secrets included."""


class MetricSpec(BaseModel):
    """The number that decides which attempt is best, and whether higher or lower is better."""

    model_config = ConfigDict(extra="forbid")

    name: str
    direction: Literal["maximize", "minimize"]
    tolerance: float | None = Field(None, ge=0, le=1, description=(
        "relative difference within which a re-run reproduces a number (default: execution.verify_tolerance); a "
        "metric that varies between runs of the same code, such as CPU time, states how much"))

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is strictly better than `b`."""
        return a > b if self.direction == "maximize" else a < b


class Budgets(BaseModel):
    """Limits of one run; reaching one ends the stage cleanly with what was achieved recorded."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(30, gt=0, description="agent steps (LLM actions) per implementation episode")
    attempts: int = Field(4, gt=0, description="experiment executions after the baseline")
    wall_clock_s: float = Field(1800, gt=0, description="wall-clock seconds for the whole run")
    run_timeout_s: float = Field(300, gt=0, description="seconds one experiment run may take before it is killed")
    tokens: int | None = Field(None, gt=0, description="LLM tokens for the run (prompt + completion)")
    cost_usd: float | None = Field(None, gt=0, description="LLM dollars for the run")


class TaskSpec(BaseModel):
    """The content of `problems/<task>/task.yaml`."""

    model_config = ConfigDict(extra="forbid")

    title: str
    paper: str | None = Field(None, description="a PDF or text file in the task folder, or arxiv:<id>")
    problem: str | None = Field(None, description="the research problem, when there is no paper or to focus it")
    workspace: str | None = Field(None, description="starter code folder; default workspaces/<task>")
    metric: MetricSpec
    run: str = Field(description="command that runs the experiment in the workspace")
    evaluate: str = Field(description="command of the task's own read-only evaluation, run after each experiment")
    results_file: str = Field("results.json", description="file the evaluation writes, relative to the workspace")
    read_only: list[str] = Field(default_factory=list, description="workspace files no action may change")
    hidden: list[str] = Field(default_factory=list, description=(
        "held-out files of the starter folder (test labels, ground truth): never copied into any workspace the "
        "agent or its code sees; put in place, read-only, only while the evaluation runs"))
    repositories: list[str] = Field(default_factory=list, description="prototype code: git URLs or local paths")
    models: list[str] = Field(default_factory=list, description="models to make available: hub ids or local paths")
    datasets: list[str] = Field(default_factory=list, description="datasets: hub ids or local files")
    related: str | None = Field("related", description="folder of related PDFs / papers.jsonl for local retrieval")
    constraints: list[str] = Field(default_factory=list, description=(
        "hard rules of the problem, as stated ('use only numpy', 'do not read data/test.csv'); with the ones the "
        "problem text states, they bind every hypothesis, plan step and attempt (copilot/constraints/)"))
    masked_sources: list[str] = Field(default_factory=list, description=(
        "installed data that would give the hidden answers away, hidden from every experiment command (an empty "
        "file or folder in its place): a Python module or package by dotted name ('statsmodels.datasets.co2'), a "
        "path inside the interpreter's site-packages ('sklearn/datasets/data/digits.csv.gz'), or an absolute path"))
    budgets: Budgets = Field(default_factory=Budgets)

    @field_validator("constraints")
    @classmethod
    def _stated_rules(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip():
                raise ValueError("a constraint must be a non-empty sentence")
        return [item.strip() for item in value]

    @field_validator("masked_sources")
    @classmethod
    def _masked_forms(cls, value: list[str]) -> list[str]:
        for item in value:
            text = item.strip()
            if not text:
                raise ValueError("a masked source must name a module, a site-packages path or an absolute path")
            if ".." in Path(text).parts:
                raise ValueError(f"'{item}' must not contain '..'")
            if "/" not in text and not text.startswith("~") and not DOTTED_NAME.match(text):
                raise ValueError(f"'{item}' is neither a dotted module name nor a path")
        return [item.strip() for item in value]

    @field_validator("read_only", "hidden")
    @classmethod
    def _relative_paths(cls, value: list[str]) -> list[str]:
        for item in value:
            if Path(item).is_absolute() or ".." in Path(item).parts:
                raise ValueError(f"'{item}' must be a path inside the workspace")
        return value

    @field_validator("hidden")
    @classmethod
    def _hidden_apart(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Spelled as the workspace spells paths (`a/b`, not `./a/b`), so the loop and the tools can compare them.
        hidden = [Path(item).as_posix() for item in value]
        read_only = {Path(item).as_posix() for item in info.data.get("read_only", [])}
        results = Path(info.data.get("results_file", "results.json")).as_posix()
        for item in hidden:
            if item in read_only:
                raise ValueError(f"'{item}' is also in read_only; a file is either hidden or read-only")
            if item == results:
                raise ValueError(f"'{item}' is the results file, which the evaluation writes")
        return hidden


class Task(BaseModel):
    """A loaded task with every path resolved."""

    name: str
    spec: TaskSpec
    folder: Path | None = Field(None, description="problems/<task>/ (None for the plain-text form)")
    workspace: Path
    problem_text: str | None = None

    @property
    def paper_path(self) -> str | None:
        """The paper spec with a relative file resolved against the task folder."""
        paper = self.spec.paper
        if paper is None or paper.startswith("arxiv:") or self.folder is None:
            return paper
        return str((self.folder / paper).resolve())

    @property
    def related_dir(self) -> Path | None:
        """The local library folder, when it exists."""
        if self.folder is None or not self.spec.related:
            return None
        path = self.folder / self.spec.related
        return path if path.is_dir() else None


def _format_validation(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{path}: field '{where}': {first['msg']}{more}"


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of fields, found {type(data).__name__}")
    return data


def _check_hidden_files(path: Path, spec: TaskSpec, workspace: Path) -> None:
    """Each hidden file must be a file of the starter folder: the evaluation cannot run without it."""
    for rel in spec.hidden:
        target = workspace / rel
        if not target.is_file():
            found = "it is a folder" if target.is_dir() else "it does not exist"
            raise UserError(f"{path}: field 'hidden': '{rel}' must be a file of the workspace {workspace}; {found}")


def _check_workspace(path: Path, spec: TaskSpec, workspace: Path, problems_dir: Path, workspaces_dir: Path) -> None:
    """The starter folder must lie inside the workspaces root, or be an existing folder of the user's own: not a
    system folder, not the home folder or a folder above it, not one that holds every task (stage 2 copies it)."""
    if not workspace.is_dir():
        raise UserError(f"{path}: workspace folder '{workspace}' does not exist")
    if workspace.is_relative_to(workspaces_dir) and workspace != workspaces_dir:
        return
    home = Path.home().resolve()
    reason = None
    if workspace == Path(workspace.anchor):
        reason = "the root of the file system"
    elif any(workspace == folder or workspace.is_relative_to(folder) for folder in SYSTEM_FOLDERS):
        reason = "a system folder"
    elif home.is_relative_to(workspace):
        reason = "the home folder or a folder above it"
    elif any(root.is_relative_to(workspace) for root in (workspaces_dir, problems_dir)):
        reason = "a folder that holds every task"
    if reason:
        raise UserError(f"{path}: field 'workspace': '{spec.workspace}' resolves to {workspace}, {reason}; use a "
                        f"folder inside {workspaces_dir} or a project folder of your own")


def available_tasks(problems_dir: Path) -> list[str]:
    """Names of the tasks under `problems_dir`, in either form."""
    if not problems_dir.is_dir():
        return []
    names = []
    for entry in sorted(problems_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if (entry.is_dir() and (entry / "task.yaml").is_file()) or entry.is_file():
            names.append(entry.name)
    return names


def load_task(name: str, problems_dir: Path, workspaces_dir: Path) -> Task:
    """Load and validate the task `name`; a bad task gives a `UserError` naming the file, the field and the problem."""
    folder = problems_dir / name
    if folder.is_dir() and (folder / "task.yaml").is_file():
        path = folder / "task.yaml"
        try:
            spec = TaskSpec.model_validate(_read_yaml(path))
        except ValidationError as error:
            raise UserError(_format_validation(path, error)) from None
        workspace = (folder / spec.workspace).resolve() if spec.workspace else (workspaces_dir / name).resolve()
        _check_workspace(path, spec, workspace, problems_dir.resolve(), workspaces_dir.resolve())
        _check_hidden_files(path, spec, workspace)
        return Task(name=name, spec=spec, folder=folder.resolve(), workspace=workspace, problem_text=spec.problem)
    if folder.is_file():
        problem = folder.read_text(encoding="utf-8").strip()
        if not problem:
            raise UserError(f"{folder}: the research problem file is empty")
        workspace = (workspaces_dir / name).resolve()
        if not workspace.is_dir():
            raise UserError(f"{folder}: plain-text task needs the folder {workspace}, which does not exist")
        settings = workspace / "task.yaml"
        if not settings.is_file():
            raise UserError(f"{folder}: plain-text task needs {settings} naming its metric, run and evaluate commands")
        data = {"title": name, **_read_yaml(settings), "problem": problem}
        try:
            spec = TaskSpec.model_validate(data)
        except ValidationError as error:
            raise UserError(_format_validation(settings, error)) from None
        _check_hidden_files(settings, spec, workspace)
        return Task(name=name, spec=spec, folder=None, workspace=workspace, problem_text=problem)
    choices = ", ".join(available_tasks(problems_dir)) or "(none)"
    raise UserError(f"unknown task '{name}': no {folder}/task.yaml or {folder} file; available tasks: {choices}")
