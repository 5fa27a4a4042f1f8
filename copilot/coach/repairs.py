"""Rules that repair a failed script mechanically (`repair`), for the whole-script agent.

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


class RestoreDroppedLines:
    """The repair rule around `restore_dropped_definition`."""

    event = "repair"

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The repaired script, or None."""
        return restore_dropped_definition(code, output, script, earlier)
