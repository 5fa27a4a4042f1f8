"""What we know about a paper after ingestion (serialised to `idea/paper.json`, read by every stage)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SectionKind = Literal["front", "body", "back", "appendix"]


class Section(BaseModel):
    """A section heading and its text, in reading order.

    `level` is 1 for a top-level section, 2 for a subsection, ...; `number` is the printed number ("3", "3.2", "A");
    `kind` says where it belongs: `front` (the abstract), `body` (the paper's own sections), `back` (references,
    acknowledgements, unnumbered limitations/ethics statements) or `appendix`."""

    heading: str
    text: str
    level: int = 1
    number: str | None = None
    kind: SectionKind = "body"


class Reference(BaseModel):
    """One bibliography entry: the raw string and what could be parsed from it."""

    raw: str
    authors: list[str] = Field(default_factory=list)
    title: str | None = None
    year: int | None = None
    arxiv_id: str | None = None
    doi: str | None = None


class OutlineEntry(BaseModel):
    """One PDF bookmark: its level, title and 1-based page (as `pymupdf.Document.get_toc()` gives it)."""

    level: int
    title: str
    page: int


class Readability(BaseModel):
    """Whether the input looks like a research paper, and what of it could not be read.

    `is_paper` is False when the text does not look like a research paper (too little text, no sections, no
    abstract and no references, or no text layer at all); `reasons` says why in a few words each. `unread` lists
    what could not be read (pages without a text layer, a damaged file, pages past `idea.max_pages`), one sentence
    each. The stages show both on the terminal and at the top of `idea.md`, and stage 1 works only from what was
    read."""

    is_paper: bool = True
    reasons: list[str] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)


class Paper(BaseModel):
    """A parsed paper.

    `authors` are person names only (markers and e-mails stripped); `affiliations` the institutions printed with them.
    `code_links` are the repositories of the paper's own code or data; `other_links` the code-host links to other
    people's work (tools, baselines); `links` is both, own first (kept for readers of older paper.json files).
    `verdict` says whether the input looks like a research paper and what could not be read; `warnings` records
    what ingestion had to guess or cut."""

    title: str
    authors: list[str] = Field(default_factory=list)
    affiliations: list[str] = Field(default_factory=list)
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list, description="code repository URLs found in text and annotations")
    code_links: list[str] = Field(default_factory=list)
    other_links: list[str] = Field(default_factory=list)
    outline: list[OutlineEntry] = Field(default_factory=list)
    page_count: int = 0
    source: str = ""
    warnings: list[str] = Field(default_factory=list)
    verdict: Readability = Field(default_factory=Readability)

    def top_sections(self, kind: SectionKind = "body") -> list[Section]:
        """The top-level sections of one kind, in reading order (by default the paper's own body sections)."""
        return [s for s in self.sections if s.level == 1 and s.kind == kind]

    def notices(self) -> list[str]:
        """One line per thing a reader must know before trusting what was read: that the input does not look like a
        paper (with why), and each part that could not be read. [] for a paper read in full."""
        lines = []
        if not self.verdict.is_paper:
            lines.append(f"{self.source or self.title} does not look like a research paper: "
                         + "; ".join(self.verdict.reasons))
        return lines + list(self.verdict.unread)

    def body_text(self, max_chars: int = 6000) -> str:
        """Title, abstract and sections as prompt text, cut at `max_chars` with a note saying so."""
        parts = [f"Title: {self.title}"]
        if self.abstract:
            parts.append(f"Abstract: {self.abstract}")
        parts += [f"## {s.heading}\n{s.text}" for s in self.sections if s.kind != "front"
                  and s.heading.lower() != "abstract"]
        return _cut("\n\n".join(parts), max_chars)

    def method_sections(self) -> list[Section]:
        """The section describing the paper's proposed method, with its subsections ([] when none is found);
        chosen by structure and content (`copilot.paper.method.method_section_index`)."""
        from copilot.paper.method import method_section_index

        index = method_section_index(self)
        if index is None:
            return []
        chosen = [self.sections[index]]
        for section in self.sections[index + 1 :]:
            if section.level <= chosen[0].level:
                break
            chosen.append(section)
        return chosen

    def method_text(self, max_chars: int = 1800) -> str:
        """The text of the method section and its subsections, in reading order, cut at `max_chars` with a note; ""
        when the paper has no section that describes its method. The implementation agent reads it verbatim: a
        small model's restatement in the plan loses the details (feature lists, settings)."""
        parts = [f"## {s.heading}\n{s.text.strip()}" if s.text.strip() else f"## {s.heading}"
                 for s in self.method_sections()]
        return _cut("\n\n".join(parts), max_chars)


def _cut(text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + f"\n[... {len(text) - max_chars:,} characters not shown]"
    return text
