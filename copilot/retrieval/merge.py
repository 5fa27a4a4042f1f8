"""Merging results of several retrievers: deduplicate (arXiv id, DOI, normalised title) and rank (reciprocal-rank
fusion), and `gather_related`, which turns an unreachable source into a warning instead of an error.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from copilot.progress import LOG_ONLY
from copilot.retrieval.base import PaperRef, Retriever, RetrieverUnavailable, normalise_title

if TYPE_CHECKING:
    from copilot.progress import Progress

log = logging.getLogger("copilot.retrieval")
RRF_K = 60


def _keys(ref: PaperRef) -> list[str]:
    keys = [f"t:{normalise_title(ref.title)}"]
    if ref.arxiv_id:
        keys.append(f"a:{ref.arxiv_id.split('v')[0].lower()}")
    if ref.doi:
        keys.append(f"d:{ref.doi.lower()}")
    return keys


def _richness(ref: PaperRef) -> int:
    return len(ref.abstract) + 50 * bool(ref.url) + 20 * len(ref.authors) + 10 * bool(ref.year)


def merge_refs(results: list[list[PaperRef]], limit: int) -> list[PaperRef]:
    """One list, duplicates merged (the richest record kept, sources combined), ranked by reciprocal-rank fusion."""
    groups: list[dict] = []
    by_key: dict[str, int] = {}
    for result in results:
        for rank, ref in enumerate(sorted(result, key=lambda r: -r.score)):
            keys = _keys(ref)
            index = next((by_key[k] for k in keys if k in by_key), None)
            if index is None:
                index = len(groups)
                groups.append({"best": ref, "sources": [], "score": 0.0})
            group = groups[index]
            group["score"] += 1.0 / (RRF_K + rank + 1)
            group["sources"].append(ref.source)
            if _richness(ref) > _richness(group["best"]):
                group["best"] = ref
            for key in keys:
                by_key.setdefault(key, index)
    merged = []
    for group in groups:
        sources = "+".join(dict.fromkeys(group["sources"]))
        merged.append(group["best"].model_copy(update={"score": round(group["score"], 6), "source": sources}))
    return sorted(merged, key=lambda r: -r.score)[:limit]


class Gathered(BaseModel):
    """What `gather_related` found: the merged works, a warning per source that could not answer (with its detail,
    for `related.json`) and one short line per such source for the terminal."""

    works: list[PaperRef]
    warnings: list[str] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)


def gather_related(retrievers: list[Retriever], queries: list[str], limit: int,
                   progress: Progress | None = None) -> Gathered:
    """Ask every retriever; unreachable ones become warnings, so the stage never fails for lack of internet.

    Each failure is logged once with its full detail (log files only) and gets one notice such as
    "arXiv: offline, using the local library", naming the sources that did find works. `progress` shows a bar of the
    sources asked."""
    results: list[list[PaperRef]] = []
    failed: list[tuple[Retriever, RetrieverUnavailable]] = []
    answered: list[str] = []
    with ExitStack() as stack:
        step = stack.enter_context(progress.activity("related work", total=len(retrievers), unit="sources")) \
            if progress is not None else None
        for retriever in retrievers:
            if step is not None:
                step.update(label=f"related work: asking {retriever.label}")
            try:
                found = retriever.search(queries, limit)
            except RetrieverUnavailable as error:
                failed.append((retriever, error))
                log.warning("%s: %s; continuing without it", retriever.name, error, extra=LOG_ONLY)
            else:
                results.append(found)
                if found:
                    answered.append(retriever.label)
            if step is not None:
                step.advance()
    warnings = [f"{retriever.name}: {error}; continuing without it" for retriever, error in failed]
    fallback = f"using {' and '.join(answered)}" if answered else "continuing without it"
    notices = [f"{retriever.label}: {'offline' if error.offline else f'unavailable ({error.reason})'}, {fallback}"
               for retriever, error in failed]
    return Gathered(works=merge_refs(results, limit), warnings=warnings, notices=notices)
