"""Reference lists: split into entries (numbered, author-year and ACL styles), and each entry parsed into authors,
year, title, arXiv id and DOI.

Entries are split by what the page shows: a `[N]` or `N.` marker at line start (numbered lists), else the hanging
indent (an entry's first line starts at the column's left edge, its other lines are indented), else the extra space
between entries. Plain text (Markdown papers) is split by markers or blank lines.
"""

from __future__ import annotations

import re
from itertools import pairwise
from statistics import median
from typing import TYPE_CHECKING

from copilot.paper.layout import join_lines
from copilot.paper.model import Reference

if TYPE_CHECKING:
    from copilot.paper.layout import Line

ARXIV_NEW = re.compile(r"(?:arXiv:|arxiv\.org/(?:abs|pdf)/)?\b(\d{4}\.\d{4,5})(v\d+)?\b", re.IGNORECASE)
ARXIV_OLD = re.compile(r"(?:arXiv:|arxiv\.org/(?:abs|pdf)/)([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE)
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>,;]+[^\s\"<>,;.)\]])", re.IGNORECASE)
YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)[a-z]?\b")
URL = re.compile(r"https?://[^\s<>\"')\]]+")
ENTRY_START = re.compile(r"^\s*(\[\d+\]|\d+\.\s|\[[A-Za-z][A-Za-z+\-]*\d{2,4}[a-z]?\])")
NUMBERED = re.compile(r"^\s*\[(\d{1,3})\]")
DOTTED = re.compile(r"^\s*(\d{1,3})\.\s")
LOOKS_CITED = re.compile(r"\b(1[89]\d\d|20\d\d)[a-z]?\b|arxiv|https?://|\bn\.d\.|in press|to appear|forthcoming|"
                         r"preprint|unpublished|personal communication", re.IGNORECASE)
INITIAL = re.compile(r"(?:^|\s)(?:[A-Z]|[A-Z][a-z]?\.-?[A-Z])$")


def find_arxiv_id(text: str) -> str | None:
    """The first arXiv identifier in `text`, without version."""
    match = ARXIV_NEW.search(text) or ARXIV_OLD.search(text)
    return match.group(1) if match else None


def split_entries(text: str) -> list[str]:
    """Split a references section given as plain text into entries: numbered/bracketed markers, else blank-line
    paragraphs."""
    lines = [line.rstrip() for line in text.splitlines()]
    entries: list[str] = []
    if sum(1 for line in lines if ENTRY_START.match(line)) >= 2:
        for line in lines:
            if ENTRY_START.match(line) or not entries:
                entries.append(line.strip())
            elif line.strip():
                entries[-1] += " " + line.strip()
    else:
        block: list[str] = []
        for line in [*lines, ""]:
            if line.strip():
                block.append(line.strip())
            elif block:
                entries.append(" ".join(block))
                block = []
    return [_dehyphenate(e) for e in entries if len(e.strip()) > 15]


def _dehyphenate(text: str) -> str:
    return re.sub(r"(?<=[a-z])-\s+(?=[a-z])", "", text).strip()


def _column(line: Line) -> tuple[int, int]:
    return line.page, 0 if line.x0 < 0.42 * line.page_width else 1


def split_lines(lines: list[Line]) -> list[str]:
    """Split the lines of a reference list into entries, by markers, hanging indent or vertical space."""
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines:
        return []
    numbered = _numbered_starts(lines)
    starts = numbered or _hanging_starts(lines) or _spaced_starts(lines)
    if not starts:
        return split_entries("\n".join(ln.text for ln in lines))
    entries: list[list[str]] = []
    for index, line in enumerate(lines):
        if index in starts or not entries:
            entries.append([line.text])
        else:
            entries[-1].append(line.text)
    joined = [_dehyphenate(join_lines(e)) for e in entries if len(" ".join(e)) > 15]
    return joined if numbered else [e for e in joined if LOOKS_CITED.search(e)]


def _numbered_starts(lines: list[Line]) -> set[int]:
    for pattern in (NUMBERED, DOTTED):
        marked = [(i, int(m.group(1))) for i, ln in enumerate(lines) if (m := pattern.match(ln.text))]
        if len(marked) < 3:
            continue
        chain: list[int] = []
        expected = marked[0][1]
        for index, value in marked:
            if value == expected:
                chain.append(index)
                expected += 1
        if len(chain) >= 0.6 * len(marked):
            return set(chain)
    return set()


def _hanging_starts(lines: list[Line]) -> set[int]:
    lefts: dict[tuple[int, int], float] = {}
    for line in lines:
        col = _column(line)
        lefts[col] = min(lefts.get(col, line.x0), line.x0)
    indented = [line.x0 - lefts[_column(line)] for line in lines]
    flush = [i for i, d in enumerate(indented) if d < 2.5]
    hanging = [d for d in indented if 2.5 <= d < 40]
    if len(hanging) < 0.2 * len(lines) or len(flush) < 2 or len(flush) > 0.85 * len(lines):
        return set()
    typical = median(hanging)
    if sum(1 for d in hanging if abs(d - typical) < 2) < 0.7 * len(hanging):
        return set()
    return set(flush)


def _spaced_starts(lines: list[Line]) -> set[int]:
    gaps = []
    for prev, cur in pairwise(lines):
        if _column(prev) == _column(cur) and cur.y0 > prev.y0:
            gaps.append(cur.y0 - prev.y1)
    if len(gaps) < 4:
        return set()
    line_gap = median(gaps)
    starts = {0}
    for index in range(1, len(lines)):
        prev, cur = lines[index - 1], lines[index]
        if _column(prev) != _column(cur) or cur.y0 <= prev.y0:
            if prev.text.rstrip().endswith("."):
                starts.add(index)  # a new column or page: a new entry when the last one looked finished
            continue
        if cur.y0 - prev.y1 > line_gap + 0.35 * cur.size:
            starts.add(index)
    return starts if 3 <= len(starts) < 0.8 * len(lines) else set()


def parse_reference(raw: str) -> Reference:
    """Parse one entry: authors, year, title (the quoted part, the sentence after the year in ACL style, or the
    sentence after the authors), arXiv id and DOI."""
    body = ENTRY_START.sub("", raw).strip()
    year_match = YEAR.search(body)
    authors_part, title = "", None
    quoted = re.search(r"[\"“](.+?)[\"”]", body)
    acl_year = re.search(r"(?:^|[.,]\s)\(?((?:19|20)\d\d[a-z]?)\)?\.\s+", body)
    if quoted:
        authors_part, title = body[: quoted.start()], quoted.group(1).strip(" ,.")
    elif acl_year and acl_year.start() < 0.6 * len(body):
        authors_part = body[: acl_year.start() + 1]
        rest = body[acl_year.end() :]
        title = _sentences(rest)[0] if rest else None
    else:
        pieces = _sentences(body)
        if len(pieces) >= 2:
            authors_part, title = pieces[0], pieces[1]
    names, rest = _leading_names(body)
    if len(names) >= 1 and (not authors_part or len(authors_part) > 0.6 * len(body)):
        authors_part, title = ", ".join(names), rest.split(",")[0] if rest else None  # "A. B. Smith, C. Wu, Title, in:"
    if title:
        title = re.split(r"\s(?:arXiv:|In |doi:|https?://)", title)[0].strip(" ,.") or None
    doi_match = DOI.search(body)
    return Reference(raw=raw, authors=_authors(authors_part), title=title or None,
                     year=int(year_match.group(1)) if year_match else None, arxiv_id=find_arxiv_id(body),
                     doi=doi_match.group(1) if doi_match else None)


REF_NAME = re.compile(r"^(?:and\s+)?(?:(?:[A-Z]\.\s?-?)+\s*[A-Z][\w'’\-]+(?:\s[A-Z][\w'’\-]+)?|"
                      r"[A-Z][a-z]+(?:\s[A-Z]\.)*\s[A-Z][\w'’\-]+)$")


def _leading_names(body: str) -> tuple[list[str], str]:
    """Comma-separated names at the start of an entry ("P. A. Estevez, P. Vera, K. Saito, Title, in: ...") and the
    text after them."""
    names: list[str] = []
    pieces = body.split(", ")
    for position, piece in enumerate(pieces):
        if REF_NAME.match(piece.strip()):
            names.append(re.sub(r"^and\s+", "", piece.strip()))
        else:
            return names, ", ".join(pieces[position:])
    return names, ""


def _sentences(text: str) -> list[str]:
    """Split at ". " except after an initial ("A. Smith") or a short abbreviation."""
    pieces, start = [], 0
    for match in re.finditer(r"[.?!]\s+", text):
        before = text[start : match.start()]
        if INITIAL.search(before) or re.search(r"\b(et al|vs|Proc|Vol|No|pp|eds?|Jr)$", before):
            continue
        pieces.append(text[start : match.start() + 1].strip())
        start = match.end()
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return pieces


def _authors(text: str) -> list[str]:
    text = re.sub(r"\bet al\.?", "", text).strip(" .,(")
    if not text:
        return []
    parts = [p.strip(" .") for p in re.split(r",\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*|;", text) if p.strip(" .")]
    # "Bloom, Paul" / "Blundell, Charles, Uria, Benigno": surname and given names alternate
    if len(parts) >= 2 and all(len(p.split()) == 1 for p in parts[: 2 * (len(parts) // 2)]):
        pairs = [f"{parts[i + 1]} {parts[i]}" for i in range(0, len(parts) - 1, 2)]
        return pairs + ([parts[-1]] if len(parts) % 2 else [])
    return [p for p in parts if any(c.isalpha() for c in p) and len(p) < 60]
