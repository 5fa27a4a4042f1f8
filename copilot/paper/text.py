"""Markdown or plain text → `Paper`: `#` headings are sections, the first heading (or line) is the title."""

from __future__ import annotations

import re
from pathlib import Path

from copilot.errors import UserError
from copilot.paper.headings import REFERENCES, Heading, assign_kinds, split_number
from copilot.paper.links import classify, code_links, occurrences, urls_in
from copilot.paper.model import Paper, Section
from copilot.paper.refs import parse_reference, split_entries

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def parse_text(path: Path) -> Paper:
    """Parse a Markdown/plain-text paper; an empty file is a `UserError`."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text (give a PDF, a Markdown/text file, or an arXiv id)") from None
    if not text.strip():
        raise UserError(f"{path}: the file is empty")
    title = ""
    sections: list[Section] = []
    preface: list[str] = []
    for line in text.splitlines():
        match = HEADING.match(line)
        if match and not title and len(match.group(1)) == 1:
            title = match.group(2)
        elif match:
            number, heading = split_number(match.group(2))
            level = number.count(".") + 1 if number else len(match.group(1)) - 1
            sections.append(Section(heading=heading, text="", level=max(1, level), number=number))
        elif sections:
            sections[-1].text += line + "\n"
        else:
            preface.append(line)
    if not title:
        first = next(line for line in text.splitlines() if line.strip())
        title = first.strip()
        preface = preface[preface.index(first) + 1 :] if first in preface else preface
    authors = [a.strip() for a in re.split(r",| and ", preface[0])] if preface and preface[0].strip() else []
    headings = [Heading(0, 0, s.heading, s.number, s.level) for s in sections]
    assign_kinds(headings)
    for section, found in zip(sections, headings, strict=True):
        section.kind = found.kind
    references = []
    for section in list(sections):
        section.text = section.text.strip()
        if REFERENCES.match(section.heading):
            references = [parse_reference(e) for e in split_entries(section.text)]
            sections.remove(section)
    abstract = next((s.text for s in sections if s.kind == "front"), "")
    own, other = classify(occurrences([(text, False, 0)], []), set())
    return Paper(title=title, authors=[a for a in authors if a][:30], abstract=abstract, sections=sections,
                 references=references, links=code_links(urls_in(text)), code_links=own, other_links=other,
                 page_count=0, source=str(path))
