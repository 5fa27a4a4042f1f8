"""Code-repository links of a paper, told apart: the paper's own code or data, and other people's work.

URLs come from link annotations and from the text (each block's lines joined, so a URL printed over two lines is
whole again; an annotation's full URL replaces a text URL cut at the line end). A link is the paper's own when the
sentence (or footnote) around it says so ("our code", "we release", "code is available at", "can be accessed at")
or when the repository's owner is an author or their organisation (the e-mail domain, an affiliation); it is
someone else's when it stands in the reference list, next to a citation, or after words such as "we use",
"implementation of", "toolkit".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.paper.headings import key

URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+|\b(?:github\.com|gitlab\.com|bitbucket\.org)/[^\s<>\"'()\[\]{}]+",
                 re.IGNORECASE)
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org", "sourceforge.net")
OWN = re.compile(
    r"\b(our|we)\b[^.]{0,60}\b(code|implementation|software|models?|data(set)?s?|tool(kit)?|library|system|"
    r"benchmark|repository|resources?|annotations?|summaries|guidelines)\b"
    r"|\b(code|implementation|software|data(set)?s?|models?|resources?|repository)\b[^.]{0,50}"
    r"\b(is|are|will be|has been|have been)\s+(publicly |freely |openly )?(available|released|open[- ]sourced|"
    r"accessible|hosted)"
    r"|\b(we|to)\s+(release|open[- ]source|publish|make)\b|\bcan be (accessed|found|downloaded|obtained)\b"
    r"|\bavailable (at|from|on)\b|\breleased (at|on|under)\b|\bopen[- ]sourced?\b", re.IGNORECASE)
OTHER = re.compile(r"\b(we use[ds]?|we used|implementation (of|by|from|in)|based on|built on|provided by|"
                   r"borrowed|adapted from|third[- ]party|toolkit|library|package|by the authors|released by|"
                   r"from the authors|their (code|implementation)|open[- ]sourced? (\w+ )?implementation)\b"
                   r"|\bet al\.|\[\d+(,\s*\d+)*\]|\([A-Z][A-Za-z\-]+(?: et al\.?| and [A-Z][a-z]+)?,? \d{4}[a-z]?\)")


@dataclass
class Occurrence:
    """One place a URL is printed or linked: its context sentence and whether it is in the reference list."""

    url: str
    context: str
    in_references: bool
    page: int


def clean_url(url: str) -> str:
    """The URL without trailing punctuation, with a scheme, without a trailing slash or `.git`."""
    url = url.rstrip(".,;:)]}'\"”’")
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    url = re.sub(r"\.git$", "", url.rstrip("/"))
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}" + (f"/{path}" if path else "")


def is_code_host(url: str) -> bool:
    """A code-hosting URL that names a repository (or an organisation): github.com/owner[/repo], ..."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    path = url.split("://", 1)[-1].partition("/")[2]
    known = any(host == h or host.endswith("." + h) for h in CODE_HOSTS if not h.startswith("huggingface"))
    return (known or host.startswith(("code.", "git.")) or host == "huggingface.co") and bool(path.strip("/"))


def code_links(urls: list[str]) -> list[str]:
    """Code-repository URLs among `urls`, cleaned and deduplicated in order."""
    seen: dict[str, None] = {}
    for url in urls:
        cleaned = clean_url(url)
        if is_code_host(cleaned):
            seen.setdefault(cleaned, None)
    return list(seen)


def urls_in(text: str) -> list[str]:
    """The URLs printed in `text`, cleaned."""
    return [clean_url(u) for u in URL.findall(text)]


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of `text` that holds the characters from `start` to `end`."""
    end = start + len(text[start:end].rstrip(".,;:)"))
    left = max(text.rfind(". ", 0, max(0, start - 1)), text.rfind("; ", 0, max(0, start - 1)))
    right = text.find(". ", end)
    return text[left + 2 if left >= 0 else 0 : right if right >= 0 else len(text)]


def occurrences(blocks: list[tuple[str, bool, int]], annotations: list[tuple[str, str, bool, int]]) -> list[Occurrence]:
    """Every code-host URL in the text blocks `(text, in_references, page)` and the link annotations
    `(uri, text under it, in_references, page)`."""
    found: list[Occurrence] = []
    for text, in_refs, page in blocks:
        for match in URL.finditer(text):
            url = clean_url(match.group(0))
            if is_code_host(url):
                found.append(Occurrence(url, sentence_around(text, match.start(), match.end()), in_refs, page))
    full = [clean_url(uri) for uri, _, _, _ in annotations]
    for occurrence in found:  # a URL cut at the end of a line: the annotation has it whole
        longer = [u for u in full if u != occurrence.url and u.startswith(occurrence.url) and is_code_host(u)]
        if longer:
            occurrence.url = min(longer, key=len)
    for uri, under, in_refs, page in annotations:
        url = clean_url(uri)
        if is_code_host(url):
            context = next((o.context for o in found if o.url == url and o.page == page), under)
            found.append(Occurrence(url, context, in_refs, page))
    return found


def _names_match(url: str, owners: set[str]) -> bool:
    path = url.split("://", 1)[-1].split("/")
    parts = [key(p) for p in path[1:3] if p]
    return any(len(o) >= 4 and (o in part or (part in o and len(part) >= 4)) for o in owners for part in parts)


def classify(found: list[Occurrence], owners: set[str]) -> tuple[list[str], list[str]]:
    """(own, other) repository URLs in order of first appearance. A URL is the paper's own when a sentence around
    it says so and does not also credit someone else, or when its owner or name is the paper's (`owners`: keys of
    the authors' surnames, e-mail domains and the paper's name) and nothing around it credits someone else; it is
    never the paper's own when it stands in the reference list."""
    ordered = list(dict.fromkeys(o.url for o in found))
    own = []
    for url in ordered:
        places = [o for o in found if o.url == url]
        if any(o.in_references for o in places):
            continue
        says_own = any(OWN.search(o.context) and not OTHER.search(o.context) for o in places)
        credits_other = any(OTHER.search(o.context) for o in places)
        if says_own or (_names_match(url, owners) and not credits_other):
            own.append(url)
    return own, [u for u in ordered if u not in own]
