"""Whether a new version of a Python file is a new program, or the old one with other comments.

A small model asked for one part of a method sometimes copies the instruction into the file as comments and
changes no statement: on a real time-series task of the suite, the embedded model's four attempts in a row added
comments such as "# Add only this part of the paper's method ..." around the unchanged nearest-neighbour code, and
each was run and measured as the baseline again. Such a reply is treated as a reply that changed nothing.
"""

from __future__ import annotations

import ast


def _statements_only(tree: ast.AST) -> ast.AST:
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


def same_program(old: str, new: str) -> bool:
    """True when `new` differs from `old` only in comments, docstrings, blank lines or layout (both parse as Python
    and have the same syntax tree once bare strings are set aside). Code that does not parse is never the same."""
    try:
        trees = [_statements_only(ast.parse(text)) for text in (old, new)]
    except (SyntaxError, ValueError):
        return False
    return ast.dump(trees[0]) == ast.dump(trees[1])
