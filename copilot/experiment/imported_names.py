"""Definitions that other files of the workspace import from the script are kept when a new version drops them.

A whole-file reply is the model's version of the entire script, and the embedded model leaves out what the
instruction did not mention. On the real suite's mcts-implement, each of three rewrites of `mcts.py` dropped the
`MCTS` class, which the task's read-only `test_mcts.py` imports: the script itself still ran, and the evaluation
failed with `ImportError: cannot import name 'MCTS'` on every attempt. A researcher editing one function keeps the
rest of the module; so does this: each top-level function, class or assignment of the old version that another
workspace file imports (`from mcts import MCTS`, or `mcts.MCTS` after `import mcts`) and that the new version no
longer defines is put back, before the new version's `if __name__ == "__main__":` block (or at its end).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

MAX_FILES = 200  # other Python files read to find what they import (a workspace with a vendored library has more)


def module_names(script: str) -> set[str]:
    """The names under which other files import the workspace-relative `script`: its dotted path and its stem (a
    file in the same folder imports it by its stem)."""
    path = Path(script).with_suffix("")
    return {".".join(path.parts), path.name}


def imported_names(modules: set[str], sources: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The names that the files in `sources` (path, text) import from one of `modules`, each with the first file that
    does: `from m import X` (not `*`) and `m.X` where `import m` (or `import m as alias`) binds it. Files that do not
    parse are skipped."""
    found: dict[str, str] = {}
    for path, text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                for alias in node.names:
                    if alias.name != "*":
                        found.setdefault(alias.name, path)
            elif isinstance(node, ast.Import):
                aliases |= {alias.asname or alias.name for alias in node.names if alias.name in modules}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.setdefault(node.attr, path)
    return found


def workspace_sources(root: Path, script: str) -> list[tuple[str, str]]:
    """The other Python files of the workspace at `root` (relative path, text), at most `MAX_FILES` of them."""
    sources = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == Path(script).as_posix() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        try:
            sources.append((rel, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
        if len(sources) >= MAX_FILES:
            break
    return sources


def _defined(tree: ast.Module) -> dict[str, ast.stmt]:
    """The top-level statements of `tree` that define a name (functions, classes, simple assignments, imports)."""
    defined: dict[str, ast.stmt] = {}
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined[statement.name] = statement
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    defined.setdefault(target.id, statement)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                defined.setdefault((alias.asname or alias.name).split(".")[0], statement)
    return defined


def _is_main_block(statement: ast.stmt) -> bool:
    test = getattr(statement, "test", None)
    return (isinstance(statement, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def keep_imported_definitions(old: str, new: str, needed: dict[str, str]) -> tuple[str, list[str]]:
    """`new` with the definitions of `old` put back that it dropped and another file imports (`needed`: name ->
    importing file), and the names put back. `new` is returned as it is when either version does not parse, when
    nothing was dropped, or when the result would not parse."""
    try:
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    except (SyntaxError, ValueError):
        return new, []
    old_defined, new_defined = _defined(old_tree), _defined(new_tree)
    dropped = [name for name in needed if name in old_defined and name not in new_defined
               and not isinstance(old_defined[name], ast.Import | ast.ImportFrom)]
    if not dropped:
        return new, []
    old_lines = old.splitlines()
    blocks, seen = [], set()
    for name in dropped:
        statement = old_defined[name]
        if id(statement) in seen:
            continue
        seen.add(id(statement))
        first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", []))])
        blocks.append("\n".join(old_lines[first - 1:statement.end_lineno]))
    new_lines = new.rstrip("\n").splitlines()
    main = next((s for s in new_tree.body if _is_main_block(s)), None)
    at = main.lineno - 1 if main is not None else len(new_lines)
    inserted = [line for block in blocks for line in ("", "", *block.splitlines())] + ["", ""]
    merged = re.sub(r"\n{4,}", "\n\n\n", "\n".join([*new_lines[:at], *inserted, *new_lines[at:]]).rstrip("\n") + "\n")
    try:
        ast.parse(merged)
    except SyntaxError:
        return new, []
    return merged, dropped
