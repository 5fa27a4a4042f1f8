"""`SemanticScholarRetriever`: the Graph API paper search over HTTP, with bounded backoff on 429 (and on nothing
else: its host is probed once before the first request, so offline it is declared unreachable in about two seconds).
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from copilot.retrieval.base import PaperRef, RetrieverUnavailable, ref_id
from copilot.retrieval.reachability import Reachability

FIELDS = "title,abstract,authors,year,url,externalIds"


def _rate_limited(error: BaseException) -> bool:
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 429


class SemanticScholarRetriever:
    """`GET {base_url}/graph/v1/paper/search?query=...`; `SEMANTIC_SCHOLAR_API_KEY` is sent when set."""

    name = "semantic_scholar"
    label = "Semantic Scholar"

    def __init__(self, base_url: str = "https://api.semanticscholar.org", results_per_query: int = 10,
                 timeout_s: float = 15.0, max_attempts: int = 4, backoff_s: float = 2.0,
                 probe_timeout_s: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.results_per_query = results_per_query
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.reachability = Reachability(self.base_url, probe_timeout_s)

    def _get(self, client: httpx.Client, query: str) -> dict[str, Any]:
        @retry(retry=retry_if_exception(_rate_limited), stop=stop_after_attempt(self.max_attempts),
               wait=wait_exponential(multiplier=self.backoff_s, max=30), reraise=True)
        def call() -> dict[str, Any]:
            response = client.get(f"{self.base_url}/graph/v1/paper/search",
                                  params={"query": query, "limit": self.results_per_query, "fields": FIELDS})
            response.raise_for_status()
            return response.json()

        return call()

    def search(self, queries: list[str], limit: int) -> list[PaperRef]:
        """Results of every query; network trouble or a persistent 429 raises `RetrieverUnavailable`."""
        self.reachability.require()
        headers = {"x-api-key": key} if (key := os.environ.get("SEMANTIC_SCHOLAR_API_KEY")) else {}
        refs: list[PaperRef] = []
        try:
            with httpx.Client(timeout=self.timeout_s, headers=headers) as client:
                for query in queries:
                    for rank, item in enumerate(self._get(client, query).get("data") or []):
                        if not item.get("title"):
                            continue
                        ids = item.get("externalIds") or {}
                        refs.append(PaperRef(
                            id=ref_id("s2", str(item.get("paperId") or ids.get("CorpusId") or rank)[:12]),
                            title=item["title"], authors=[a.get("name", "") for a in item.get("authors") or []],
                            year=item.get("year"), abstract=item.get("abstract") or "", url=item.get("url"),
                            source="semantic_scholar", score=1.0 / (rank + 1), arxiv_id=ids.get("ArXiv"),
                            doi=ids.get("DOI"),
                        ))
        except httpx.HTTPStatusError as error:
            raise RetrieverUnavailable(f"HTTP {error.response.status_code}", f"{type(error).__name__}: {error}") \
                from error
        except (httpx.HTTPError, ValueError) as error:
            offline = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
            reason = ("offline" if offline else f"no answer within {self.timeout_s:g} s"
                      if isinstance(error, httpx.TimeoutException) else type(error).__name__)
            raise RetrieverUnavailable(reason, f"{type(error).__name__}: {error}", offline=offline) from error
        return refs[: max(limit, 0) or None]
