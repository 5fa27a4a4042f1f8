"""Search/replace edit blocks (the format Aider's benchmarks found small models handle best): reading them out of a
model's reply, and applying them to a file's text with tolerant matching.

A block names a file on the line before it, then copies the lines to change and gives their replacement:

    train.py
    <<<<<<< SEARCH
    model = DecisionTreeClassifier(max_depth=4)
    =======
    model = RandomForestClassifier(n_estimators=200)
    >>>>>>> REPLACE

`find` locates a block's SEARCH lines in four passes, each used only when the one before found nothing: exact lines;
the same lines ignoring trailing whitespace; the same lines ignoring all indentation (the replacement is re-indented
by the difference, as a model that copied a method body without its class indentation needs); and a fuzzy pass over
windows of the same number of lines, taking the window whose `difflib` ratio is highest when it is at least
`FUZZY_THRESHOLD` and no other window (not overlapping it) comes within `FUZZY_MARGIN` of it. Several matches in one
pass are ambiguous and reported, never guessed. Hand-written rather than taken from Aider (Apache-2.0, an
application, not a library one can import): the passes are short, and the reports they give back have to name the
block and the closest lines found, which Aider's do not return as values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

MatchKind = Literal["exact", "whitespace", "indentation", "fuzzy"]

FUZZY_THRESHOLD = 0.85  # difflib ratio of a window to the SEARCH lines (whitespace stripped) to count as a match
FUZZY_MARGIN = 0.03  # a second window this close to the best makes the match ambiguous
LINE_PAIR_RATIO = 0.5  # a SEARCH line and a REPLACE line this alike are one line changed (for merge_fuzzy)

SEARCH_MARK = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
DIVIDER_MARK = re.compile(r"^\s*={5,9}\s*$")
REPLACE_MARK = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
FENCE_LINE = re.compile(r"^\s*```")
PATH_LINE = re.compile(r"^[\w.\-/\\]+\.\w+$")
NUMBER_PREFIX = re.compile(r"^ *\d+\| ?")  # the numbered view's `  12| ` prefix, copied by a model into SEARCH


class EditBlock(BaseModel):
    """One search/replace block of a reply; `path` is None when no file name preceded it."""

    index: int
    path: str | None
    search: str
    replace: str

    @property
    def changes_nothing(self) -> bool:
        """Whether REPLACE repeats SEARCH (up to trailing whitespace and blank lines around them)."""
        def lines(text: str) -> list[str]:
            return [line.rstrip() for line in text.strip("\n").splitlines()]

        return bool(self.search.strip()) and lines(self.search) == lines(self.replace)


class Match(BaseModel):
    """Where a block's SEARCH lines were found: lines `start` to `end` (0-based, end exclusive) of the file."""

    start: int
    end: int
    kind: MatchKind
    score: float = 1.0
    indent_delta: int = 0  # columns the replacement is shifted by (file indentation minus SEARCH indentation)


class NoMatch(BaseModel):
    """Why a block's SEARCH lines could not be placed: nowhere (with the closest window) or more than once."""

    reason: Literal["nowhere", "ambiguous", "empty"]
    candidates: list[tuple[int, int]] = []  # (start, end) line ranges: the matches, or the closest window
    score: float = 0.0
    kind: MatchKind | None = None  # the pass that found several places


def parse_blocks(reply: str) -> tuple[list[EditBlock], list[str]]:
    """The complete blocks of a reply, in order, and one line per malformed block (incomplete or markers out of
    order). The file name is the last non-fence line before the SEARCH marker when it looks like a path."""
    lines = reply.splitlines()
    blocks: list[EditBlock] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        if not SEARCH_MARK.match(lines[i]):
            if DIVIDER_MARK.match(lines[i]) or REPLACE_MARK.match(lines[i]):
                problems.append(f"a `{lines[i].strip()}` line appears without a `<<<<<<< SEARCH` line before it")
            i += 1
            continue
        index = len(blocks) + len(problems) + 1
        path = _path_before(lines, i)
        search: list[str] = []
        replace: list[str] = []
        section = search
        j = i + 1
        closed = False
        while j < len(lines):
            line = lines[j]
            if SEARCH_MARK.match(line):
                break
            if DIVIDER_MARK.match(line) and section is search:
                section = replace
            elif REPLACE_MARK.match(line) and section is replace:
                closed = True
                j += 1
                break
            else:
                section.append(line)
            j += 1
        if closed:
            blocks.append(EditBlock(index=index, path=path, search=_joined(search), replace=_joined(replace)))
        elif section is search:
            problems.append(f"block {index} has no `=======` line between its SEARCH and REPLACE parts")
        else:
            problems.append(f"block {index} has no `>>>>>>> REPLACE` line at its end (was the reply cut off?)")
        i = j
    return blocks, problems


def _path_before(lines: list[str], marker: int) -> str | None:
    for line in reversed(lines[max(0, marker - 3) : marker]):
        if not line.strip() or FENCE_LINE.match(line):
            continue
        name = line.strip().strip("`*#:").strip()
        name = re.sub(r"^(file|path|filename)\s*:\s*", "", name, flags=re.IGNORECASE).strip("`* ")
        return name if PATH_LINE.match(name) else None
    return None


def _joined(lines: list[str]) -> str:
    return "\n".join(lines) + ("\n" if lines else "")


def strip_line_numbers(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Remove the numbered view's `  12| ` prefixes when every non-blank SEARCH line carries one (a model copying
    from the numbered file view), from both parts; otherwise return both unchanged."""
    filled = [line for line in search if line.strip()]
    if not filled or not all(NUMBER_PREFIX.match(line) for line in filled):
        return search, replace
    return ([NUMBER_PREFIX.sub("", line, count=1) for line in search],
            [NUMBER_PREFIX.sub("", line, count=1) for line in replace])


def trim_blank_ends(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Drop blank lines at the start and end of SEARCH, and as many at the same ends of REPLACE."""
    while search and not search[0].strip():
        search = search[1:]
        if replace and not replace[0].strip():
            replace = replace[1:]
    while search and not search[-1].strip():
        search = search[:-1]
        if replace and not replace[-1].strip():
            replace = replace[:-1]
    return search, replace


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _first_filled(lines: list[str]) -> str:
    return next((line for line in lines if line.strip()), "")


def _equal_starts(lines: list[str], search: list[str], norm: Callable[[str], str]) -> list[int]:
    """Starts of the windows of `lines` equal to `search` line by line after `norm`."""
    normed = [norm(line) for line in lines]
    target = [norm(line) for line in search]
    n = len(target)
    return [i for i in range(len(lines) - n + 1) if normed[i : i + n] == target]


def find(lines: list[str], search: list[str]) -> Match | NoMatch:
    """Where `search` (trimmed SEARCH lines) occurs in `lines`: see the module docstring for the four passes."""
    if not search:
        return NoMatch(reason="empty")
    n = len(search)
    passes: list[tuple[MatchKind, Callable[[str], str]]] = [
        ("exact", lambda line: line), ("whitespace", str.rstrip), ("indentation", str.strip)]
    for kind, norm in passes:
        starts = _equal_starts(lines, search, norm)
        if len(starts) > 1:
            return NoMatch(reason="ambiguous", candidates=[(s, s + n) for s in starts], score=1.0, kind=kind)
        if starts:
            start = starts[0]
            delta = _indent(_first_filled(lines[start : start + n])) - _indent(_first_filled(search))
            return Match(start=start, end=start + n, kind=kind, indent_delta=delta if kind == "indentation" else 0)
    return _fuzzy(lines, search)


def _key(lines: list[str]) -> str:
    """What the fuzzy pass compares: the non-blank lines, stripped."""
    return "\n".join(line.strip() for line in lines if line.strip())


def _fuzzy(lines: list[str], search: list[str]) -> Match | NoMatch:
    n = len(search)
    if len(lines) < n:
        return NoMatch(reason="nowhere", candidates=[(0, len(lines))] if lines else [], score=0.0)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(_key(search))
    scores: list[float] = []
    for start in range(len(lines) - n + 1):
        matcher.set_seq1(_key(lines[start : start + n]))
        scores.append(matcher.ratio() if matcher.real_quick_ratio() >= FUZZY_THRESHOLD - FUZZY_MARGIN else 0.0)
    best = max(range(len(scores)), key=lambda s: (scores[s], -s))
    if scores[best] < FUZZY_THRESHOLD:
        closest = _closest(lines, search)
        return NoMatch(reason="nowhere", candidates=[closest[0]], score=closest[1])
    rivals = [s for s in range(len(scores)) if abs(s - best) >= n and scores[s] >= scores[best] - FUZZY_MARGIN]
    if rivals:
        return NoMatch(reason="ambiguous", candidates=[(s, s + n) for s in sorted([best, *rivals])],
                       score=scores[best], kind="fuzzy")
    delta = _indent(_first_filled(lines[best : best + n])) - _indent(_first_filled(search))
    return Match(start=best, end=best + n, kind="fuzzy", score=scores[best], indent_delta=delta)


def _closest(lines: list[str], search: list[str]) -> tuple[tuple[int, int], float]:
    """The window of `len(search)` lines most like `search`, starting on a non-blank line where there is one (for
    the report of a block that matched nowhere)."""
    n = min(len(search), len(lines))
    target = _key(search)
    best, best_score = 0, -1.0
    for start in range(len(lines) - n + 1):
        if not lines[start].strip() and any(line.strip() for line in lines):
            continue
        score = difflib.SequenceMatcher(None, _key(lines[start : start + n]), target, autojunk=False).ratio()
        if score > best_score:
            best, best_score = start, score
    return (best, best + n), max(best_score, 0.0)


def reindent(lines: list[str], delta: int, unit: str = " ") -> list[str]:
    """Shift every non-blank line by `delta` columns (removing at most the indentation a line has)."""
    if delta == 0:
        return list(lines)
    shifted = []
    for line in lines:
        if not line.strip():
            shifted.append(line)
        elif delta > 0:
            shifted.append(unit * delta + line)
        else:
            shifted.append(line[min(-delta, _indent(line)) :])
    return shifted


def merge_line(actual: str, search: str, replace: str) -> str | None:
    """`actual` (the file's line) with the character edits that turn `search` (the model's copy of it) into
    `replace`, each made where the same characters are in `actual`; None when an edit falls on characters the copy
    got wrong. Indentation: `actual`'s, shifted as `replace` shifts `search`'s."""
    a, s, r = actual.strip(), search.strip(), replace.strip()
    aligned = difflib.SequenceMatcher(None, s, a, autojunk=False).get_matching_blocks()

    def where(start: int, end: int) -> int | None:
        """The position in `a` of `s[start:end]`, when those characters are matched there in one piece; for an
        insertion (start == end), when the characters on both sides of it are."""
        low, high = (start, end) if start < end else (max(start - 1, 0), min(start + 1, len(s)))
        for block in aligned:
            if block.size and block.a <= low and high <= block.a + block.size:
                return block.b + start - block.a
        return None

    if a == r:
        return actual  # the model's new line is the file's line: its "edit" corrected its own copy
    merged = a
    for tag, i1, i2, j1, j2 in reversed(difflib.SequenceMatcher(None, s, r, autojunk=False).get_opcodes()):
        if tag == "equal":
            continue
        at = where(i1, i2) if s else 0
        if at is None:
            return None
        merged = merged[:at] + r[j1:j2] + merged[at + (i2 - i1) :]
    indent = max(0, _indent(actual) + _indent(replace) - _indent(search))
    return " " * indent + merged if merged else ""


def merge_fuzzy(window: list[str], search: list[str], replace: list[str]) -> list[str]:
    """The replacement for a fuzzy match, as a three-way merge: lines that SEARCH and REPLACE share keep the file's
    text (`window`, as long as SEARCH); a changed line gets the model's character edits made on the file's line
    (`merge_line`); added lines come from REPLACE, re-indented like the window. A model that misremembers a line
    (`model = Tree(...)` for `return Tree(...)`) so changes what it meant to, not what it misremembered."""
    first = _indent(_first_filled(window)) - _indent(_first_filled(search))
    # How far each SEARCH line is from the file's line (a model may drop the indentation of some lines only).
    shifts = [_indent(w) - _indent(x) if w.strip() and x.strip() else first for w, x in zip(window, search,
                                                                                              strict=True)]
    out: list[str] = []
    ops = difflib.SequenceMatcher(None, [x.strip() for x in search], [x.strip() for x in replace],
                                  autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        delta = shifts[min(i1, len(shifts) - 1)] if shifts else first
        if tag == "equal":
            out += window[i1:i2]
        elif tag == "replace":
            # Changed lines pair up in order while they still look alike; the rest is new text or removed.
            pairs = 0
            while (pairs < min(i2 - i1, j2 - j1) and difflib.SequenceMatcher(
                    None, search[i1 + pairs].strip(), replace[j1 + pairs].strip()).ratio() >= LINE_PAIR_RATIO):
                merged = merge_line(window[i1 + pairs], search[i1 + pairs], replace[j1 + pairs])
                out += [merged] if merged is not None else reindent([replace[j1 + pairs]], delta)
                pairs += 1
            out += reindent(replace[j1 + pairs : j2], delta)
        elif tag == "insert":
            out += reindent(replace[j1:j2], delta)
    return out


class Applied(BaseModel):
    """A block placed in the file: where (1-based lines of the file before this block), and how it matched.
    `already_applied`: SEARCH is nowhere but REPLACE is there (a block sent again after it was applied)."""

    index: int
    path: str
    kind: MatchKind | Literal["new_file", "already_applied"]
    first_line: int
    last_line: int
    score: float = 1.0
    new_lines: int = 0  # lines the replacement has
    places: int = 1  # places replaced (a block sent once per place it matches replaces all of them)


class Failed(BaseModel):
    """A block that could not be placed, with the message the model reads."""

    index: int
    path: str
    message: str


def apply_block(text: str, block: EditBlock, path: str, copies: int = 1) -> tuple[str, Applied | Failed]:
    """`text` with `block` applied (unchanged when it does not apply), and what happened. `copies` is how many
    times the reply holds this same block: a SEARCH that matches exactly that many places replaces each of them."""
    had_newline = text.endswith("\n") or not text
    lines = text.splitlines()
    search, replace = strip_line_numbers(block.search.splitlines(), block.replace.splitlines())
    search, replace = trim_blank_ends(search, replace)
    found = find(lines, search)
    done = find(lines, replace) if replace else None
    # Sent again after it was applied: REPLACE is in the file, and SEARCH nowhere or only inside it (an insertion).
    if isinstance(done, Match) and done.kind != "fuzzy" and (
            (isinstance(found, NoMatch) and found.reason == "nowhere")
            or (isinstance(found, Match) and done.start <= found.start and found.end <= done.end)):
        return text, Applied(index=block.index, path=path, kind="already_applied", first_line=done.start + 1,
                             last_line=done.end, new_lines=len(replace))
    if isinstance(found, NoMatch) and found.reason == "ambiguous" and found.kind != "fuzzy" \
            and len(found.candidates) == copies:
        places = [Match(start=a, end=b, kind=found.kind or "exact", indent_delta=_indent(_first_filled(
            lines[a:b])) - _indent(_first_filled(search)) if found.kind == "indentation" else 0)
            for a, b in found.candidates]
    elif isinstance(found, NoMatch):
        return text, Failed(index=block.index, path=path, message=_report(block, path, lines, search, found))
    else:
        places = [found]
    new: list[str] = []
    for place in reversed(places):  # from the end, so earlier places keep their line numbers
        unit = "\t" if lines[place.start].startswith("\t") else " "
        new = (merge_fuzzy(lines[place.start : place.end], search, replace) if place.kind == "fuzzy"
               else reindent(replace, place.indent_delta, unit))
        lines = [*lines[: place.start], *new, *lines[place.end :]]
    joined = "\n".join(lines) + ("\n" if had_newline and lines else "")
    first = places[0]
    return joined, Applied(index=block.index, path=path, kind=first.kind, first_line=first.start + 1,
                           last_line=first.end, score=round(first.score, 3), new_lines=len(new),
                           places=len(places))


def _report(block: EditBlock, path: str, lines: list[str], search: list[str], found: NoMatch) -> str:
    head = f"block {block.index} ({path}, SEARCH starting `{_first_filled(search).strip()[:80]}`)"
    if found.reason == "empty":
        return (f"block {block.index} ({path}) has an empty SEARCH part; copy the lines to change from {path} into "
                "it")
    if found.reason == "ambiguous":
        shown = []
        for a, b in found.candidates[:3]:
            shown.append("\n".join(f"{n:>5}| {lines[n - 1]}" for n in range(max(1, a), min(len(lines), b + 1) + 1)))
        more = f"\n(and {len(found.candidates) - 3} more)" if len(found.candidates) > 3 else ""
        return (f"{head} matches {len(found.candidates)} places in {path}, shown here with the line above and below "
                "each:\n```\n" + "\n  ...\n".join(shown) + f"\n```{more}\nCopy the line above or below the one "
                "to change into SEARCH (and REPLACE) so that the block matches one place only.")
    if not found.candidates:
        return f"{head} matches nothing: {path} is empty"
    (start, end), score = found.candidates[0], found.score
    excerpt = "\n".join(lines[start:end])
    return (f"{head} matches no lines of {path}. The closest lines are {start + 1}-{end} (similarity "
            f"{score:.2f}):\n```\n{excerpt}\n```\nCopy the SEARCH lines exactly as they are in {path}.")
