"""PDF -> `Paper` with PyMuPDF, from the layout (fonts, sizes, positions, the outline) rather than plain text.

The steps, each in its own module: text lines with page furniture and footnotes marked (`layout`), title, authors
and affiliations (`front`), section headings from the outline or from typography (`headings`), the reference list
(`refs`), own and other code links (`links`), the method section (`method`, used by `Paper.method_text`) and the
verdict on whether this is a readable research paper (`verdict`).

Files that cannot be read at all (missing, empty, not a PDF, encrypted, no pages) raise `UserError` with one line.
Anything else is read as far as it goes: a scan, a truncated file or a one-page note becomes a `Paper` whose
`verdict` says what is wrong and what was not read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pymupdf

from copilot.errors import UserError
from copilot.paper.front import authors_and_affiliations, front_block, tidy_title, title_lines
from copilot.paper.headings import REFERENCES, Heading, assign_kinds, from_outline, key, typographic
from copilot.paper.layout import (
    Line,
    Span,
    body_size,
    clean_text,
    join_lines,
    join_spans,
    mark_footnotes,
    mark_furniture,
    page_lines,
    starts_with_marker,
)
from copilot.paper.links import classify, clean_url, code_links, is_code_host, occurrences, sentence_around, urls_in
from copilot.paper.method import paper_names
from copilot.paper.model import OutlineEntry, Paper, Section
from copilot.paper.refs import parse_reference, split_lines
from copilot.paper.verdict import assess

log = logging.getLogger("copilot.paper")

ABSTRACT_RUN_IN = re.compile(r"^(abstract|summary)\s*[.:—–-]+\s*(?=\S)", re.IGNORECASE)
CAPTION = re.compile(r"^(table|figure|fig\.)\s*[A-Z]?\d+\s*[:.|]", re.IGNORECASE)
ABSTRACT_HEADING = re.compile(r"^(abstract|summary)$", re.IGNORECASE)
ABSTRACT_END = re.compile(r"\b(keywords|key words|index terms|ccs concepts|acm reference format)\b\s*[:—–-]?",
                          re.IGNORECASE)


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


def _outline(doc: pymupdf.Document, pages: int) -> list[OutlineEntry]:
    try:
        toc = doc.get_toc(simple=True)
    except (RuntimeError, ValueError):
        return []
    return [OutlineEntry(level=level, title=title, page=page) for level, title, page in toc
            if isinstance(title, str) and title.strip() and 0 < page <= pages]


def _textless_pages(doc: pymupdf.Document, pages: int, lines: list[Line]) -> list[int]:
    with_text = {line.page for line in lines}
    return [n + 1 for n in range(pages) if n not in with_text and doc[n].get_images()]


def _sections(flow: list[Line], headings: list[Heading]) -> list[Section]:
    sections = []
    for position, heading in enumerate(headings):
        stop = headings[position + 1].start if position + 1 < len(headings) else len(flow)
        text = join_lines([heading.run_in] + [line.text for line in flow[heading.end + 1 : stop]])
        sections.append(Section(heading=heading.title, text=text, level=heading.level, number=heading.number,
                                kind=heading.kind))
    return sections


def _run_in_abstract(flow: list[Line], headings: list[Heading]) -> tuple[int, int, str] | None:
    """An abstract set as a run-in label ("Abstract. We ...", "Abstract—We ...") before the first heading."""
    stop = headings[0].start if headings else len(flow)
    for index in range(min(stop, 80)):
        match = ABSTRACT_RUN_IN.match(flow[index].text)
        if match:
            end = next((h.start for h in headings if h.start > index), len(flow))
            text = join_lines([flow[index].text[match.end() :]] + [ln.text for ln in flow[index + 1 : end]])
            return index, end, text
    return None


def _owners(paper_title: str, authors: list[str], front: list[Line]) -> set[str]:
    owners = {key(name.split()[-1]) for name in authors if name.split()}
    owners |= {key(n) for n in paper_names(paper_title)}
    for line in front:
        for domain in re.findall(r"@([\w.-]+)", line.text):
            parts = domain.lower().split(".")
            owners |= {key(p) for p in parts[:-1] if p not in {"cs", "eecs", "mail", "gmail", "ac", "edu", "com"}}
    return {o for o in owners if o}


def parse_pdf(path: Path, max_pages: int = 60) -> Paper:
    """Parse a PDF file; files that cannot be read at all raise `UserError` naming the file and the reason."""
    doc = _open(path)
    warnings: list[str] = []
    unread: list[str] = []
    total = doc.page_count
    pages = min(total, max_pages)
    if total > max_pages:
        warnings.append(f"{path.name} has {total} pages; only the first {max_pages} were read (idea.max_pages)")
        unread.append(warnings[-1])
    try:
        lines = page_lines(doc, pages)
    except RuntimeError as error:  # a page MuPDF cannot interpret
        raise UserError(f"{path}: corrupt PDF ({error})") from None
    damaged = bool(getattr(doc, "is_repaired", False))
    if not lines and damaged:
        raise UserError(f"{path}: corrupt PDF (damaged structure; no text could be recovered)")
    mark_furniture(lines, pages)
    mark_footnotes(lines)
    content = [line for line in lines if not line.furniture]
    outline = _outline(doc, pages)
    span = title_lines(content)
    title = tidy_title(" ".join(ln.text for ln in content[span[0] : span[1] + 1]), doc.metadata.get("title", "")) \
        if span else ""
    after_title = span[1] + 1 if span else 0
    flow = [line for line in content[after_title:] if not line.footnote]
    headings = _headings(flow, outline, body_size(flow or content), warnings)
    sections = _sections(flow, headings)
    run_in = None if any(s.kind == "front" and ABSTRACT_HEADING.match(s.heading) for s in sections) \
        else _run_in_abstract(flow, headings)
    if run_in is not None:
        sections.insert(0, Section(heading="Abstract", text=run_in[2], kind="front"))
    first_heading = min([headings[0].start if headings else len(flow)] + ([run_in[0]] if run_in else []))
    before_headings = {id(line) for line in flow[:first_heading]}
    front = [line for line in front_block(content, after_title) if id(line) in before_headings]
    authors, affiliations = authors_and_affiliations(front)
    references, ref_blocks = _references(flow, headings)
    annotated = [link["uri"] for n in range(pages) for link in doc[n].get_links() if link.get("uri")]
    own, other = classify(_occurrences(doc, pages, lines, ref_blocks), _owners(title, authors, front))
    if not title:
        title = path.stem
        warnings.append("no title found on page 1; using the file name")
    if not sections and flow:
        warnings.append("no section headings found; the text is one section")
        sections = [Section(heading="Text", text=join_lines([line.text for line in flow]))]
    paper = Paper(title=title, authors=authors[:40], affiliations=affiliations, abstract=_abstract(sections),
                  sections=[s for s in sections if not REFERENCES.match(s.heading)], references=references,
                  links=code_links(annotated + urls_in(join_lines([ln.text for ln in content]))),
                  code_links=own, other_links=other, outline=outline, page_count=total,
                  source=str(path), warnings=warnings)
    paper.verdict = assess(paper, words=sum(len(line.text.split()) for line in content), pages_read=pages,
                           textless_pages=_textless_pages(doc, pages, lines), damaged=damaged, unread=unread)
    for notice in paper.notices():
        log.warning("paper: %s", notice)
    return paper


def _headings(flow: list[Line], outline: list[OutlineEntry], size: float, warnings: list[str]) -> list[Heading]:
    """The headings from the outline when it matches the text, else from the typography; kinds assigned."""
    if outline:
        headings, missing = from_outline(flow, outline, size)
        if len([h for h in headings if h.number is not None or h.level > 1]) < len(outline) / 2:
            warnings.append(f"the PDF outline ({len(outline)} entries) does not match the text; headings were "
                            "found from the typography instead")
            headings = typographic(flow, size)
        elif missing:
            warnings.append(f"{len(missing)} outline entries not found in the text: " + "; ".join(missing[:5]))
    else:
        headings = typographic(flow, size)
    assign_kinds(headings)
    return headings


def _abstract(sections: list[Section]) -> str:
    """The abstract's text, without a keywords or index-terms paragraph that follows it in the same block."""
    abstract = next((s.text for s in sections if s.kind == "front" and ABSTRACT_HEADING.match(s.heading)), "")
    cut = ABSTRACT_END.search(abstract)
    return abstract[: cut.start()].strip() if cut and cut.start() > 100 else abstract


def _occurrences(doc: pymupdf.Document, pages: int, lines: list[Line], ref_blocks: set[tuple[int, int]]) -> list:
    """Every code-host URL printed in a text block (footnotes with the sentence that points to them) or linked by an
    annotation (with the text under it), and whether it stands in the reference list."""
    blocks: dict[tuple[int, int], list[Line]] = {}
    for line in lines:
        blocks.setdefault((line.page, line.block), []).append(line)
    noted = footnote_contexts(lines)
    texts = [(join_lines([ln.text for ln in group]) + noted.get(where, ""), where in ref_blocks, where[0])
             for where, group in blocks.items()]
    annotations = []
    for number in range(pages):
        for link in doc[number].get_links():
            uri, rect = link.get("uri"), link.get("from")
            if not uri or rect is None or not is_code_host(clean_url(uri)):
                continue
            under = [where for where, group in blocks.items() if where[0] == number and any(
                ln.y0 <= rect.y1 and ln.y1 >= rect.y0 and ln.x0 <= rect.x1 and ln.x1 >= rect.x0 for ln in group)]
            context = " ".join(join_lines([ln.text for ln in blocks[where]]) for where in under)
            annotations.append((uri, context, any(where in ref_blocks for where in under), number))
    return occurrences(texts, annotations)


def footnote_contexts(lines: list[Line]) -> dict[tuple[int, int], str]:
    """For each footnote block, the body text around its marker ("... OpenIE (Mausam, 2016)^8"): a footnote that
    is only a URL is explained by the sentence that points to it."""
    out: dict[tuple[int, int], str] = {}
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for line in lines:
        if not line.footnote or not starts_with_marker(line):
            continue
        marker = line.spans[0].text.strip().rstrip(".")
        if not marker or len(marker) > 3:
            continue
        on_page = by_page[line.page]
        for index, other in enumerate(on_page):
            if other.footnote or other.furniture:
                continue
            marks = [s for s in other.spans
                     if s.text.strip() == marker and (s.superscript or s.size < other.size - 1.5)]
            if marks:
                before = [ln.text for ln in on_page[max(0, index - 1) : index] if not ln.footnote]
                after = [ln.text for ln in on_page[index + 1 : index + 2] if not ln.footnote]
                marked = join_spans([s if s is not marks[0] else Span("\u2042", s.size, s.font, s.bold, s.italic,
                                                                       s.superscript, s.x0, s.x1)
                                     for s in other.spans])
                text = join_lines([*before, clean_text(marked), *after])
                at = text.find("\u2042")
                out[(line.page, line.block)] = " || " + sentence_around(text, at, at + 1).replace("\u2042", "")
                break
    return out


def _references(flow: list[Line], headings: list[Heading]) -> tuple[list, set[tuple[int, int]]]:
    """The parsed reference list and the (page, block) places it occupies."""
    for position, heading in enumerate(headings):
        if not REFERENCES.match(heading.title):
            continue
        stop = next((h.start for h in headings[position + 1 :] if h.level == 1), len(flow))
        captions = {(ln.page, ln.block) for ln in flow[heading.end + 1 : stop] if CAPTION.match(ln.text)}
        lines = [ln for ln in flow[heading.end + 1 : stop] if (ln.page, ln.block) not in captions]
        entries = split_lines(lines)
        return [parse_reference(entry) for entry in entries], {(ln.page, ln.block) for ln in lines}
    return [], set()
