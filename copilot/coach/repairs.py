"""Rules that repair a failed script mechanically (`repair`), for the whole-script agent.

`RestoreDroppedLines`: rewriting a whole file, a model drops lines it did not mean to change (a data-loading
assignment), and shown the `NameError` and the missing line it may resubmit its file unchanged until the rounds run
out. When the failing run ends in `NameError: name 'x' is not defined`, the new script binds `x` nowhere, and the
earlier working version bound it with an assignment or import, that statement is put back before the top-level
statement that failed. The agent writes the repaired script through the workspace as its own step (diff, undo,
trace) and names it in the attempt's summary; the metric is still only what the task's evaluation measures.

`AddMissingImports`: asked to fix `NameError: name 'torch' is not defined`, a small model adds that one import and
fails on the next undefined name, one fix round each (torch, StandardScaler, nn, TensorDataset, DataLoader). When the
failing run ends in such a NameError on a name the script binds nowhere and that has a well-known import line, the
import line of every such undefined name of the script is added after its imports, in one repair.

`PostponeAnnotations`: a method of `class Node` annotated `-> Node` fails with `NameError: name 'Node' is not
defined` while the class body runs (mcts-implement: two of four attempts, and each fix round gave the same line
back). When the name is bound in the file and the failing line reads it inside an annotation,
`from __future__ import annotations` goes first in the file, and annotations are no longer evaluated.
"""

from __future__ import annotations

import ast
import builtins
import re

from copilot.coach.advice import UNDEFINED_NAME, defining_lines, scikit_learn_imports
from copilot.coach.base import Repair

# Names a module (or a class body) can read without binding them.
IMPLICIT_NAMES = frozenset(dir(builtins)) | {
    "__file__", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__", "__path__",
    "__cached__", "__annotations__", "__class__", "__module__", "__qualname__", "__dict__"}


def failing_line(output: str, script: str) -> int | None:
    """The line of `script` where the traceback in `output` last passed through it, or None."""
    hits = re.findall(rf'File "[^"]*?{re.escape(script)}", line (\d+)', output)
    return int(hits[-1]) if hits else None


def _name_error(code: str, output: str) -> tuple[str, ast.Module] | None:
    """The name of the `NameError` the failing run (`output`) ended in, and `code` parsed; None when it ended
    otherwise or `code` does not parse."""
    match = UNDEFINED_NAME.search(output)
    if not match:
        return None
    try:
        return match.group(1), ast.parse(code)
    except SyntaxError:
        return None


def restore_dropped_definition(code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
    """`code` with the earlier version's assignment or import of the undefined name put back, or None when the
    failure is not such a NameError, the name is bound somewhere in `code` already, or nothing earlier binds it."""
    failure = _name_error(code, output)
    if failure is None:
        return None
    name, tree = failure
    if any(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store) for node in
           ast.walk(tree)) or defining_lines(name, code):
        return None  # bound somewhere already: an ordering or scoping problem the model has to solve
    statements: list[str] = []
    for version in earlier:
        found = [s for s in defining_lines(name, version) if _is_assignment_or_import(s)]
        if found:
            statements = found[:1]  # the first binding is the one the rest of the earlier script built on
            break
    if not statements:
        return None
    line = failing_line(output, script)
    anchor = next((node.lineno for node in tree.body
                   if line is not None and node.lineno <= line <= (node.end_lineno or node.lineno)), None)
    if anchor is None:  # no line number: after the imports
        anchor = next((node.lineno for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom)),
                      len(code.splitlines()) + 1)
    lines = code.splitlines(keepends=True)
    insert = "".join(s if s.endswith("\n") else s + "\n" for s in statements)
    repaired = "".join(lines[: anchor - 1]) + insert + "".join(lines[anchor - 1:])
    return Repair(code=repaired, description=f"restored `{name}` from the earlier working version: "
                                             f"{'; '.join(statements)}")


def _is_assignment_or_import(statement: str) -> bool:
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, IndexError):
        return False
    return isinstance(node, ast.Assign | ast.AnnAssign | ast.Import | ast.ImportFrom)


class RestoreDroppedLines:
    """The repair rule around `restore_dropped_definition`."""

    event = "repair"

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The repaired script, or None."""
        return restore_dropped_definition(code, output, script, earlier)


def undefined_names(code: str) -> list[str]:
    """The names `code` reads (at module level or in functions) that it binds nowhere and that are not builtins, in
    order of first use; [] when it does not parse or has a `from ... import *` (which may bind any name). A name bound
    anywhere in the file, in any scope, counts as bound: this finds names missing outright, never scoping problems."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    bound: set[str] = set()
    read: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.append(node)
            else:  # Store, Del
                bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):  # every kind of parameter, lambdas' too
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return []
            bound |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    read.sort(key=lambda name: (name.lineno, name.col_offset))
    return list(dict.fromkeys(n.id for n in read if n.id not in bound and n.id not in IMPLICIT_NAMES))


def _docstring_end(tree: ast.Module) -> int | None:
    """The last line of the module docstring, or None without one."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].end_lineno or 1
    return None


def _leading_comments(code: str) -> int:
    """The number of comment lines `code` starts with (a shebang, an encoding line, a header comment)."""
    count = 0
    for line in code.splitlines():
        if not line.startswith("#"):
            break
        count += 1
    return count


def _insert_lines(code: str, anchor: int, lines: list[str]) -> str:
    """`code` with `lines` inserted after its first `anchor` lines."""
    before = "".join(re.split(r"(?<=\n)", code)[:anchor])
    after = code[len(before):]
    if before and not before.endswith("\n"):
        before += "\n"
    return before + "".join(f"{line}\n" for line in lines) + after


def _import_anchor(tree: ast.Module, code: str) -> int:
    """The number of lines of `code` after which new imports go: after the run of top-level imports (`__future__`
    ones included) that follows the module docstring, else after the docstring, else after leading comments."""
    docstring = _docstring_end(tree)
    start, anchor = (0, 0) if docstring is None else (1, docstring)
    for node in tree.body[start:]:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            anchor = min(anchor, node.lineno - 1)  # `import os; x = torch.ones(1)`: before that line
            break
        anchor = node.end_lineno or node.lineno
    return anchor or _leading_comments(code)  # nothing above: keep a shebang or a header comment first


def add_missing_imports(code: str, output: str, script: str, imports: dict[str, str],
                        scikit_learn: bool) -> Repair | None:
    """`code` with the import line of every name it uses but binds nowhere added after its imports, when the failing
    run (`output`) ends in a NameError on such a name with a known import line (`imports`, then every scikit-learn
    estimator when `scikit_learn`); else None (an unknown name is an ordering or scoping problem for the model).
    `script` is the failed script's path (unused: the undefined names are read from `code` itself)."""
    match = UNDEFINED_NAME.search(output)
    if not match:
        return None
    missing = undefined_names(code)
    if match.group(1) not in missing:
        return None
    estimators = scikit_learn_imports() if scikit_learn and any(name not in imports for name in missing) else {}
    lines = list(dict.fromkeys(line for name in missing if (line := imports.get(name) or estimators.get(name))))
    if not (imports.get(match.group(1)) or estimators.get(match.group(1))):
        return None
    anchor = _import_anchor(ast.parse(code), code)  # parses: undefined_names found names in it
    return Repair(code=_insert_lines(code, anchor, lines),
                  description=f"added the missing imports: {'; '.join(lines)}")


class AddMissingImports:
    """The repair rule around `add_missing_imports`: its rule file holds the import table (`import_line`'s)."""

    event = "repair"

    def __init__(self, name: str, imports: dict[str, str], scikit_learn: bool = True) -> None:
        self.name = name
        self.imports = dict(imports)
        self.scikit_learn = scikit_learn

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The script with the missing imports added, or None."""
        return add_missing_imports(code, output, script, self.imports, self.scikit_learn)


FUTURE_ANNOTATIONS = "from __future__ import annotations"


def _annotations(tree: ast.Module) -> list[ast.expr]:
    """Every annotation in `tree`: of parameters, return values and annotated assignments."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return found


def postpone_annotations(code: str, output: str, script: str) -> Repair | None:
    """`code` with `from __future__ import annotations` put first, when the failing run (`output`) ends in a
    NameError on a name that `code` binds somewhere and that the failing line of `script` reads in an annotation;
    else None."""
    failure = _name_error(code, output)
    if failure is None:
        return None
    name, tree = failure
    if FUTURE_ANNOTATIONS in code or name in undefined_names(code):
        return None
    line = failing_line(output, script)
    in_annotation = any(isinstance(node, ast.Name) and node.id == name and (line is None or node.lineno == line)
                        for annotation in _annotations(tree) for node in ast.walk(annotation))
    if not in_annotation:
        return None
    # a __future__ import goes after the docstring, or after leading comments, before every other statement
    docstring = _docstring_end(tree)
    anchor = _leading_comments(code) if docstring is None else docstring
    return Repair(code=_insert_lines(code, anchor, [FUTURE_ANNOTATIONS]),
                  description=f"put `{FUTURE_ANNOTATIONS}` first, so the annotation naming {name} is not evaluated")


class PostponeAnnotations:
    """The repair rule around `postpone_annotations`."""

    event = "repair"

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The script with annotations postponed, or None."""
        return postpone_annotations(code, output, script)
