"""The retrieval contract: `Retriever.search(queries, limit)` → `PaperRef`s."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


class PaperRef(BaseModel):
    """A related work as retrieved. `id` is stable and short, so prompts and reports can cite it."""

    id: str
    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    abstract: str = ""
    url: str | None = None
    source: str
    score: float = 0.0
    arxiv_id: str | None = None
    doi: str | None = None


class RetrieverUnavailable(Exception):
    """The retriever cannot answer now (network unreachable, service down); the stage goes on without it.

    `reason` is the short form the terminal shows ("offline", "HTTP 503"); `detail` (URL, exception) is for the log;
    `offline` tells a source that cannot be reached at all from one that answered with an error.
    """

    def __init__(self, reason: str, detail: str = "", *, offline: bool = False) -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.offline = offline


@runtime_checkable
class Retriever(Protocol):
    """A source of related work: `name` for files and ids, `label` for people ("arXiv", "the local library")."""

    name: str
    label: str

    def search(self, queries: list[str], limit: int) -> list[PaperRef]: ...


def normalise_title(title: str) -> str:
    """Lower-case alphanumerics only, for deduplication."""
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def ref_id(source: str, key: str) -> str:
    """A short citeable id such as `arxiv:2101.12345` or `local:3`."""
    return f"{source}:{key}"
