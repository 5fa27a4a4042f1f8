"""What we know about a paper after ingestion."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Section(BaseModel):
    """A section heading and its text, in reading order."""

    heading: str
    text: str


class Reference(BaseModel):
    """One bibliography entry: the raw string and what could be parsed from it."""

    raw: str
    title: str | None = None
    year: int | None = None
    arxiv_id: str | None = None
    doi: str | None = None


class Paper(BaseModel):
    """A parsed paper. `warnings` records what ingestion had to guess or cut."""

    title: str
    authors: list[str] = Field(default_factory=list)
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list, description="code repository URLs found in text and annotations")
    page_count: int = 0
    source: str = ""
    warnings: list[str] = Field(default_factory=list)

    def body_text(self, max_chars: int = 6000) -> str:
        """Title, abstract and sections as prompt text, cut at `max_chars` with a note saying so."""
        parts = [f"Title: {self.title}"]
        if self.abstract:
            parts.append(f"Abstract: {self.abstract}")
        parts += [f"## {s.heading}\n{s.text}" for s in self.sections if s.heading.lower() != "abstract"]
        text = "\n\n".join(parts)
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + f"\n[... {len(text) - max_chars:,} characters not shown]"
        return text
