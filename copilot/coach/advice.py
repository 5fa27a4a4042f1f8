"""Rules that add a sentence to a failed run's output (`run_failed`): what the error does not say.

Each kind reads its data from its rule file (`copilot/coach/rules/*.yaml`): patterns and advice, import lines.
"""

from __future__ import annotations

import ast
import csv
import functools
import itertools
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

UNDEFINED_NAME = re.compile(r"NameError: name '(\w+)' is not defined")
WRONG_MODULE = re.compile(r"module '(?P<module>[\w.]+)' has no attribute '(?P<name>\w+)'|"
                          r"cannot import name '(?P<imported>\w+)' from '(?P<source>[\w.]+)'")


class RegexAdvice:
    """Advice for outputs that match known patterns: each item of `patterns` is `{pattern, advice}`; every matching
    item adds its advice, once."""

    event = "run_failed"

    def __init__(self, name: str, patterns: list[dict[str, str]], flags: str = "") -> None:
        self.name = name
        options = (re.IGNORECASE if "i" in flags else 0) | (re.DOTALL if "s" in flags else 0)
        self.patterns = [(re.compile(item["pattern"], options), item["advice"]) for item in patterns]

    def __call__(self, output: str, earlier: list[str]) -> str | None:
        """The advice of every pattern found in `output`, or None."""
        found = [advice for pattern, advice in self.patterns if pattern.search(output)]
        return "".join(f"\n({advice})" for advice in found) or None


class MissingColumn:
    """For a pandas KeyError on a column: the columns the workspace's tables really have (their header lines), so the
    fix uses a name that exists instead of guessing another one. Held-out files are never read."""

    event = "run_failed"
    pattern = re.compile(r"KeyError: (?:'([^'\n]+)'|\"\[?'([^'\n]+)'[^\n]*not in index)")
    table_suffixes: ClassVar[dict[str, str]] = {".csv": ",", ".tsv": "\t"}

    def __init__(self, name: str, max_tables: int = 6, max_columns: int = 12) -> None:
        self.name = name
        self.max_tables = max_tables
        self.max_columns = max_columns
        self.workspace: Path | None = None
        self.hidden: set[str] = set()

    def bind(self, context: Any) -> None:
        """Receive the run's context: the task's starter folder and its held-out files (none without a task)."""
        task = getattr(context, "task", None)
        if task is not None:
            self.workspace, self.hidden = Path(task.workspace), set(task.spec.hidden)

    def tables(self) -> dict[str, list[str]]:
        """Header columns of the workspace's csv and tsv files, by path relative to the workspace."""
        if self.workspace is None or not self.workspace.is_dir():
            return {}
        found: dict[str, list[str]] = {}
        for path in sorted(self.workspace.rglob("*")):
            relative = path.relative_to(self.workspace).as_posix()
            if (path.suffix.lower() not in self.table_suffixes or not path.is_file() or relative in self.hidden
                    or any(relative.startswith(h.rstrip("/") + "/") for h in self.hidden)):
                continue
            with path.open(encoding="utf-8", errors="replace", newline="") as handle:
                header = next(csv.reader(handle, delimiter=self.table_suffixes[path.suffix.lower()]), [])
            found[relative] = header
            if len(found) == self.max_tables:
                break
        return found

    def _columns(self, header: list[str]) -> str:
        if len(header) <= self.max_columns:
            return ", ".join(header)
        return f"{', '.join(header[:self.max_columns - 2])}, ..., {header[-1]} ({len(header)} columns)"

    def __call__(self, output: str, earlier: list[str]) -> str | None:
        """The advice listing the real columns, or None when the KeyError is not pandas' or no table is there."""
        match = self.pattern.search(output)
        if match is None or "pandas" not in output:
            return None
        column = match.group(1) or match.group(2)
        tables = self.tables()
        if not tables:
            return None
        having = [path for path, header in tables.items() if column in header]
        listed = "; ".join(f"{path}: {self._columns(header)}" for path, header in tables.items())
        where = (f"'{column}' is a column of {', '.join(having)} only, not of the table the code indexed"
                 if having else f"No table of the workspace has a column '{column}'")
        return f"\n({where}. The columns are: {listed}. Use these names exactly.)"


@functools.cache
def scikit_learn_imports() -> dict[str, str]:
    """`{"LogisticRegression": "from sklearn.linear_model import LogisticRegression", ...}` for every scikit-learn
    estimator, from its public module; {} when scikit-learn is not importable here."""
    try:
        from sklearn.utils.discovery import all_estimators
    except ImportError:
        return {}
    imports = {}
    for name, estimator in all_estimators():
        public = ".".join(itertools.takewhile(lambda part: not part.startswith("_"), estimator.__module__.split(".")))
        if getattr(sys.modules.get(public), name, None) is estimator:  # all_estimators imported every module
            imports[name] = f"from {public} import {name}"
    return imports


class ImportLine:
    """For a `NameError`: the import line of a well-known name (`imports`, and every scikit-learn estimator when
    `scikit_learn` is on), or a reminder to define the name before its use. For a well-known name looked up in the
    wrong module (`module 'sklearn.ensemble' has no attribute 'HuberRegressor'`, or the same as an ImportError): the
    module it is in."""

    event = "run_failed"

    def __init__(self, name: str, imports: dict[str, str], scikit_learn: bool = True) -> None:
        self.name = name
        self.imports = imports
        self.scikit_learn = scikit_learn

    def _line(self, name: str) -> str | None:
        return self.imports.get(name) or (scikit_learn_imports().get(name) if self.scikit_learn else None)

    def __call__(self, output: str, earlier: list[str]) -> str | None:
        """The import line or the reminder, or None without a NameError or a known name in the wrong module."""
        match = UNDEFINED_NAME.search(output)
        if not match:
            wrong = WRONG_MODULE.search(output)
            if wrong is None:
                return None
            name, module = wrong["name"] or wrong["imported"], wrong["module"] or wrong["source"]
            line = self._line(name)
            if line is None or re.search(rf"\b{re.escape(module)}\b", line):
                return None
            return f"\n(`{name}` is not in `{module}`: import it with `{line}`.)"
        name = match.group(1)
        line = self._line(name)
        if line:
            return f"\n(`{name}` is used but never imported: add `{line}` at the top of the file.)"
        return f"\n(`{name}` is used before it is defined or imported: define or import it before that line.)"


def defining_lines(name: str, code: str) -> list[str]:
    """The top-level statements of `code` that bind `name` (assignment, import, def, class, for), as written."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [line for line in code.splitlines() if re.match(rf"{re.escape(name)}\s*(?:,[^=]*)?=[^=]", line)]
    found = []
    for node in tree.body:
        bound: set[str] = set()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            targets: list[Any] = (node.targets if isinstance(node, ast.Assign) else [node.target]
                                  if isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For) else [])
            bound |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if name in bound:
            found.append(ast.get_source_segment(code, node) or "")
    return [line for line in found if line]


class DroppedDefinition:
    """For a `NameError` on a name that an earlier working version of the script defined: its defining statements,
    quoted back to be put back (a whole-script rewrite drops lines it did not mean to change)."""

    event = "run_failed"

    def __init__(self, name: str, max_lines: int = 3) -> None:
        self.name = name
        self.max_lines = max_lines

    def __call__(self, output: str, earlier: list[str]) -> str | None:
        """The quoted definition, or None."""
        match = UNDEFINED_NAME.search(output)
        if not match:
            return None
        name = match.group(1)
        for code in earlier:
            lines = defining_lines(name, code)
            if lines:
                shown = "\n".join(lines[: self.max_lines])
                return (f"\n(`{name}` was defined in the earlier working version of the script by:\n{shown}\n"
                        f"This version dropped it: put it back before `{name}` is first used.)")
        return None
