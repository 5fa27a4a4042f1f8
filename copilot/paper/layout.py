"""Text lines of a PDF with their layout, cleaned of what is not the paper's running text.

PyMuPDF gives spans (runs of one font) grouped in lines and blocks. This module turns them into `Line`s a reader
would see:

- spans of one word are joined without a space when nothing separates them on the page (small caps set as
  "T" + "OWARDS", kerned or ligature-split words), with a space when there is a gap;
- pieces of one printed line that PyMuPDF split (justified text, a section number set apart from its heading) are
  joined into one line;
- vertical text (arXiv side stamps) is dropped;
- page furniture is marked: running headers and footers (text repeated in the page margins), page numbers,
  proceedings banners in the margins of page 1, and line numbers of review copies beside the text column;
- footnotes (small text below the last body line of a column) are marked, so they stay out of the body but their
  links are still found.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pymupdf

BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|medi|cmbx|bx\d|-b$|tb$|\.b$|,b$", re.IGNORECASE)
SMALL_CAPS_FONT = re.compile(r"csc|smallcaps|small-caps|-sc$|sc\d*$", re.IGNORECASE)
ITALIC_FONT = re.compile(r"italic|oblique|cmti|ti\d|-it$|-i$", re.IGNORECASE)
SPACING_ACCENTS = {"´": "\u0301", "`": "\u0300", "¨": "\u0308", "˜": "\u0303", "ˆ": "\u0302", "¸": "\u0327",
                   "ˇ": "\u030c"}
SPACING_ACCENT = re.compile(r"([´`¨˜ˆ¸ˇ])\s?([A-Za-z])")
BARE_NUMBER = re.compile(r"^(?:[A-Z]|\d+(?:\.\d+)*|[IVX]+)\.?$")
MARGIN = 0.075
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Span:
    """One run of text in one font."""

    text: str
    size: float
    font: str
    bold: bool
    italic: bool
    superscript: bool
    x0: float
    x1: float


@dataclass
class Line:
    """One printed line with its layout; `furniture` and `footnote` mark text outside the running body."""

    page: int
    block: int
    x0: float
    y0: float
    x1: float
    y1: float
    spans: list[Span]
    text: str = ""
    size: float = 0.0
    bold: bool = False
    italic: bool = False
    font: str = ""
    top_size: float = 0.0
    furniture: bool = False
    footnote: bool = False
    page_width: float = 612.0
    page_height: float = 792.0
    caps: bool = False

    @property
    def style(self) -> tuple[float, bool, bool]:
        """What a heading style is compared by: size (to half a point), bold, capitals."""
        return round(self.size * 2) / 2, self.bold, self.caps


def clean_text(text: str) -> str:
    """NFKC (ligatures, compatibility forms), spacing accents put on their letter (`L´eon` -> `Léon`), one space."""
    text = SPACING_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + SPACING_ACCENTS[m.group(1)]), text)
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = CONTROL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _span(raw: dict[str, Any]) -> Span:
    font = raw["font"]
    flags = raw["flags"]
    return Span(text=raw["text"], size=raw["size"], font=font, bold=bool(flags & 16) or bool(BOLD_FONT.search(font)),
                italic=bool(flags & 2) or bool(ITALIC_FONT.search(font)), superscript=bool(flags & 1),
                x0=raw["bbox"][0], x1=raw["bbox"][2])


def join_spans(spans: list[Span]) -> str:
    """The spans' text, with a space only where the page shows a gap (or the span text has one)."""
    out = ""
    previous: Span | None = None
    for span in spans:
        piece = span.text
        if previous is not None and out and not out.endswith(" ") and not piece.startswith(" "):
            gap = span.x0 - previous.x1
            if gap > 0.15 * min(span.size, previous.size):
                out += " "
        out += piece
        previous = span
    return out


def _note_marks_dropped(spans: list[Span]) -> list[Span]:
    """The spans without footnote marks: a raised or smaller number of one or two digits right after punctuation
    ("S2ORC,¹ a corpus", "to train.¹"), where it cannot be an exponent."""
    kept: list[Span] = []
    size = max((s.size for s in spans), default=0.0)
    for span in spans:
        text = span.text.strip()
        raised = span.superscript or span.size < size - 1.5
        after_punctuation = bool(kept) and kept[-1].text.rstrip()[-1:] in ",.;:)”’\"'"
        if raised and after_punctuation and re.fullmatch(r"\d{1,2}", text):
            continue
        kept.append(span)
    return kept


def _finish(line: Line) -> Line:
    main = [s for s in line.spans if s.text.strip()]
    line.text = clean_text(join_spans(_note_marks_dropped(main)))
    weights: Counter[float] = Counter()
    for span in main:
        weights[round(span.size, 1)] += len(span.text.strip())
    line.size = weights.most_common(1)[0][0] if weights else 0.0
    line.top_size = max((s.size for s in main), default=0.0)
    letters = [s for s in main if any(c.isalnum() for c in s.text) and s.size >= line.size - 2.5]
    line.bold = bool(letters) and all(s.bold for s in letters)
    line.italic = bool(letters) and all(s.italic for s in letters)
    line.font = max(main, key=lambda s: len(s.text)).font if main else ""
    line.caps = _caps(line.text, main)
    return line


def _caps(text: str, spans: list[Span]) -> bool:
    """All letters upper case (capitals, or small caps set as capitals), with at least three letters; or every
    worded span in a small-caps font."""
    if text.isupper() and sum(1 for c in text if c.isalpha()) >= 3:
        return True
    worded = [s for s in spans if any(c.isalpha() for c in s.text)]
    return bool(worded) and all(SMALL_CAPS_FONT.search(s.font) for s in worded)


def _same_printed_line(a: Line, b: Line) -> bool:
    """b continues a on the same baseline: PyMuPDF split justified text, or a section number from its heading."""
    if a.page != b.page or b.x0 < a.x1 - 1 or abs(a.y1 - b.y1) > 0.35 * max(a.size, b.size, 1):
        return False
    if a.block == b.block:
        return True
    return bool(BARE_NUMBER.match(a.text)) and b.x0 - a.x1 < 4 * max(a.size, 1)


def page_lines(doc: pymupdf.Document, pages: int) -> list[Line]:
    """The horizontal text lines of the first `pages` pages in reading order, spans joined, split lines rejoined."""
    lines: list[Line] = []
    for number in range(pages):
        page = doc[number]
        width, height = page.rect.width, page.rect.height
        page_out: list[Line] = []
        for block in page.get_text("dict")["blocks"]:
            for raw in block.get("lines", []):
                if abs(raw["dir"][1]) > 0.2:
                    continue  # vertical text: arXiv side stamps, rotated table headers
                spans = [_span(s) for s in raw["spans"] if s["text"].strip()]
                if not spans:
                    continue
                x0, y0, x1, y1 = raw["bbox"]
                line = _finish(Line(number, block["number"], x0, y0, x1, y1, spans, page_width=width,
                                    page_height=height))
                if not line.text:
                    continue
                if page_out and _same_printed_line(page_out[-1], line):
                    last = page_out[-1]
                    last.spans += spans
                    last.x1, last.y0, last.y1 = max(last.x1, x1), min(last.y0, y0), max(last.y1, y1)
                    _finish(last)
                else:
                    page_out.append(line)
        lines += page_out
    return lines


def body_size(lines: list[Line]) -> float:
    """The font size most characters are set in."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower())


def mark_furniture(lines: list[Line], pages: int) -> None:
    """Mark running headers/footers, page numbers, margin banners and review line numbers as furniture."""
    size = body_size(lines)
    in_margin = [ln for ln in lines if ln.y1 < MARGIN * ln.page_height or ln.y0 > (1 - MARGIN) * ln.page_height]
    counts = Counter(_key(ln.text) for ln in in_margin)
    for line in in_margin:
        repeated = pages > 1 and counts[_key(line.text)] >= 2
        if repeated or line.size <= size - 0.5:
            line.furniture = True
    for line in lines:  # page numbers, a little further from the edge than running heads
        near_edge = line.y1 < 0.11 * line.page_height or line.y0 > 0.89 * line.page_height
        if near_edge and re.fullmatch(r"(page\s*)?[\divxlc]{1,4}", line.text, re.IGNORECASE):
            line.furniture = True
    # The printed text frame: where the body-size lines lie. Numbers outside it are line numbers (review copies).
    body = [ln for ln in lines if abs(ln.size - size) < 0.6 and len(ln.text) > 20]
    if len(body) < 10:
        return
    lefts = sorted(ln.x0 for ln in body)
    rights = sorted(ln.x1 for ln in body)
    left, right = lefts[len(lefts) // 50], rights[-1 - len(rights) // 50]
    for line in lines:
        if re.fullmatch(r"\d{1,4}", line.text) and (line.x1 < left - 2 or line.x0 > right + 2):
            line.furniture = True


def starts_with_marker(line: Line) -> bool:
    """The line begins with a footnote marker: a superscript or smaller first span, or a footnote symbol."""
    first = line.spans[0]
    if first.text.strip()[:1] in "*∗†‡§¶♯":
        return True
    rest = [s for s in line.spans[1:] if s.text.strip()]
    return bool(rest) and (first.superscript or first.size < rest[0].size - 1) and len(first.text.strip()) <= 3


def mark_footnotes(lines: list[Line]) -> None:
    """Mark footnotes: blocks of text smaller than the body, in the lower half of the page, with no body-size line
    below them in the same column, that start a note with a marker (a superscript number or a symbol)."""
    size = body_size(lines)
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        if not line.furniture:
            by_page.setdefault(line.page, []).append(line)
    for on_page in by_page.values():
        body = [ln for ln in on_page if ln.size >= size - 0.5 and len(ln.text) > 3]
        groups: dict[int, list[Line]] = {}
        for line in on_page:
            if line.size > size - 0.8 or line.y0 < 0.5 * line.page_height:
                continue
            if not any(b.y0 > line.y1 - 1 and b.x0 < line.x1 and b.x1 > line.x0 for b in body):
                groups.setdefault(line.block, []).append(line)
        for group in groups.values():
            if any(starts_with_marker(line) for line in group):
                for line in group:
                    line.footnote = True


def join_lines(texts: list[str]) -> str:
    """Join wrapped lines: a line ending in '/' continues the next word (URLs); one ending in '-' before a lower-case
    word is a hyphenated word (joined without the hyphen), except inside a URL, where the hyphen is kept."""
    parts: list[str] = []
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if not parts:
            parts.append(text)
            continue
        last = parts[-1]
        last_word = last.rsplit(" ", 1)[-1]
        in_url = "://" in last_word or last_word.startswith(("www.", "github.com", "gitlab.com"))
        if last.endswith("/") or (last.endswith("-") and (text[:1].isupper() or in_url)):
            parts[-1] = last + text
        elif last.endswith("-") and text[:1].islower() and not last.endswith(" -") and last != "-":
            parts[-1] = last[:-1] + text
        else:
            parts.append(text)
    return " ".join(parts)
