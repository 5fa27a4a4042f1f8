"""`ArxivRetriever`: the arXiv API through the `arxiv` package, with a configurable endpoint and request timeout."""

from __future__ import annotations

from typing import Any

import requests

from copilot.retrieval.base import PaperRef, RetrieverUnavailable, ref_id


class _TimeoutSession(requests.Session):
    """A requests session whose calls time out (the `arxiv` client sets none, which can hang offline)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


class ArxivRetriever:
    """Searches arXiv for each query; `api_url` points the client elsewhere (a mirror, or a test server)."""

    name = "arxiv"

    def __init__(self, max_results_per_query: int = 10, delay_seconds: float = 3.0, num_retries: int = 1,
                 timeout_s: float = 15.0, api_url: str | None = None) -> None:
        import arxiv

        self.max_results = max_results_per_query
        self.client = arxiv.Client(page_size=max_results_per_query, delay_seconds=delay_seconds,
                                   num_retries=num_retries)
        self.client._session = _TimeoutSession(timeout_s)  # the package exposes no timeout option
        if api_url:
            self.client.query_url_format = api_url.rstrip("?") + "?{}"

    def search(self, queries: list[str], limit: int) -> list[PaperRef]:
        """Results of every query, in the order arXiv ranks them; network trouble raises `RetrieverUnavailable`."""
        import arxiv

        refs: list[PaperRef] = []
        for query in queries:
            search = arxiv.Search(query=query, max_results=self.max_results,
                                  sort_by=arxiv.SortCriterion.Relevance)
            try:
                for rank, result in enumerate(self.client.results(search)):
                    short = result.get_short_id().split("v")[0]
                    refs.append(PaperRef(
                        id=ref_id("arxiv", short), title=" ".join(result.title.split()),
                        authors=[a.name for a in result.authors], year=result.published.year if result.published
                        else None, abstract=" ".join(result.summary.split()), url=result.entry_id, source="arxiv",
                        score=1.0 / (rank + 1), arxiv_id=short, doi=result.doi,
                    ))
            except (requests.RequestException, arxiv.ArxivError, OSError) as error:
                raise RetrieverUnavailable(f"arXiv unreachable ({type(error).__name__}: {error})") from error
        return refs[: max(limit, 0) or None]
