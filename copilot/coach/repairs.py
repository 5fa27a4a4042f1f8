"""Rules that repair a failed script mechanically (`repair`), for the whole-script agent.

`DropUnimportableName`: a model writes an import of a name that its library does not have (an exception class it
expects, a helper from another version), and the script fails before its first line of work. When the failure is
`ImportError: cannot import name 'X' from 'm'` (or `ModuleNotFoundError` on a module whose imported names are used
nowhere), and `X` is used nowhere else in the script or only as the type of an `except` clause, the import goes and
those clauses catch `Exception`. A name the script does use is the model's problem to solve: nothing is changed.

`RestoreDroppedLines`: rewriting a whole file, a model drops lines it did not mean to change (a data-loading
assignment), and shown the `NameError` and the missing line it may resubmit its file unchanged until the rounds run
out. When the failing run ends in `NameError: name 'x' is not defined`, the new script binds `x` nowhere, and the
earlier working version bound it with an assignment or import, that statement is put back before the top-level
statement that failed. The agent writes the repaired script through the workspace as its own step (diff, undo,
trace) and names it in the attempt's summary; the metric is still only what the task's evaluation measures.
"""

from __future__ import annotations

import ast
import re

from copilot.coach.advice import UNDEFINED_NAME, defining_lines
from copilot.coach.base import Repair


def failing_line(output: str, script: str) -> int | None:
    """The line of `script` where the traceback in `output` last passed through it, or None."""
    hits = re.findall(rf'File "[^"]*?{re.escape(script)}", line (\d+)', output)
    return int(hits[-1]) if hits else None


def restore_dropped_definition(code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
    """`code` with the earlier version's assignment or import of the undefined name put back, or None when the
    failure is not such a NameError, the name is bound somewhere in `code` already, or nothing earlier binds it."""
    match = UNDEFINED_NAME.search(output)
    if not match:
        return None
    name = match.group(1)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
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


CANNOT_IMPORT = re.compile(r"ImportError: cannot import name '(\w+)' from '([\w.]+)'")
NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def drop_unimportable_name(code: str, output: str) -> Repair | None:
    """`code` without the import the failure in `output` names, or None when that name is used in the script
    other than as an `except` clause's type (those clauses then catch `Exception`)."""
    names_match, module_match = CANNOT_IMPORT.search(output), NO_MODULE.search(output)
    if not names_match and not module_match:
        return None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    module = names_match.group(2) if names_match else module_match.group(1)  # type: ignore[union-attr]
    imports = [node for node in ast.walk(tree) if (isinstance(node, ast.ImportFrom) and node.module == module)
               or (isinstance(node, ast.Import) and any(a.name == module for a in node.names))]
    if not imports:
        return None
    edits: list[tuple[ast.stmt, str]] = []  # (import statement, its replacement text; "" removes it)
    dropped: list[str] = []
    for node in imports:
        aliases = node.names
        if names_match and isinstance(node, ast.ImportFrom):
            gone = [a for a in aliases if a.name == names_match.group(1)]
        elif isinstance(node, ast.Import):
            gone = [a for a in aliases if a.name == module]
        else:
            gone = list(aliases)
        if not gone:
            continue
        kept = [a for a in aliases if a not in gone]
        replacement = ast.unparse(type(node)(**{**node.__dict__, "names": kept})) if kept else ""
        edits.append((node, replacement))
        dropped += [a.asname or a.name.split(".")[0] for a in gone]
    handlers: list[ast.expr] = []
    import_nodes = {id(node) for node, _ in edits}
    for handler in ast.walk(tree):
        if isinstance(handler, ast.ExceptHandler) and handler.type is not None:
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            handlers += [t for t in types if isinstance(t, ast.Name) and t.id in dropped]
    in_handlers = {id(t) for t in handlers}
    for other in ast.walk(tree):
        if isinstance(other, ast.Name) and other.id in dropped and id(other) not in in_handlers:
            return None  # the script needs the name: not a mechanical repair
        if isinstance(other, ast.Import | ast.ImportFrom) and id(other) not in import_nodes and any(
                (a.asname or a.name.split(".")[0]) in dropped for a in other.names):
            return None  # bound again elsewhere
    if not edits:
        return None
    lines = code.splitlines(keepends=True)
    spans = [(t.lineno, t.col_offset, t.end_col_offset, "Exception") for t in handlers]
    for line_no, col, end_col, text in sorted(spans, reverse=True):
        line = lines[line_no - 1]
        lines[line_no - 1] = line[:col] + text + line[end_col:]  # type: ignore[misc]
    for statement, replacement in sorted(edits, key=lambda e: e[0].lineno, reverse=True):
        indent = lines[statement.lineno - 1][: statement.col_offset]
        end = statement.end_lineno or statement.lineno
        lines[statement.lineno - 1: end] = [indent + replacement + "\n"] if replacement else (
            [indent + "pass\n"] if indent.strip() == "" and indent else [])
    what = f"`{names_match.group(1)}` from `{module}`" if names_match else f"`{module}`"
    caught = f"; {len(handlers)} `except` clause(s) now catch `Exception`" if handlers else ""
    return Repair(code="".join(lines), description=f"dropped the import of {what}, which does not exist and the "
                                                   f"script does not use{caught}")


class DropUnimportableName:
    """The repair rule around `drop_unimportable_name`."""

    event = "repair"

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The repaired script, or None."""
        return drop_unimportable_name(code, output)


class RestoreDroppedLines:
    """The repair rule around `restore_dropped_definition`."""

    event = "repair"

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The repaired script, or None."""
        return restore_dropped_definition(code, output, script, earlier)
