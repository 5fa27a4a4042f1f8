"""`ArxivRetriever`: the arXiv API through the `arxiv` package, with a configurable endpoint and request timeout.

Its host is probed once before the first request (`copilot.retrieval.reachability`), so offline it is declared
unreachable in about two seconds instead of after the client's waits and retries.
"""

from __future__ import annotations

from typing import Any

import requests

from copilot.retrieval.base import PaperRef, RetrieverUnavailable, ref_id
from copilot.retrieval.reachability import Reachability

DEFAULT_API_URL = "https://export.arxiv.org/api/query"


class _TimeoutSession(requests.Session):
    """A requests session whose calls time out (the `arxiv` client sets none, which can hang offline)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


def _reason(error: Exception, timeout_s: float) -> str:
    """The short form of a failed request: offline, a timeout, its HTTP status, or else the kind of error."""
    status = getattr(error, "status", None) or getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(error, requests.ConnectionError):
        return "offline"
    return f"HTTP {status}" if status else type(error).__name__


class ArxivRetriever:
    """Searches arXiv for each query; `api_url` points the client elsewhere (a mirror, or a test server)."""

    name = "arxiv"
    label = "arXiv"

    def __init__(self, max_results_per_query: int = 10, delay_seconds: float = 3.0, num_retries: int = 1,
                 timeout_s: float = 15.0, api_url: str | None = None, probe_timeout_s: float = 2.0) -> None:
        import arxiv

        self.max_results = max_results_per_query
        self.timeout_s = timeout_s
        self.client = arxiv.Client(page_size=max_results_per_query, delay_seconds=delay_seconds,
                                   num_retries=num_retries)
        self.client._session = _TimeoutSession(timeout_s)  # the package exposes no timeout option
        url = api_url or DEFAULT_API_URL
        self.client.query_url_format = url.rstrip("?") + "?{}"
        self.reachability = Reachability(url, probe_timeout_s)

    def search(self, queries: list[str], limit: int) -> list[PaperRef]:
        """Results of every query, in the order arXiv ranks them; network trouble raises `RetrieverUnavailable`."""
        import arxiv

        self.reachability.require()
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
                raise RetrieverUnavailable(_reason(error, self.timeout_s), f"{type(error).__name__}: {error}",
                                           offline=_reason(error, self.timeout_s) == "offline") from error
        return refs[: max(limit, 0) or None]
