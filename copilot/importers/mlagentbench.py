"""Import an MLAgentBench task folder as a copilot task.

MLAgentBench (snap-stanford/MLAgentBench) keeps one folder per task:

    <task>/env/                         starter files the agent sees (train.py, data, descriptions)
    <task>/scripts/research_problem.txt the instructions
    <task>/scripts/read_only_files.txt  optional: fnmatch patterns of env files the agent may not change
    <task>/scripts/hidden_files.txt     optional (copilot's own): fnmatch patterns of env files to hold out
    <task>/scripts/eval.py              optional: `get_score(submission_folder)` returning the task's number
    <task>/scripts/prepare.py           optional: downloads or splits the data (not run here: it needs the network)

`import_mlagentbench` turns it into `problems/<name>/task.yaml` (the research problem in its `problem` field) and
`workspaces/<name>/` (a copy of `env/`). The evaluation stays the task's own: `scripts/eval.py` and the files beside it
are copied into `workspaces/<name>/mlagentbench_eval/`, and a generated, read-only `evaluate.py` calls `get_score(".")`
on the workspace and writes `results.json`. eval.py is read-only; the files beside it (held-out answers, which
MLAgentBench never showed the agent) are `hidden`: only the evaluation sees them. Answers that a task keeps in `env/`
cannot be told from data by their names, so they are hidden only when named: by `hidden_files.txt` (one pattern a
line, `#` comments, matched like `read_only_files.txt`) or by `--hidden PATTERN`. A hidden file is never also
read-only. What had to be guessed (metric, direction, run command) is written as comments at the top of the
task.yaml, with the hidden files and any pattern that matched nothing. Everything is validated before anything is
written, and an existing task is never overwritten.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import shutil
from pathlib import Path
from string import Template
from typing import Literal, cast

import yaml
from pydantic import BaseModel, ValidationError

from copilot.errors import UserError
from copilot.task import TaskSpec

Direction = Literal["maximize", "minimize"]

EVAL_DIR = "mlagentbench_eval"
WRAPPER = "evaluate.py"
NOT_COPIED_FROM_SCRIPTS = frozenset({"research_problem.txt", "read_only_files.txt", "hidden_files.txt", "prepare.py"})
SKIPPED_IN_COPY = ("__pycache__", "*.pyc", ".git", "backup")
TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PY_FILE = re.compile(r"[\w./-]+\.py\b")

# (regular expression, metric name, direction); the match that comes first in the searched text wins.
METRIC_PATTERNS: tuple[tuple[str, str, Direction], ...] = (
    (r"\bsmape\b", "smape", "minimize"),
    (r"\brmse\b|\broot[ _-]mean[ _-]squared?[ _-]error\b", "rmse", "minimize"),
    (r"\bmae\b|\bmean[ _-]absolute[ _-]error\b", "mae", "minimize"),
    (r"\bmse\b|\bmean[ _-]squared[ _-]error\b", "mse", "minimize"),
    (r"\bperplexity\b|\bppl\b", "perplexity", "minimize"),
    (r"\bloss\b", "loss", "minimize"),
    (r"\bmacro[ _-]?f1\b", "macro_f1", "maximize"),
    (r"\bf1(?:[ _-]?score)?\b", "f1", "maximize"),
    (r"\b(?:roc[ _-]?)?auc\b", "auc", "maximize"),
    (r"\bdice\b", "dice", "maximize"),
    (r"\bmap@\d+\b|\bmean[ _-]average[ _-]precision\b", "map", "maximize"),
    (r"\bacc(?:uracy)?\b", "accuracy", "maximize"),
)

WRAPPER_TEMPLATE = Template('''\
"""The task's own evaluation (read-only), imported from MLAgentBench by `copilot import-mlagentbench`.

Calls get_score(".") of $eval_dir/eval.py (the task's scripts/eval.py, unchanged) on this workspace, writes
results.json = {"metric": "$metric", "value": <score>} and prints "METRIC $metric=<score>". Exits non-zero with
the reason when the score cannot be computed (for example when the experiment wrote no submission file).
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

source = Path(__file__).resolve().parent / "$eval_dir" / "eval.py"
spec = importlib.util.spec_from_file_location("mlagentbench_eval", source)
module = importlib.util.module_from_spec(spec)
sys.path.insert(0, str(source.parent))
spec.loader.exec_module(module)
try:
    score = module.get_score(".")
except (FileNotFoundError, KeyError, ValueError) as error:
    sys.exit(f"evaluate.py: the task's get_score() failed: {type(error).__name__}: {error}")
try:
    value = float(score)
except (TypeError, ValueError):
    sys.exit(f"evaluate.py: get_score() returned {score!r}, not a number")
if not math.isfinite(value):
    sys.exit(f"evaluate.py: get_score() returned {value}, not a finite number")
Path("results.json").write_text(json.dumps({"metric": "$metric", "value": value}) + "\\n")
print(f"METRIC $metric={value}")
''')


class Guess(BaseModel):
    """A setting of the imported task and where it came from; written as a comment into the task.yaml."""

    value: str
    reason: str
    kind: Literal["given", "guessed", "derived"] = "guessed"


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def dump_yaml(data: dict) -> str:
    """`data` as block YAML in the given key order, multi-line strings (the research problem) as literal blocks."""

    class LiteralDumper(yaml.SafeDumper):
        """A SafeDumper whose own representer table writes multi-line strings in `|` style."""

    LiteralDumper.add_representer(str, _represent_str)
    return yaml.dump(data, Dumper=LiteralDumper, sort_keys=False, allow_unicode=True, width=120)


class SourceTask(BaseModel):
    """What was read from an MLAgentBench task folder, before anything is written."""

    src: Path
    env: Path
    problem: str
    read_only_patterns: list[str]
    hidden_patterns: list[str]
    eval_script: Path | None
    eval_source: str | None
    has_prepare: bool


def _patterns(path: Path) -> list[str]:
    """The patterns of a `read_only_files.txt`-style file, one a line, `#` comments and blank lines skipped."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def read_source(src: Path) -> SourceTask:
    """Read and check an MLAgentBench task folder; a missing or empty required part is a `UserError`."""
    if not src.is_dir():
        raise UserError(f"{src}: not a folder (expected an MLAgentBench task with env/ and scripts/)")
    problem_file = src / "scripts" / "research_problem.txt"
    if not problem_file.is_file():
        raise UserError(f"{problem_file}: not found (every MLAgentBench task states its problem there)")
    problem = problem_file.read_text(encoding="utf-8", errors="replace").strip()
    if not problem:
        raise UserError(f"{problem_file}: the research problem is empty")
    env = src / "env"
    if not env.is_dir():
        raise UserError(f"{env}: not found (the starter files; run scripts/prepare.py first if it creates them)")
    eval_script = src / "scripts" / "eval.py"
    eval_source = None
    if eval_script.is_file():
        eval_source = eval_script.read_text(encoding="utf-8", errors="replace")
    return SourceTask(src=src, env=env, problem=problem,
                      read_only_patterns=_patterns(src / "scripts" / "read_only_files.txt"),
                      hidden_patterns=_patterns(src / "scripts" / "hidden_files.txt"),
                      eval_script=eval_script if eval_source is not None else None, eval_source=eval_source,
                      has_prepare=(src / "scripts" / "prepare.py").is_file())


def _get_score_returns(eval_source: str, where: Path) -> str:
    """The return expressions of `get_score` in eval.py, or a `UserError` when it does not define one."""
    try:
        tree = ast.parse(eval_source)
    except SyntaxError as error:
        raise UserError(f"{where}: not valid Python (line {error.lineno}: {error.msg})") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "get_score":
            returns = [ast.unparse(n.value) for n in ast.walk(node) if isinstance(n, ast.Return) and n.value]
            return "\n".join(returns)
    raise UserError(f"{where}: defines no get_score(submission_folder) function, so the score cannot be computed; "
                    "pass --evaluate '<command>' naming an evaluation that writes results.json")


def direction_of(metric: str) -> Direction | None:
    """Whether a metric of this name is better higher or lower, when the name is a known one."""
    for pattern, _, direction in METRIC_PATTERNS:
        if re.fullmatch(pattern, metric.strip().lower()):
            return direction
    return None


def guess_metric(texts: list[tuple[str, str]]) -> tuple[str, Direction, str] | None:
    """The first known metric named in the first text (of `(text, where)` pairs) that names one, with its reason."""
    for text, where in texts:
        found = []
        for pattern, name, direction in METRIC_PATTERNS:
            match = re.search(pattern, text, flags=re.IGNORECASE)
            if match:
                found.append((match.start(), name, direction, match.group(0)))
        if found:
            _, name, direction, word = min(found)
            return name, direction, f"'{word}' in {where}"
    return None


def guess_run(env: Path, problem: str) -> Guess:
    """The experiment command: `python train.py` when env/ has it, else the only script, else one the problem names."""
    if (env / "train.py").is_file():
        return Guess(value="python train.py", reason="env/train.py exists")
    scripts = sorted(p.name for p in env.glob("*.py") if p.name != WRAPPER)
    if len(scripts) == 1:
        return Guess(value=f"python {scripts[0]}", reason=f"env/{scripts[0]} is the only script")
    named = [m for m in PY_FILE.findall(problem) if (env / m).is_file() and m != WRAPPER]
    if named:
        return Guess(value=f"python {named[0]}", reason=f"the research problem names {named[0]}")
    found = ", ".join(scripts) or "no .py files"
    raise UserError(f"{env}: cannot guess the experiment command (no train.py; found {found}); pass --run '<command>'")


def expand_read_only(workspace: Path, patterns: list[str]) -> tuple[list[str], list[str]]:
    """The workspace files that MLAgentBench's patterns (read-only or hidden) name, and the patterns that matched
    nothing.

    MLAgentBench matches each file's path as `os.path.join(relative dir, name)`, so files at the top are `./name`;
    both that spelling and the plain relative path are tried here.
    """
    files = sorted(p.relative_to(workspace).as_posix() for p in workspace.rglob("*") if p.is_file())
    matched: set[str] = set()
    unmatched = []
    for pattern in patterns:
        hits = [rel for rel in files if fnmatch.fnmatch(rel, pattern)
                or fnmatch.fnmatch(rel if "/" in rel else f"./{rel}", pattern)]
        if hits:
            matched.update(hits)
        else:
            unmatched.append(pattern)
    return sorted(matched), unmatched


def _header(source: SourceTask, metric: Guess, direction: Guess, run: Guess, evaluate: Guess,
            unmatched: list[str], hidden: list[str], hidden_patterns: list[str], hidden_unmatched: list[str]) -> str:
    lines = [f"Imported from the MLAgentBench task folder {source.src.resolve()} by `copilot import-mlagentbench`."]
    guesses = (("metric", metric), ("direction", direction), ("run", run), ("evaluate", evaluate))
    if any(g.kind == "guessed" for _, g in guesses):
        lines.append("Some values were guessed: check them (--metric/--direction/--run/--evaluate set them).")
    for key, guess in guesses:
        lines.append(f"  {key}: {guess.value!r} ({guess.kind}: {guess.reason})")
    if source.has_prepare:
        lines.append("scripts/prepare.py was not run (it usually downloads or splits the data); if env/ lacked data, "
                     "run it in the source folder and import again.")
    if unmatched:
        lines.append(f"read_only_files.txt patterns that matched no file: {', '.join(unmatched)}")
    if hidden:
        lines.append(f"hidden (only the evaluation sees them): {', '.join(hidden)}")
    if not hidden_patterns:
        lines.append("no env/ file is hidden: name held-out answers kept there in scripts/hidden_files.txt or with "
                     "--hidden")
    if hidden_unmatched:
        lines.append(f"hidden patterns that matched no file: {', '.join(hidden_unmatched)}")
    return "".join(f"# {line}\n" for line in lines)


def import_mlagentbench(src: Path, problems_dir: Path, workspaces_dir: Path, name: str | None = None, *,
                        metric: str | None = None, direction: str | None = None, run: str | None = None,
                        evaluate: str | None = None, hidden: list[str] | None = None) -> str:
    """Convert the MLAgentBench task folder `src` into `problems/<name>/task.yaml` and `workspaces/<name>/`.

    `name` defaults to the folder's name. `metric`, `direction`, `run` and `evaluate` override the guesses; without
    `evaluate`, scripts/eval.py must define `get_score`. `hidden` adds patterns to those of scripts/hidden_files.txt.
    Returns the task name; raises `UserError` for a bad folder, an unguessable setting or an existing task, before
    anything is written.
    """
    src = Path(src)
    source = read_source(src)
    name = name or src.resolve().name
    if not TASK_NAME.match(name):
        raise UserError(f"task name '{name}': use letters, digits, '.', '_' or '-', starting with a letter or digit")
    task_dir, workspace = Path(problems_dir) / name, Path(workspaces_dir) / name
    for existing in (task_dir, workspace):
        if existing.exists():
            raise UserError(f"{existing} already exists; remove it or pass --name to import under another name")
    if direction is not None and direction not in ("maximize", "minimize"):
        raise UserError(f"direction '{direction}': must be 'maximize' or 'minimize'")

    returns = ""
    if evaluate is None:
        if source.eval_script is None or source.eval_source is None:
            raise UserError(f"{src / 'scripts' / 'eval.py'}: not found, so this task has no evaluation of its own; "
                            "pass --evaluate '<command>' naming one that writes results.json")
        returns = _get_score_returns(source.eval_source, source.eval_script)
        for clash in (WRAPPER, EVAL_DIR):
            if (source.env / clash).exists():
                raise UserError(f"{source.env / clash}: already exists, and the imported evaluation needs that name; "
                                "rename it in env/ or pass --evaluate")
    metric_guess, direction_guess = _metric_and_direction(source, returns, metric, direction)
    run_guess = Guess(value=run, reason="from the command line", kind="given") if run else guess_run(
        source.env, source.problem)
    evaluate_guess = (Guess(value=evaluate, reason="from the command line", kind="given") if evaluate else
                      Guess(value=f"python {WRAPPER}", reason="calls get_score() of scripts/eval.py", kind="derived"))
    spec_data: dict = {
        "title": f"{name} (MLAgentBench)",
        "problem": source.problem,
        "metric": {"name": metric_guess.value, "direction": direction_guess.value},
        "run": run_guess.value,
        "evaluate": evaluate_guess.value,
        "results_file": "results.json",
        "read_only": [],
        "hidden": [],
    }
    try:
        TaskSpec.model_validate(spec_data)
    except ValidationError as error:
        first = error.errors()[0]
        raise UserError(f"{src}: the imported task is invalid: {'.'.join(map(str, first['loc']))}: {first['msg']}") \
            from None

    try:
        shutil.copytree(source.env, workspace, ignore=shutil.ignore_patterns(*SKIPPED_IN_COPY),
                        ignore_dangling_symlinks=True)
        protected, held_out = [], []
        if evaluate is None and source.eval_script is not None:
            shutil.copytree(source.eval_script.parent, workspace / EVAL_DIR,
                            ignore=shutil.ignore_patterns(*SKIPPED_IN_COPY, *NOT_COPIED_FROM_SCRIPTS))
            (workspace / WRAPPER).write_text(WRAPPER_TEMPLATE.substitute(metric=metric_guess.value,
                                                                         eval_dir=EVAL_DIR), encoding="utf-8")
            protected = [WRAPPER, f"{EVAL_DIR}/eval.py"]
            held_out = sorted(p.relative_to(workspace).as_posix() for p in (workspace / EVAL_DIR).rglob("*")
                              if p.is_file() and p.relative_to(workspace).as_posix() not in protected)
        hidden_patterns = [*source.hidden_patterns, *(hidden or [])]
        named, hidden_unmatched = expand_read_only(workspace, hidden_patterns)
        held_out += [rel for rel in named if rel not in held_out]
        matched, unmatched = expand_read_only(workspace, source.read_only_patterns)
        spec_data["hidden"] = held_out
        spec_data["read_only"] = [rel for rel in dict.fromkeys([*protected, *matched]) if rel not in held_out]
        spec = TaskSpec.model_validate(spec_data)
        body = dump_yaml(spec.model_dump(mode="json", exclude_unset=True))
        task_dir.mkdir(parents=True)
        header = _header(source, metric_guess, direction_guess, run_guess, evaluate_guess, unmatched, held_out,
                         hidden_patterns, hidden_unmatched)
        (task_dir / "task.yaml").write_text(header + body, encoding="utf-8")
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)
        shutil.rmtree(task_dir, ignore_errors=True)
        raise
    return name


def _metric_and_direction(source: SourceTask, returns: str, metric: str | None,
                          direction: str | None) -> tuple[Guess, Guess]:
    texts = [(returns, "the return value of get_score() in scripts/eval.py")] if returns else []
    if source.eval_source:
        texts.append((source.eval_source, "scripts/eval.py"))
    texts.append((source.problem, "scripts/research_problem.txt"))
    if metric is not None:
        metric_guess = Guess(value=metric, reason="from the command line", kind="given")
        if direction is not None:
            return metric_guess, Guess(value=direction, reason="from the command line", kind="given")
        known = direction_of(metric)
        if known is None:
            raise UserError(f"metric '{metric}': cannot tell whether higher or lower is better; pass --direction "
                            "maximize or --direction minimize")
        return metric_guess, Guess(value=known, reason=f"'{metric}' is usually {known}d")
    found = guess_metric(texts)
    if found is None:
        raise UserError(f"{source.src}: no known metric is named in scripts/eval.py or research_problem.txt; pass "
                        "--metric NAME --direction maximize|minimize")
    name, known, reason = found
    metric_guess = Guess(value=name, reason=reason)
    if direction is not None:
        return metric_guess, Guess(value=direction, reason="from the command line", kind="given")
    return metric_guess, Guess(value=known, reason=f"'{name}' is usually {known}d")


def main(argv: list[str]) -> int:
    """`copilot import-mlagentbench <folder> [options]`: import one task and print where it went; returns 0.

    Bad input raises `UserError` (the CLI prints it as one line); bad options exit through argparse with code 2.
    """
    parser = argparse.ArgumentParser(prog="copilot import-mlagentbench",
                                     description="Convert an MLAgentBench task folder (env/, scripts/) into a task.")
    parser.add_argument("folder", type=Path, help="the MLAgentBench task folder, e.g. MLAgentBench/benchmarks/cifar10")
    parser.add_argument("--name", help="task name (default: the folder's name)")
    parser.add_argument("--metric", help="metric name (default: guessed from scripts/eval.py)")
    parser.add_argument("--direction", choices=["maximize", "minimize"], help="default: from the metric name")
    parser.add_argument("--run", help="experiment command (default: python train.py)")
    parser.add_argument("--evaluate", help="evaluation command writing results.json (default: wraps eval.py)")
    parser.add_argument("--hidden", action="append", metavar="PATTERN",
                        help="env files to hold out for the evaluation only, as fnmatch patterns (repeatable; adds to "
                             "scripts/hidden_files.txt)")
    parser.add_argument("--problems", type=Path, default=Path("problems"), help="default: ./problems")
    parser.add_argument("--workspaces", type=Path, default=Path("workspaces"), help="default: ./workspaces")
    args = parser.parse_args(argv)
    name = import_mlagentbench(args.folder, args.problems, args.workspaces, args.name, metric=args.metric,
                               direction=cast(Direction | None, args.direction), run=args.run,
                               evaluate=args.evaluate, hidden=args.hidden)
    task_yaml = args.problems / name / "task.yaml"
    print(f"imported {name}: {task_yaml} and {args.workspaces / name}/")
    for line in task_yaml.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.startswith("# "):
            break
        print(line[2:])
    print(f"run it with: copilot task={name}")
    return 0
