"""Parsing of reference lists and links: arXiv ids, DOIs, years, title guesses, code-repository URLs."""

from __future__ import annotations

import re

from copilot.paper.model import Reference

ARXIV_NEW = re.compile(r"(?:arXiv:|arxiv\.org/(?:abs|pdf)/)?\b(\d{4}\.\d{4,5})(v\d+)?\b", re.IGNORECASE)
ARXIV_OLD = re.compile(r"(?:arXiv:|arxiv\.org/(?:abs|pdf)/)([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE)
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>,;]+[^\s\"<>,;.)\]])", re.IGNORECASE)
YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)[a-z]?\b")
URL = re.compile(r"https?://[^\s<>\"')\]]+")
CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "bitbucket.org")
ENTRY_START = re.compile(r"^\s*(\[\d+\]|\d+\.\s|\[[A-Za-z][A-Za-z+\-]*\d{2,4}[a-z]?\])")


def find_arxiv_id(text: str) -> str | None:
    """The first arXiv identifier in `text`, without version."""
    match = ARXIV_NEW.search(text) or ARXIV_OLD.search(text)
    return match.group(1) if match else None


def clean_url(url: str) -> str:
    """Strip trailing punctuation a sentence left on a URL."""
    return url.rstrip(".,;:)]}'\"")


def code_links(urls: list[str]) -> list[str]:
    """Code-repository URLs among `urls`, cleaned and deduplicated in order."""
    seen: dict[str, None] = {}
    for url in urls:
        cleaned = clean_url(url)
        if any(host in cleaned.lower() for host in CODE_HOSTS):
            seen.setdefault(cleaned, None)
    return list(seen)


def split_entries(text: str) -> list[str]:
    """Split a references section into entries: numbered/bracketed markers, else blank-line or hanging paragraphs."""
    lines = [line.rstrip() for line in text.splitlines()]
    entries: list[str] = []
    if sum(1 for line in lines if ENTRY_START.match(line)) >= 2:
        for line in lines:
            if ENTRY_START.match(line) or not entries:
                entries.append(line.strip())
            elif line.strip():
                entries[-1] += " " + line.strip()
    else:
        block: list[str] = []
        for line in [*lines, ""]:
            if line.strip():
                block.append(line.strip())
            elif block:
                entries.append(" ".join(block))
                block = []
    return [re.sub(r"-\s+(?=[a-z])", "", e).strip() for e in entries if len(e.strip()) > 15]


def parse_reference(raw: str) -> Reference:
    """Parse one entry: arXiv id, DOI, year, and a title guess (the quoted part, or the sentence after the authors)."""
    body = ENTRY_START.sub("", raw).strip()
    quoted = re.search(r"[\"“](.+?)[\"”]", body)
    title = None
    if quoted:
        title = quoted.group(1).strip(" ,.")
    else:
        pieces = [p.strip() for p in re.split(r"(?<=\w[a-z])\.\s+", body) if p.strip()]  # not after initials
        if len(pieces) >= 2:
            title = pieces[1]
    if title:
        title = re.split(r"\s(?:arXiv:|In |doi:|https?://|[A-Z][a-z]*\.? ?\d)", title)[0].strip(" ,.") or None
    year_match = YEAR.search(body)
    doi_match = DOI.search(body)
    return Reference(raw=raw, title=title or None, year=int(year_match.group(1)) if year_match else None,
                     arxiv_id=find_arxiv_id(body), doi=doi_match.group(1) if doi_match else None)
