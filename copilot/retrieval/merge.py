"""Merging results of several retrievers: deduplicate (arXiv id, DOI, normalised title) and rank (reciprocal-rank
fusion), and `gather_related`, which turns an unreachable source into a warning instead of an error.
"""

from __future__ import annotations

import logging

from copilot.retrieval.base import PaperRef, Retriever, RetrieverUnavailable, normalise_title

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


def gather_related(retrievers: list[Retriever], queries: list[str], limit: int) -> tuple[list[PaperRef], list[str]]:
    """Ask every retriever; unreachable ones become warnings, so the stage never fails for lack of internet."""
    results, warnings = [], []
    for retriever in retrievers:
        try:
            results.append(retriever.search(queries, limit))
        except RetrieverUnavailable as error:
            warnings.append(f"{retriever.name}: {error}; continuing without it")
            log.warning(warnings[-1])
    return merge_refs(results, limit), warnings
