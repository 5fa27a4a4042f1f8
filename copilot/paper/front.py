"""The front matter of page 1: title, authors (person names only), affiliations.

- Title: the largest text in the upper part of page 1, consecutive lines of that size joined; banners above it are
  smaller, and vertical arXiv stamps and margin furniture were dropped before.
- Authors: the printed names are set in one style (font, size, weight) that differs from the affiliations' and
  e-mails'. The style is that of the first name-shaped text after the title; every span in that style before the
  abstract is author text, split at commas, "and", and at the marker spans between names (superscripts, ∗ † ‡,
  affiliation symbols), which are dropped. Each piece must look like a person's name (capitalised words and
  initials, no institution words).
- Affiliations: the other lines of the author block, without e-mails, marker legends ("equal contribution") and
  editor lines.
"""

from __future__ import annotations

import re

from copilot.paper.layout import Line, Span, clean_text, join_spans

MARKERS = "∗*†‡§¶♠♢♡♣♦♤♥♧⋆★☆#◇◆○●✝✉⊥⊤‖□■⋄◊△▽▲▼◦•⊕⊗⊙⊛⊘♮♭♯"
INSTITUTION = re.compile(
    r"\b(universit\w*|institut\w*|inc|ltd|llc|corp\w*|compan\w*|google|deepmind|brain|microsoft|facebook|meta|"
    r"openai|amazon|apple|ibm|nvidia|baidu|alibaba|tencent|huawei|samsung|intel|research|labs?|laborator\w*|"
    r"department|dept|school|college|cent(er|re)|faculty|academy|hospital|clinic|foundation|group|team|division|"
    r"program|allen|ai|science|sciences|engineering|technology|informatics|computing|usa|uk|germany|china|canada|"
    r"france|japan|india|israel|switzerland|netherlands|street|road|avenue|campus|systems|media|health|medicine|"
    r"medical|national|state|city|view|equal|contribution|correspondence|editor|email|work|done|during|while|"
    r"internship|abstract|kingdom|states|republic|korea|australia|italy|spain|sweden)\b", re.IGNORECASE)
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "dos", "das", "bin", "al", "el",
             "ter", "zu", "y"}
NAME_TOKEN = re.compile(r"^(?:[A-Z][a-zà-ÿ]*\.(?:-?[A-Z][a-z]?\.)*|[A-ZÀ-Þ][A-Za-zà-ÿ'’\-]*[a-zà-ÿA-Z]|[A-Z]\.?|"
                        r"[A-ZÀ-Þ]{2,}(?:-[A-ZÀ-Þ]{2,})?)$")
ABSTRACT_LINE = re.compile(r"^(abstract|summary)\b", re.IGNORECASE)


def title_lines(lines: list[Line]) -> tuple[int, int] | None:
    """Indexes of the first and last line of the title on page 1 (None when page 1 has no text)."""
    first = [(i, ln) for i, ln in enumerate(lines) if ln.page == 0 and len(ln.text) > 2
             and any(c.isalpha() for c in ln.text) and ln.y0 < 0.5 * ln.page_height]
    if not first:
        first = [(i, ln) for i, ln in enumerate(lines) if ln.page == 0 and any(c.isalpha() for c in ln.text)]
    if not first:
        return None
    biggest = max(ln.size for _, ln in first)
    start = next(i for i, ln in first if ln.size >= biggest - 0.5)
    end = start
    while end + 1 < len(lines):
        nxt, cur = lines[end + 1], lines[end]
        if nxt.page != 0 or abs(nxt.size - biggest) >= 0.6 or not 0 < nxt.y0 - cur.y0 < 2.5 * biggest \
                or nxt.bold != cur.bold or nxt.italic != cur.italic:
            break
        end += 1
    return start, end


def tidy_title(text: str, metadata_title: str) -> str:
    """The title as printed; the PDF metadata's wording when it is the same title (it keeps the normal case where
    the page prints capitals or small caps)."""
    from copilot.paper.headings import key

    metadata_title = clean_text(metadata_title or "")
    if metadata_title and key(metadata_title) == key(text):
        return metadata_title
    return text


def _style(span: Span) -> tuple[str, float, bool, bool]:
    return span.font, round(span.size * 2) / 2, span.bold, span.italic


def _is_marker(span: Span, main_size: float) -> bool:
    text = span.text.strip()
    if not text:
        return True
    return all(c in MARKERS + ",0123456789 " for c in text) and (
        span.superscript or span.size < main_size - 1.5 or all(c in MARKERS + ", " for c in text))


def _chunks(spans: list[Span]) -> list[list[Span]]:
    """Spans split where a marker span, an e-mail or a wide gap (names set side by side) stands between names."""
    size = max((s.size for s in spans), default=10.0)
    out: list[list[Span]] = [[]]
    previous: Span | None = None
    for span in spans:
        wide = previous is not None and span.x0 - previous.x1 > 0.5 * size
        if _is_marker(span, size) or "@" in span.text:
            out.append([])
        elif wide:
            out.append([span])
        else:
            out[-1].append(span)
        previous = span
    return [chunk for chunk in out if chunk]


def _names(text: str) -> list[str]:
    """The person names in `text` (raw span text: a run of spaces also separates two names set side by side)."""
    pieces = re.split(r",|;|\band\b|&|\s{3,}", text, flags=re.IGNORECASE)
    return [p for p in (clean_name(clean_text(p)) for p in pieces) if p]


def clean_name(text: str) -> str:
    """A person's name without markers, digits or stray punctuation, in normal case; "" when it is not a name."""
    text = re.sub(rf"[{re.escape(MARKERS)}\d]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,.;:()")
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or "@" in text or INSTITUTION.search(text):
        return ""
    if not all(NAME_TOKEN.match(t) or t.lower() in PARTICLES for t in tokens):
        return ""
    if tokens[0].lower() in PARTICLES or not any(len(t.rstrip(".")) > 1 for t in tokens):
        return ""
    if not any(any(c.islower() for c in t) or len(t) > 2 for t in tokens if t.lower() not in PARTICLES):
        return ""
    return " ".join(_normal_case(t) for t in tokens)


def _normal_case(token: str) -> str:
    if len(token) > 1 and token.isupper() and "." not in token:
        return "-".join(part.capitalize() for part in token.split("-"))
    return token


def front_block(lines: list[Line], after_title: int) -> list[Line]:
    """The lines between the title and the abstract on page 1 (the caller also stops them at the first heading)."""
    block = []
    for line in lines[after_title:]:
        if line.page > 0 or ABSTRACT_LINE.match(line.text):
            break
        if line.furniture or line.footnote:
            continue
        if len(line.text) > 200:
            break
        block.append(line)
    return block


def authors_and_affiliations(block: list[Line]) -> tuple[list[str], list[str]]:
    """Person names in printed order, and the affiliation lines, from the front block."""
    style = None
    for line in block:
        for chunk in _chunks(line.spans):
            if _names(join_spans(chunk)):
                style = _style(max(chunk, key=lambda s: len(s.text.strip())))
                break
        if style is not None:
            break
    if style is None:
        return [], _affiliations(block, None)
    names: list[str] = []
    for line in block:
        if "@" in line.text and not any(_same(s, style) for s in line.spans if "@" not in s.text):
            continue
        text = ""
        previous: Span | None = None
        for span in line.spans:
            if previous is not None and span.x0 - previous.x1 > 0.5 * style[1]:
                text += " , "
            previous = span
            if _same(span, style) and not _is_marker(span, style[1]) and "@" not in span.text:
                text += span.text if not text or text.endswith(" ") or span.text.startswith(" ") else " " + span.text
            elif span.text.strip() in (",", "and", "&") or span.text.strip().lower() == "and":
                text += f" {span.text.strip()} "
            else:
                text += " , "
        names += _names(text)
    return list(dict.fromkeys(names)), _affiliations(block, style)


def _same(span: Span, style: tuple[str, float, bool, bool]) -> bool:
    font, size, bold, italic = _style(span)
    return font == style[0] and abs(size - style[1]) < 0.6 and bold == style[2] and italic == style[3]


def _affiliations(block: list[Line], style: tuple[str, float, bool, bool] | None) -> list[str]:
    out: list[str] = []
    for line in block:
        if style is not None and any(_same(s, style) for s in line.spans if s.text.strip(MARKERS + " ,")):
            continue
        if "@" in line.text or re.search(r"https?://|www\.", line.text):
            continue
        if re.search(r"equal (technical )?contribution|equal advising|correspond|editor\b|^\W*work done", line.text,
                     re.IGNORECASE):
            continue
        for chunk in _chunks(line.spans):
            text = clean_text(join_spans(chunk))
            for piece in re.split(rf"[{re.escape(MARKERS)}]|(?:^|,\s*)\d+(?=[A-Z])", text):
                piece = re.sub(r"^\d+\s*", "", piece).strip(" ,;")
                if len(piece) > 2 and any(c.isalpha() for c in piece):
                    out.append(piece)
    return list(dict.fromkeys(out))
