"""Does the input look like a research paper, and what of it could not be read (`Readability`)."""

from __future__ import annotations

from copilot.paper.model import Paper, Readability

MIN_WORDS = 50


def assess(paper: Paper, *, words: int, pages_read: int, textless_pages: list[int], damaged: bool,
           unread: list[str]) -> Readability:
    """The verdict for a parsed PDF: `words` of running text on `pages_read` pages, the 1-based pages without a text
    layer, whether MuPDF had to repair the file, and what was already known to be left unread."""
    reasons: list[str] = []
    unread = list(unread)
    if textless_pages:
        shown = ", ".join(str(p) for p in textless_pages[:10]) + (" ..." if len(textless_pages) > 10 else "")
        unread.append(f"{len(textless_pages)} of {pages_read} pages have no text layer (scanned images?): page "
                      f"{shown}; run OCR on the PDF to read them")
    if damaged:
        unread.append("the file is damaged or truncated: MuPDF repaired it and the text may be incomplete")
    if words == 0:
        reasons.append("no text could be read")
    elif words < MIN_WORDS:  # a title and a sentence; a short workshop paper has a thousand words
        reasons.append(f"only {words} word{'s' * (words != 1)} of text on {pages_read} page{'s' * (pages_read != 1)}")
    body = paper.top_sections("body")
    if words and len(body) < 2 and not paper.abstract:
        reasons.append("no abstract and no section headings")
    if words and not paper.references and not paper.abstract and len(body) < 3:
        reasons.append("no reference list")
    return Readability(is_paper=not reasons, reasons=reasons, unread=unread)
