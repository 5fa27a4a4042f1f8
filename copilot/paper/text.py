"""Markdown or plain text → `Paper`: `#` headings are sections, the first heading (or line) is the title."""

from __future__ import annotations

import re
from pathlib import Path

from copilot.errors import UserError
from copilot.paper.model import Paper, Section
from copilot.paper.pdf import REFERENCES
from copilot.paper.refs import URL, code_links, parse_reference, split_entries

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
            sections.append(Section(heading=re.sub(r"^\d+(\.\d+)*\.?\s+", "", match.group(2)), text=""))
        elif sections:
            sections[-1].text += line + "\n"
        else:
            preface.append(line)
    if not title:
        first = next(line for line in text.splitlines() if line.strip())
        title = first.strip()
        preface = preface[preface.index(first) + 1 :] if first in preface else preface
    authors = [a.strip() for a in re.split(r",| and ", preface[0])] if preface and preface[0].strip() else []
    references = []
    for section in list(sections):
        section.text = section.text.strip()
        if REFERENCES.match(section.heading):
            references = [parse_reference(e) for e in split_entries(section.text)]
            sections.remove(section)
    abstract = next((s.text for s in sections if s.heading.lower() == "abstract"), "")
    return Paper(title=title, authors=[a for a in authors if a][:30], abstract=abstract, sections=sections,
                 references=references, links=code_links(URL.findall(text)), page_count=0, source=str(path))
