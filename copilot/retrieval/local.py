"""`LocalRetriever`: BM25 (bm25s) over a local library, offline.

The library is built from (1) PDFs and Markdown papers in the task's `related/` folder, (2) `papers.jsonl` in that
folder (one record per line: title, abstract, authors, year, url, arxiv_id, doi), and (3) the input paper's own
reference list. The index is built once per retriever; queries are then a few milliseconds even at 100k records
(see benchmarks/). The caller passes `folder=` and `references=` at instantiation (hydra `instantiate` kwargs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bm25s

from copilot.errors import UserError
from copilot.paper.model import Reference
from copilot.retrieval.base import PaperRef, ref_id

log = logging.getLogger("copilot.retrieval")


def _records_from_folder(folder: Path) -> list[dict[str, Any]]:
    from copilot.paper import load_paper

    records: list[dict[str, Any]] = []
    jsonl = folder / "papers.jsonl"
    if jsonl.is_file():
        for number, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UserError(f"{jsonl} line {number}: not JSON ({error.msg})") from None
            if not isinstance(record, dict) or not record.get("title"):
                raise UserError(f"{jsonl} line {number}: a record needs at least a 'title'")
            records.append(record)
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".pdf", ".md", ".txt"):
            continue
        try:
            paper = load_paper(str(path), max_pages=3)
        except UserError as error:
            log.warning("related library: skipping %s (%s)", path.name, error)
            continue
        first = paper.sections[0].text[:1500] if paper.sections else ""
        records.append({"title": paper.title, "authors": paper.authors, "abstract": paper.abstract or first,
                        "url": str(path)})
    return records


class LocalRetriever:
    """BM25 over papers on disk and the input paper's references."""

    name = "local"
    label = "the local library"

    def __init__(self, folder: Path | str | None = None, references: Iterable[Reference] = (),
                 records: Iterable[dict[str, Any]] = ()) -> None:
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on itself when imported
        items = list(records)
        if folder is not None and Path(folder).is_dir():
            items += _records_from_folder(Path(folder))
        for reference in references:
            items.append({"title": reference.title or reference.raw[:200], "abstract": reference.raw,
                          "year": reference.year, "arxiv_id": reference.arxiv_id, "doi": reference.doi,
                          "origin": "reference"})
        self.refs = [self._to_ref(i, item) for i, item in enumerate(items)]
        self.index: bm25s.BM25 | None = None
        if self.refs:
            corpus = [f"{r.title} {r.title} {r.abstract}" for r in self.refs]
            self.index = bm25s.BM25()
            self.index.index(bm25s.tokenize(corpus, show_progress=False), show_progress=False)

    @staticmethod
    def _to_ref(number: int, item: dict[str, Any]) -> PaperRef:
        year = item.get("year")
        return PaperRef(
            id=ref_id("ref" if item.get("origin") == "reference" else "local", str(number)),
            title=str(item["title"]).strip(), authors=list(item.get("authors") or []),
            year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
            abstract=str(item.get("abstract") or ""), url=item.get("url"), source="local",
            arxiv_id=item.get("arxiv_id"), doi=item.get("doi"),
        )

    def __len__(self) -> int:
        return len(self.refs)

    def search(self, queries: list[str], limit: int) -> list[PaperRef]:
        """The best `limit` records over all queries (each record scored by its best query)."""
        if self.index is None or not queries:
            return []
        best: dict[int, float] = {}
        k = min(limit, len(self.refs))
        tokens = bm25s.tokenize(queries, show_progress=False)
        docs, scores = self.index.retrieve(tokens, k=k, show_progress=False)
        for row_docs, row_scores in zip(docs, scores, strict=True):
            for doc, score in zip(row_docs, row_scores, strict=True):
                if score > 0:
                    best[int(doc)] = max(best.get(int(doc), 0.0), float(score))
        ranked = sorted(best.items(), key=lambda pair: -pair[1])[:limit]
        return [self.refs[i].model_copy(update={"score": score}) for i, score in ranked]
