"""Whether a new version of a Python file is a new program, or the old one with other comments and code that
nothing runs.

A small model asked for one part of a method sometimes copies the instruction into the file as comments and
changes no statement: on a real time-series task of the suite, the embedded model's four attempts in a row added
comments such as "# Add only this part of the paper's method ..." around the unchanged nearest-neighbour code, and
each was run and measured as the baseline again. On a real game-strategy task its five attempts each added new
functions ("expected_payoff", "probability_of_strategy") that nothing called. Such a reply is treated as a reply
that changed nothing.
"""

from __future__ import annotations

import ast

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _statements_only(tree: ast.Module) -> ast.Module:
    """`tree` without its string-only expression statements (docstrings and strings used as comments)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                setattr(node, field, [statement for statement in body if not _is_bare_string(statement)])
    return tree


def _is_bare_string(statement: ast.AST) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def _bound(statement: ast.stmt) -> set[str]:
    """The names a top-level function, class or import statement binds (empty for any other statement)."""
    if isinstance(statement, _DEFINITIONS):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    return set()


def _used(tree: ast.Module, leaving_out: ast.stmt) -> set[str]:
    """Names and attribute names the module uses outside the statement `leaving_out`."""
    used = set()
    for statement in tree.body:
        if statement is not leaving_out:
            for node in ast.walk(statement):
                if isinstance(node, ast.Name):
                    used.add(node.id)
                elif isinstance(node, ast.Attribute):
                    used.add(node.attr)
    return used


def _without_unused_additions(tree: ast.Module, old_names: set[str]) -> ast.Module:
    """`tree` without the top-level functions, classes and imports it adds (binding no name `old_names` has) that
    nothing else in it uses, repeated until none is left (a new function that only another new one calls goes too).
    A decorated definition is kept: its decorator runs."""
    while True:
        unused = next((statement for statement in tree.body
                       if _bound(statement) and not _bound(statement) & old_names
                       and not getattr(statement, "decorator_list", [])
                       and not _bound(statement) & _used(tree, statement)), None)
        if unused is None:
            return tree
        tree.body.remove(unused)


def same_program(old: str, new: str) -> bool:
    """True when `new` differs from `old` only in comments, docstrings, blank lines or layout, and in functions,
    classes or imports it adds that nothing uses (both parse as Python and have the same syntax tree once those are
    set aside). Code that does not parse is never the same."""
    try:
        before, after = (_statements_only(ast.parse(text)) for text in (old, new))
    except (SyntaxError, ValueError):
        return False
    old_names = {name for statement in before.body for name in _bound(statement)}
    return ast.dump(before) == ast.dump(_without_unused_additions(after, old_names))
