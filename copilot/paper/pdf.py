"""PDF → `Paper` with PyMuPDF, using the layout (font sizes, bold, position) rather than plain text alone.

- Running headers and footers (a line repeated at the top or bottom of several pages, page numbers) are dropped.
- The title is the largest text in the upper part of page 1; consecutive lines of that size are joined, so a title
  spanning two lines is one title and a small banner above it is ignored.
- Headings are short lines that are bold or larger than the body font, or numbered ("2.1 Method").
- Links come from link annotations and from URLs in the text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from copilot.errors import UserError
from copilot.paper.model import Paper, Section
from copilot.paper.refs import URL, code_links, parse_reference, split_entries

log = logging.getLogger("copilot.paper")

NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[IVX]+\.|[A-H]\.?)\s+[A-Z][^.]{1,80}$")
REFERENCES = re.compile(r"^(\d+\.?\s*)?(references|bibliography|literature cited)$", re.IGNORECASE)
ABSTRACT_INLINE = re.compile(r"^abstract\s*[.:—–-]?\s*", re.IGNORECASE)
BOLD_FLAG = 16


@dataclass
class Line:
    """One text line with its layout."""

    page: int
    y: float
    size: float
    bold: bool
    text: str
    top: bool
    bottom: bool


def _open(path: Path) -> pymupdf.Document:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty")
    with path.open("rb") as fh:
        if b"%PDF" not in fh.read(1024):
            raise UserError(f"{path}: not a PDF (no %PDF header)")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as error:
        raise UserError(f"{path}: corrupt PDF ({error})") from None
    if doc.needs_pass:
        raise UserError(f"{path}: the PDF is encrypted (password-protected); give a decrypted copy")
    if doc.page_count == 0:
        raise UserError(f"{path}: corrupt PDF (no pages)")
    return doc


def _lines(doc: pymupdf.Document, pages: int) -> list[Line]:
    lines = []
    for number in range(pages):
        page = doc[number]
        height = page.rect.height
        for block in page.get_text("dict")["blocks"]:
            for raw in block.get("lines", []):
                spans = [s for s in raw["spans"] if s["text"].strip()]
                if not spans:
                    continue
                text = unicodedata.normalize("NFKC", " ".join(s["text"].strip() for s in spans))
                size = max(s["size"] for s in spans)
                bold = all(s["flags"] & BOLD_FLAG or "bold" in s["font"].lower() for s in spans)
                y = raw["bbox"][1]
                lines.append(Line(number, y, round(size, 1), bold, re.sub(r"\s+", " ", text),
                                  top=y < 0.08 * height, bottom=raw["bbox"][3] > 0.93 * height))
    return lines


def _drop_running(lines: list[Line], pages: int) -> list[Line]:
    """Remove page numbers and lines repeated at the top/bottom of at least two pages."""
    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    margin = Counter(key(line) for line in lines if line.top or line.bottom)
    repeated = {k for k, n in margin.items() if n >= 2} if pages > 1 else set()
    kept = []
    for line in lines:
        if (line.top or line.bottom) and (key(line) in repeated or re.fullmatch(r"\d{1,4}", line.text)):
            continue
        kept.append(line)
    return kept


def _title(lines: list[Line]) -> tuple[str, int]:
    """The title and the index of the first line after it."""
    first = [(i, line) for i, line in enumerate(lines) if line.page == 0 and len(line.text) > 2]
    if not first:
        return "", 0
    upper = first[: max(8, len(first) // 3)]
    biggest = max(line.size for _, line in upper)
    start = next(i for i, line in upper if line.size >= biggest - 0.5)
    end = start
    while end + 1 < len(lines) and lines[end + 1].page == 0 and abs(lines[end + 1].size - biggest) < 0.6:
        end += 1
    return join_lines([line.text for line in lines[start : end + 1]]), end + 1


def join_lines(texts: list[str]) -> str:
    """Join wrapped lines: a line ending in '-' or '/' continues the next word (URLs, hyphenated words)."""
    joined = ""
    for text in texts:
        text = text.strip()
        if joined.endswith("/") or (joined.endswith("-") and text[:1].isupper()):
            joined += text
        elif joined.endswith("-") and text[:1].islower():
            joined = joined[:-1] + text
        else:
            joined = f"{joined} {text}" if joined else text
    return joined


def parse_pdf(path: Path, max_pages: int = 60) -> Paper:
    """Parse a PDF file; bad files raise `UserError` naming the file and the reason."""
    doc = _open(path)
    warnings = []
    total = doc.page_count
    pages = min(total, max_pages)
    if total > max_pages:
        warnings.append(f"{path.name} has {total} pages; only the first {max_pages} were read (idea.max_pages)")
        log.warning(warnings[-1])
    all_lines = _lines(doc, pages)
    if not all_lines and getattr(doc, "is_repaired", False):
        raise UserError(f"{path}: corrupt PDF (damaged structure; no text could be recovered)")
    if not all_lines:
        raise UserError(f"{path}: no extractable text (a scanned paper? run OCR on it first)")
    if getattr(doc, "is_repaired", False):
        warnings.append(f"{path.name} is damaged; MuPDF repaired it and the text may be incomplete")
    lines = _drop_running(all_lines, pages)
    title, after_title = _title(lines)
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body_size = sizes.most_common(1)[0][0]

    def is_heading(line: Line) -> bool:
        short = len(line.text) <= 90 and not line.text.endswith((".", ",", ";"))
        marked = line.bold or line.size > body_size + 1.5 or bool(NUMBERED_HEADING.match(line.text))
        return short and marked and line.size >= body_size - 0.2 and not line.text.lower().startswith(("figure",
                                                                                                       "table"))

    authors: list[str] = []
    sections: list[Section] = []
    current: Section | None = None
    preface: list[str] = []
    for line in lines[after_title:]:
        if is_heading(line) or (ABSTRACT_INLINE.match(line.text) and current is None):
            inline = ABSTRACT_INLINE.match(line.text)
            if inline and not is_heading(line):
                current = Section(heading="Abstract", text=line.text[inline.end() :])
            else:
                heading = re.sub(r"^(\d+(\.\d+)*\.?|[IVX]+\.)\s+", "", line.text).strip()
                current = Section(heading=heading, text="")
            sections.append(current)
        elif current is None:
            preface.append(line.text)
        else:
            current.text = join_lines([current.text, line.text]) if current.text else line.text
    for text in preface:
        if "@" in text or len(text) > 150:
            continue
        authors += [a.strip() for a in re.split(r",| and |;", text) if 2 < len(a.strip()) < 60]
    abstract = next((s.text for s in sections if s.heading.lower() == "abstract"), "")
    references = []
    ref_index = next((i for i, s in enumerate(sections) if REFERENCES.match(s.heading)), None)
    if ref_index is not None:
        ref_lines = [ln.text for ln in lines if ln.page >= 0]
        start = next((i for i, t in enumerate(ref_lines) if REFERENCES.match(t)), None)
        raw = "\n".join(ref_lines[start + 1 :]) if start is not None else sections[ref_index].text
        references = [parse_reference(entry) for entry in split_entries(raw)]
        sections = sections[:ref_index] + sections[ref_index + 1 :]
    urls = [link["uri"] for n in range(pages) for link in doc[n].get_links() if link.get("uri")]
    urls += URL.findall(join_lines([line.text for line in all_lines]))
    if not title:
        title = path.stem
        warnings.append("no title found on page 1; using the file name")
    if not sections:
        warnings.append("no section headings found; the text is one section")
        sections = [Section(heading="Text", text=" ".join(line.text for line in lines[after_title:]))]
    return Paper(title=title, authors=authors[:30], abstract=abstract, sections=sections, references=references,
                 links=code_links(urls), page_count=total, source=str(path), warnings=warnings)
