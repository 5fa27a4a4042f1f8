"""How an extracted paper is compared with hand-checked ground truth (`truth.yaml` of a paper corpus).

One definition of "field exact", shared by the corpus tests and `benchmarks/bench_paper_fields.py`, following the
corpus README's matching advice: text is compared after Unicode NFKD (accents dropped, ligatures expanded), curly
quotes folded to straight ones, hyphenated line breaks joined, whitespace collapsed, and case folded. Nothing else
is forgiven:

| field | exact when |
|---|---|
| title | the normalised titles are equal |
| authors | the same names in the same order, all of them |
| abstract_start | the normalised abstract starts with the normalised `abstract_start` |
| sections | the top-level body headings, in order, are the listed ones (no more, no fewer) |
| method | the chosen method section's heading is one of `method_sections` |
| references | the number of parsed entries equals the hand count |
| code_links | the set of the paper's own GitHub/GitLab links equals `code_links` |
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from copilot.paper.links import clean_url
from copilot.paper.model import Paper

FIELDS = ("title", "authors", "abstract_start", "sections", "method", "references", "code_links")
QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "´": "'",
                        "`": "'"})


def normalise(text: str) -> str:
    """The comparison form of `text` (see the module docstring)."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(QUOTES)
    text = re.sub(r"(?<=\w)-\s+(?=\w)", "", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def _repo(url: str) -> str:
    return clean_url(url).casefold()


def _is_git_host(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return host.endswith(("github.com", "gitlab.com"))


def extracted_fields(paper: Paper) -> dict[str, Any]:
    """The values of each field as `paper` has them, in comparison form where the field is text."""
    method = paper.method_sections()
    return {
        "title": normalise(paper.title),
        "authors": [normalise(a) for a in paper.authors],
        "abstract_start": normalise(paper.abstract),
        "sections": [normalise(s.heading) for s in paper.top_sections("body")],
        "method": normalise(method[0].heading) if method else "",
        "references": len(paper.references),
        "code_links": sorted({_repo(u) for u in paper.code_links if _is_git_host(u)}),
    }


def field_matches(paper: Paper, truth: dict[str, Any]) -> dict[str, bool]:
    """For each field of `FIELDS`, whether `paper` has it exactly as `truth` (one entry of truth.yaml)."""
    got = extracted_fields(paper)
    return {
        "title": got["title"] == normalise(truth["title"]),
        "authors": got["authors"] == [normalise(a) for a in truth["authors"]],
        "abstract_start": got["abstract_start"].startswith(normalise(truth["abstract_start"])),
        "sections": got["sections"] == [normalise(s) for s in truth["sections"]],
        "method": got["method"] in {normalise(m) for m in truth["method_sections"]},
        "references": got["references"] == truth["references"],
        "code_links": got["code_links"] == sorted({_repo(u) for u in truth["code_links"]}),
    }
