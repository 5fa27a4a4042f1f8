"""Section headings of a PDF: from its outline when it has one, else from typography and numbering.

- Outline first: the bookmarks are the author's own section list. Each entry is found on its page by its text
  (case, accents, spacing and the number ignored; a heading wrapped over two lines is joined), and takes the
  outline's level and wording.
- Without an outline, a heading is a short line set apart by type (bold, larger than the body, or capitals, and
  not smaller than the body), on its own line. Numbered headings must continue the numbering ("1", "2", "2.1",
  "3"; appendices "A", "B"), so a table cell, a footnote "1 ..." or a theorem label never becomes a section.
  A paper without numbers takes as headings the lines in the style of its "References"/"Abstract" headings.
- Unnumbered standard headings (Abstract, Acknowledgments, References, Appendix, Limitations, ...) are found in
  both cases, and each heading gets a `kind`: front, body, back or appendix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from copilot.paper.layout import Line
from copilot.paper.model import OutlineEntry, SectionKind

NUMBER = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3}|[A-H](?:\.\d{1,2}){0,3}|[IVX]{1,5})(?:\.|:)?\s+"
                    r"(?P<rest>\S.*)$")
FRONT = (r"abstract|summary|contents|table of contents|keywords|key words|author keywords|index terms|"
         r"acm classification(?: keywords)?|ccs concepts|general terms|categories and subject descriptors|"
         r"acm reference format")
SPECIAL = re.compile(rf"^({FRONT}|acknowledge?ments?|acknowledge?ment|references|bibliography|"
                     r"literature cited|works cited|appendix|appendices|supplementary materials?|table of contents|"
                     r"limitations|ethics statement|ethical considerations|ethics|broader impacts?(?: statement)?|"
                     r"impact statement|funding|author contributions|reproducibility statement|"
                     r"checklist|contents)\s*[.:]?$", re.IGNORECASE)
BACK = re.compile(r"^(acknowledge?ments?|references|bibliography|literature cited|works cited|funding|"
                  r"author contributions|limitations|ethics statement|ethical considerations|ethics|"
                  r"broader impacts?(?: statement)?|impact statement|reproducibility statement|checklist)",
                  re.IGNORECASE)
ALWAYS_BACK = re.compile(r"^(acknowledge?ments?|references|bibliography|literature cited|works cited)",
                         re.IGNORECASE)
REFERENCES = re.compile(r"^(references|bibliography|literature cited|works cited)$", re.IGNORECASE)
APPENDIX_DIVIDER = re.compile(r"^(appendix|appendices|supplementary materials?)$", re.IGNORECASE)
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11,
         "XII": 12}


@dataclass
class Heading:
    """A heading found in the lines: where it starts and ends (line indexes), its words, number, level, kind."""

    start: int
    end: int
    title: str
    number: str | None
    level: int
    kind: SectionKind = "body"
    run_in: str = ""


def key(text: str) -> str:
    """Text compared without case, accents, spacing or punctuation."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text.casefold() if c.isalnum())


def split_number(text: str) -> tuple[str | None, str]:
    """("3.2", "Model") for "3.2 Model" or "3.2. Model"; (None, text) when unnumbered."""
    match = NUMBER.match(text.strip())
    if not match:
        return None, text.strip()
    return match.group("num"), match.group("rest").strip()


def _styled(line: Line, size: float) -> bool:
    printed = line.top_size if line.caps else line.size  # small caps: the capitals' size, not the small letters'
    if printed < size - 0.6:
        return False
    return line.bold or line.size >= size + 0.8 or line.caps


def _plausible(text: str) -> bool:
    words = text.split()
    if not words or len(words) > 16 or len(text) > 120:
        return False
    if text.endswith((",", ";")) or (text.endswith(".") and len(words) > 6):
        return False
    return any(c.isalpha() for c in text) and not re.match(r"^(figure|fig\.|table|algorithm|theorem|lemma|"
                                                           r"corollary|proposition|definition|proof|remark|"
                                                           r"assumption|example|step)\b", text, re.IGNORECASE)


def _wrapped(lines: list[Line], start: int, size: float) -> int:
    """The last line of a heading starting at `start` that wraps onto following lines of the same style."""
    end = start
    first = lines[start]
    while end + 1 < len(lines) and end - start < 2:
        nxt = lines[end + 1]
        same = (nxt.page == first.page and nxt.block == first.block and abs(nxt.size - first.size) < 0.4
                and nxt.bold == first.bold and nxt.caps == first.caps and 0 < nxt.y0 - lines[end].y0 < 2 * first.size)
        if not same or split_number(nxt.text)[0] is not None or not _plausible(nxt.text):
            break
        end += 1
    return end


def _join(lines: list[Line], start: int, end: int) -> str:
    return " ".join(line.text for line in lines[start : end + 1]).strip()


def _level(number: str | None) -> int:
    return 1 if number is None else number.count(".") + 1


def typographic(lines: list[Line], size: float) -> list[Heading]:
    """Headings found by type and numbering (no outline). The numbered top-level headings are those of the one style
    (size, weight) whose numbers run longest in sequence: an address line "1 University Station" in the author
    block, a footnote or a list item "1 ..." in another style does not start or break the sequence."""
    styles: list[tuple[float, bool] | None] = []
    for line in lines:
        number = split_number(line.text)[0]
        if number and number.isdigit() and _styled(line, size) and _plausible(line.text):
            candidate = (round(line.size * 2) / 2, line.bold)
            if candidate not in styles:
                styles.append(candidate)
    best: list[Heading] = []
    for style in styles or [None]:
        found = _typographic(lines, size, style)
        if sum(1 for h in found if h.number) > sum(1 for h in best if h.number) or not best:
            best = found
    return best


def _typographic(lines: list[Line], size: float, top_style: tuple[float, bool] | None) -> list[Heading]:
    found: list[Heading] = []
    last_top = 0
    last_letter = ""
    subs: dict[int, list[int]] = {}
    in_appendix = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if not _styled(line, size) or not _plausible(line.text):
            index += 1
            continue
        end = _wrapped(lines, index, size)
        text = _join(lines, index, end)
        number, rest = split_number(text)
        if number is None and SPECIAL.match(rest):
            found.append(Heading(index, end, rest.rstrip(".:"), None, 1))
            in_appendix = in_appendix or bool(REFERENCES.match(rest.rstrip(".:")) or APPENDIX_DIVIDER.match(rest))
            index = end + 1
            continue
        if number is None:
            index += 1
            continue
        parts = number.split(".")
        head = parts[0]
        style = (round(line.size * 2) / 2, line.bold)
        accepted = False
        if len(parts) == 1 and head.isdigit():
            value = int(head)
            if last_top < value <= last_top + 2 and (top_style is None or _close(style, top_style)):
                top_style = top_style or style
                last_top, accepted = value, True
        elif len(parts) == 1 and head in ROMAN and head not in "ABCDEFGH":
            value = ROMAN[head]
            if last_top < value <= last_top + 2 and (top_style is None or _close(style, top_style)):
                top_style = top_style or style
                last_top, accepted = value, True
        elif len(parts) == 1 and head.isalpha():
            expected = chr(ord(last_letter) + 1) if last_letter else "A"
            if in_appendix and head == expected and (top_style is None or _close(style, top_style)):
                last_letter, accepted = head, True
        else:
            parent = int(head) if head.isdigit() else None
            if (head.isalpha() and head == last_letter) or parent == last_top:
                numbers = subs.setdefault(len(parts), [])
                accepted = True
                numbers.append(int(parts[-1]) if parts[-1].isdigit() else 0)
        if accepted:
            found.append(Heading(index, end, rest, number, _level(number)))
            index = end + 1
        else:
            index += 1
    if last_top < 2 and not last_letter:
        found = [h for h in found if h.number is None] + _unnumbered(lines, size, found)
        found.sort(key=lambda h: h.start)
    return found


def _close(a: tuple[float, bool], b: tuple[float, bool]) -> bool:
    return abs(a[0] - b[0]) <= 0.6 and a[1] == b[1]


def _unnumbered(lines: list[Line], size: float, specials: list[Heading]) -> list[Heading]:
    """For a paper without section numbers: lines in the style of its standard headings."""
    styles = {(round(lines[h.start].size * 2) / 2, lines[h.start].bold, lines[h.start].caps) for h in specials
              if h.number is None and not APPENDIX_DIVIDER.match(h.title)}
    taken = {h.start for h in specials}
    out = []
    for index, line in enumerate(lines):
        if index in taken or line.style not in styles or not _plausible(line.text) or line.text.endswith("."):
            continue
        if index > 0 and lines[index - 1].page == line.page and lines[index - 1].block == line.block \
                and lines[index - 1].style == line.style:
            continue
        out.append(Heading(index, index, line.text, None, 1))
    return out


def from_outline(lines: list[Line], outline: list[OutlineEntry], size: float) -> tuple[list[Heading], list[str]]:
    """Headings located from the outline entries, with the standard unnumbered headings the outline leaves out;
    and the outline entries that could not be found in the text."""
    found: list[Heading] = []
    missing: list[str] = []
    position = 0
    for entry in outline:
        number, rest = split_number(entry.title)
        target = key(rest)
        if not target:
            continue
        match = _locate(lines, position, entry.page - 1, target, key(entry.title))
        if match is None:
            match = _locate(lines, 0, entry.page - 1, target, key(entry.title))
        if match is None:
            missing.append(entry.title)
            continue
        start, end, run_in = match
        printed_number, _ = split_number(_join(lines, start, end))
        number = number or printed_number
        found.append(Heading(start, end, _clean_title(rest), number, entry.level, run_in=run_in))
        position = end + 1
    taken = {h.start for h in found}
    for heading in typographic(lines, size):
        if heading.number is None and SPECIAL.match(heading.title) and heading.start not in taken \
                and not any(h.start <= heading.start <= h.end for h in found):
            found.append(heading)
    found.sort(key=lambda h: h.start)
    return found, missing


def _clean_title(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _locate(lines: list[Line], position: int, page: int, target: str, full: str) -> tuple[int, int, str] | None:
    """The first and last line of the heading `target` after `position`, and the text after it on its last line
    when it is a run-in heading ("2.1. PageRank. The ..."): on its outline page first, then on the pages next to it
    (outline page numbers can be off by one; a printed table of contents on another page must not be taken for the
    headings)."""
    for wanted in (page, page + 1, page - 1):
        for index in range(position, len(lines)):
            if lines[index].page != wanted:
                if lines[index].page > wanted:
                    break
                continue
            text = ""
            for end in range(index, min(index + 3, len(lines))):
                text = f"{text} {lines[end].text}" if text else lines[end].text
                rest = split_number(text)[1]
                if key(rest) == target or key(text) == full or key(text) == target:
                    return index, end, ""
                if len(key(text)) >= len(full):
                    break
            run_in = _run_in(lines[index].text, target)
            if run_in is not None:
                return index, index, run_in
    return None


def _run_in(text: str, target: str) -> str | None:
    """The text after a run-in heading `target` at the start of `text` ("2.1. PageRank. PageRank is ..."), or None."""
    number, rest = split_number(text)
    if number is None or not key(rest).startswith(target):
        return None
    consumed = ""
    for position, char in enumerate(rest):
        if char.isalnum():
            consumed += char.casefold()
        if key(consumed) == target:
            return rest[position + 1 :].lstrip(" .:—–-")
    return None


def assign_kinds(headings: list[Heading]) -> None:
    """front (abstract), back (references, acknowledgements, unnumbered statements), appendix (after the references
    or an appendix divider, or lettered), body otherwise; subsections take their parent's kind."""
    after_references = False
    in_appendix = False
    parent_kind: SectionKind = "body"
    numbered_paper = any(h.number and h.number.isdigit() for h in headings)
    for heading in headings:
        title = heading.title
        if heading.level > 1:
            heading.kind = parent_kind
            continue
        if re.match(rf"^({FRONT})$", title, re.IGNORECASE) and not after_references:
            kind: SectionKind = "front"
        elif ALWAYS_BACK.match(title):
            kind = "back"
            after_references = after_references or bool(REFERENCES.match(title))
        elif BACK.match(title) and (heading.number is None or not numbered_paper):
            kind = "back"
        elif APPENDIX_DIVIDER.match(title):
            in_appendix, kind = True, "appendix"
        elif in_appendix or after_references or (heading.number is not None and heading.number.isalpha()
                                                 and heading.number not in ROMAN):
            kind = "appendix"
        else:
            kind = "body"
        heading.kind = parent_kind = kind
