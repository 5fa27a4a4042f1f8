"""`load_paper(spec)`: a PDF, a Markdown/text file, or an arXiv id/URL (downloaded once into the cache)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from copilot.errors import UserError
from copilot.paper.model import Paper
from copilot.paper.pdf import parse_pdf
from copilot.paper.text import parse_text

log = logging.getLogger("copilot.paper")

ARXIV_SPEC = re.compile(
    r"^(?:arxiv:|https?://(?:www\.)?arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
    r"(?:\.pdf)?$", re.IGNORECASE)
TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text", ".rst"}


def arxiv_id_of(spec: str) -> str | None:
    """The arXiv id named by `spec` (`arxiv:ID`, a bare new-style id, or an arxiv.org URL), else None."""
    if Path(spec).exists():
        return None
    match = ARXIV_SPEC.match(spec.strip())
    return match.group(1) if match else None


def fetch_arxiv_pdf(arxiv_id: str, cache: Path, client: Any = None) -> Path:
    """Download the PDF of `arxiv_id` with the `arxiv` package into `cache` (reused when already there)."""
    target = cache / f"{arxiv_id.replace('/', '_')}.pdf"
    if target.is_file() and target.stat().st_size > 0:
        return target
    import arxiv

    cache.mkdir(parents=True, exist_ok=True)
    client = client or arxiv.Client(num_retries=1, delay_seconds=1)
    try:
        result = next(client.results(arxiv.Search(id_list=[arxiv_id])))
        result.download_pdf(dirpath=str(cache), filename=target.name)
    except StopIteration:
        raise UserError(f"arxiv:{arxiv_id}: no such paper on arXiv") from None
    except Exception as error:  # network errors come from several layers (urllib, requests, arxiv)
        raise UserError(f"arxiv:{arxiv_id}: could not download ({type(error).__name__}: {error}); the network may "
                        "be unreachable: give a local PDF instead") from None
    return target


def load_paper(spec: str, *, max_pages: int = 60, arxiv_client: Any = None, cache: Path | None = None) -> Paper:
    """Read the paper named by `spec`; bad input raises `UserError` naming it and the reason."""
    arxiv_id = arxiv_id_of(spec)
    if arxiv_id is not None:
        from copilot.llm.model_store import cache_dir

        path = fetch_arxiv_pdf(arxiv_id, cache or cache_dir() / "papers", arxiv_client)
        paper = parse_pdf(path, max_pages)
        paper.source = f"arxiv:{arxiv_id}"
        return paper
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(f"paper '{spec}': no such file, and not an arXiv id")
    if path.suffix.lower() in TEXT_SUFFIXES:
        return parse_text(path)
    return parse_pdf(path, max_pages)
