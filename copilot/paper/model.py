"""What we know about a paper after ingestion."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

METHOD_HEADING = re.compile(r"\b(method|methods|methodology|approach|proposed|our model|model architecture)\b", re.I)
NOT_METHOD_HEADING = re.compile(r"\b(related|background|prior)\b", re.I)


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

    def method_text(self, max_chars: int = 1800) -> str:
        """The text of the sections that describe the paper's method ("3 Method", "Proposed Approach", ...), in
        reading order, cut at `max_chars` with a note; "" when no heading names a method. The implementation agent
        reads it verbatim: a small model's restatement in the plan loses the details (feature lists, settings)."""
        parts = [f"## {s.heading}\n{s.text.strip()}" for s in self.sections
                 if METHOD_HEADING.search(s.heading) and not NOT_METHOD_HEADING.search(s.heading) and s.text.strip()]
        text = "\n\n".join(parts)
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + f"\n[... {len(text) - max_chars:,} characters not shown]"
        return text
