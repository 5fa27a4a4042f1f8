"""A failing line fixed on its own: the lines around the one a traceback points to, asked back corrected and spliced in.

Why: asked for the whole corrected file, the embedded 1.5B model gives the file back unchanged more often than not
(real suite: every repair reply of diabetes-gbr's crashing 167-line starter, about 90 s and 1,490 tokens each, and 10
of 13 fix rounds of the first suite run). Shown only the eleven lines around the failing one, with the error and the
file's imports, it answers in about 5 s with a changed line (tried on that crash: `reg.loss_` became `reg.loss`, and
shown the next error, another call). The whole-file agent asks for a line fix where it would otherwise give up: after
a reply that repeats the file while a traceback into the script is known. Measured on the real suite and the demos
(docs/benchmarks.md, at ba96b5f): 59 replies, 15 placed in the file, 2 of those made the script run.

The reply need not be the whole window: it is aligned with the window's lines (`difflib`) and replaces only the span
it covers, re-indented when the model dropped the window's indentation.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

from copilot.coach.repairs import failing_line
from copilot.experiment.analyst import FENCE

ERROR_CHARS = 1500
COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
            ast.AsyncFunctionDef, ast.ClassDef, ast.Match, ast.TryStar)


@dataclass
class Window:
    """Lines `start`..`end` (1-based, inclusive) of a script around the line `failing` a traceback points to."""

    start: int
    end: int
    failing: int
    lines: list[str]


def failing_window(code: str, output: str, script: str, radius: int = 5) -> Window | None:
    """The window of `code` around the last line of `script` that the traceback in `output` passes through, or None
    when the traceback does not point into `script` (or past its end)."""
    line = failing_line(output, script)
    lines = code.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return None
    start, end = _whole_statements(code, max(1, line - radius), min(len(lines), line + radius))
    return Window(start=start, end=end, failing=line, lines=lines[start - 1:end])


def _whole_statements(code: str, start: int, end: int) -> tuple[int, int]:
    """`start`..`end` widened so that no simple statement is cut (a window ending on `plt.plot(` invited the model
    to finish the call its own way, and the splice then broke the file)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return start, end
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, COMPOUND):
            continue
        first, last = node.lineno, node.end_lineno or node.lineno
        if first < start <= last:
            start = first
        if first <= end < last:
            end = last
    return start, end


def error_excerpt(text: str) -> str:
    """The traceback part of `text` (a run's output, or an instruction quoting one), at most `ERROR_CHARS` long."""
    at = text.rfind("Traceback (most recent call last)")
    excerpt = text[at:] if at >= 0 else text
    return excerpt.strip()[-ERROR_CHARS:]


def import_lines(code: str) -> list[str]:
    """The file's top-level import statements, as written (what a fixed line may use without importing)."""
    return [line for line in code.splitlines() if re.match(r"(import|from)\s+[\w.]+", line)]


def reply_lines(reply: str) -> str | None:
    """The longest fenced code block of a line-fix reply, its indentation kept (the whole-file agent's `split_reply`
    strips the first line's, which made every fix inside a function fail to parse: all 11 of mcts-implement's line
    fixes in the real suite); None without one."""
    blocks = [block for block in FENCE.findall(reply) if block.strip()]
    return max(blocks, key=len) if blocks else None


def _indent(lines: list[str]) -> int:
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    return min(widths) if widths else 0


def _best_place(old: list[str], new: list[str], least: float = 0.6) -> tuple[int, int] | None:
    """Where in `old` the lines `new` (none equal to an old line) fit best, as a `(begin, stop)` span of as many
    lines, when their mean similarity there is at least `least`; None otherwise."""
    if not new or len(new) > len(old):
        return None
    def fit(at: int) -> float:
        return sum(difflib.SequenceMatcher(a=old[at + k].strip(), b=line.strip()).ratio()
                   for k, line in enumerate(new)) / len(new)
    at = max(range(len(old) - len(new) + 1), key=fit)
    return (at, at + len(new)) if fit(at) >= least else None


def splice(code: str, window: Window, reply: str) -> str | None:
    """`code` with the part of `window` that `reply` (the model's corrected lines) covers replaced by it; None when
    the reply cannot be placed (nothing in it matches the window and its length differs) or the result does not
    parse as Python."""
    new = reply.rstrip("\n").splitlines()
    while new and not new[0].strip():
        new.pop(0)
    if not new:
        return None
    old = window.lines
    matcher = difflib.SequenceMatcher(a=[line.strip() for line in old], b=[line.strip() for line in new],
                                      autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size and old[block.a].strip()]
    if blocks:
        first, last = blocks[0], blocks[-1]
        begin = max(0, first.a - first.b)
        stop = min(len(old), last.a + last.size + (len(new) - last.b - last.size))
    elif (placed := _best_place(old, new)) is not None:
        begin, stop = placed
    elif abs(len(new) - len(old)) <= 1:
        begin, stop = 0, len(old)
    else:
        return None
    shift = _indent(old[begin:stop]) - _indent(new)
    if shift > 0:
        new = [" " * shift + line if line.strip() else line for line in new]
    lines = code.splitlines()
    first_line = window.start - 1 + begin
    result = lines[:first_line] + new + lines[window.start - 1 + stop:]
    text = "\n".join(result) + ("\n" if code.endswith("\n") else "")
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text
