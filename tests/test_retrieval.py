"""Retrieval: local BM25, arXiv and Semantic Scholar against local servers speaking their formats, merging, and
offline degradation.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from copilot.errors import UserError
from copilot.paper.model import Reference
from copilot.retrieval import build_retrievers
from copilot.retrieval.arxiv import ArxivRetriever
from copilot.retrieval.base import PaperRef
from copilot.retrieval.local import LocalRetriever
from copilot.retrieval.merge import gather_related, merge_refs
from copilot.retrieval.semantic_scholar import SemanticScholarRetriever
from tests.pdf_factory import write_paper

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title><id>http://arxiv.org/api/x</id><updated>2024-01-01T00:00:00-05:00</updated>
  <opensearch:totalResults>1</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/abs/2106.11959v2</id>
    <updated>2021-10-26T12:00:00Z</updated><published>2021-06-22T12:00:00Z</published>
    <title>Revisiting Deep Learning Models for
      Tabular Data</title>
    <summary>We compare deep models with gradient boosted trees on tabular benchmarks.</summary>
    <author><name>Yury Gorishniy</name></author><author><name>Artem Babenko</name></author>
    <arxiv:doi>10.48550/arXiv.2106.11959</arxiv:doi>
    <link href="http://arxiv.org/abs/2106.11959v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2106.11959v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>"""


class Server:
    """A local HTTP server whose handler answers from a list of (status, content type, body) replies."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                status, ctype, body = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_arxiv_retriever_against_a_local_atom_server():
    server = Server([(200, "application/atom+xml", ATOM)])
    try:
        refs = ArxivRetriever(api_url=f"{server.url}/api/query", delay_seconds=0).search(["tabular deep"], 5)
    finally:
        server.close()
    assert len(refs) == 1
    ref = refs[0]
    assert ref.title == "Revisiting Deep Learning Models for Tabular Data"
    assert ref.arxiv_id == "2106.11959" and ref.year == 2021 and ref.authors[0] == "Yury Gorishniy"
    assert "search_query=all" in server.requests[0] or "search_query=" in server.requests[0]


def test_semantic_scholar_backs_off_on_429_then_succeeds():
    body = json.dumps({"data": [{"paperId": "abc123", "title": "TabNet", "abstract": "Attentive tabular learning.",
                                 "year": 2019, "authors": [{"name": "S. Arik"}], "url": "https://s2/abc",
                                 "externalIds": {"ArXiv": "1908.07442", "DOI": "10.1/x"}}]})
    server = Server([(429, "application/json", "{}"), (200, "application/json", body)])
    try:
        refs = SemanticScholarRetriever(base_url=server.url, backoff_s=0.01).search(["tabnet"], 5)
    finally:
        server.close()
    assert [r.title for r in refs] == ["TabNet"] and refs[0].arxiv_id == "1908.07442"
    assert len(server.requests) == 2
    assert parse_qs(urlparse(server.requests[1]).query)["query"] == ["tabnet"]


def test_local_bm25_ranks_the_right_paper_first(tmp_path):
    (tmp_path / "papers.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"title": "Gradient boosting for tabular data", "abstract": "trees and boosting"},
        {"title": "Transformers for speech", "abstract": "audio models"},
    ]) + "\n")
    write_paper(tmp_path / "scaling.pdf")
    refs = [Reference(raw="X. Deep nets for images. 2020.", title="Deep nets for images", year=2020)]
    local = LocalRetriever(folder=tmp_path, references=refs)
    assert len(local) == 4
    assert local.search(["speech audio"], 3)[0].title == "Transformers for speech"
    assert local.search(["scaling small tabular models"], 3)[0].title == "Scaling Small Tabular Models"
    assert local.search(["images"], 3)[0].id.startswith("ref:")


def test_a_bad_library_record_is_a_user_error(tmp_path):
    (tmp_path / "papers.jsonl").write_text('{"abstract": "no title"}\n')
    with pytest.raises(UserError, match="line 1: a record needs at least a 'title'"):
        LocalRetriever(folder=tmp_path)


def test_merge_deduplicates_by_arxiv_id_doi_and_title():
    a = PaperRef(id="arxiv:2106.11959", title="Revisiting Deep Learning Models for Tabular Data", source="arxiv",
                 arxiv_id="2106.11959v2", abstract="long abstract " * 10, score=1.0)
    b = PaperRef(id="s2:x", title="Revisiting deep learning models for tabular data.", source="semantic_scholar",
                 arxiv_id="2106.11959", score=1.0)
    c = PaperRef(id="s2:y", title="Other", source="semantic_scholar", doi="10.1/ABC", score=0.5)
    d = PaperRef(id="local:1", title="Other (local copy)", source="local", doi="10.1/abc", score=2.0)
    merged = merge_refs([[a], [b, c], [d]], 10)
    assert len(merged) == 2
    assert merged[0].id == "arxiv:2106.11959" and merged[0].source == "arxiv+semantic_scholar"
    assert {m.source for m in merged} == {"arxiv+semantic_scholar", "semantic_scholar+local"}


def test_offline_online_sources_degrade_to_warnings_and_local_still_serves(tmp_path):
    (tmp_path / "papers.jsonl").write_text(json.dumps({"title": "Boosted trees", "abstract": "boosting"}) + "\n")
    cfg = {"limit": 5, "retrievers": {
        "arxiv": {"_target_": "copilot.retrieval.arxiv.ArxivRetriever", "api_url": "http://127.0.0.1:9/api",
                  "timeout_s": 2, "num_retries": 0, "delay_seconds": 0},
        "s2": {"_target_": "copilot.retrieval.semantic_scholar.SemanticScholarRetriever",
               "base_url": "http://127.0.0.1:9", "timeout_s": 2, "max_attempts": 1},
        "local": {"_target_": "copilot.retrieval.local.LocalRetriever"}}}
    retrievers = build_retrievers(cfg, folder=tmp_path, references=[])
    works, warnings = gather_related(retrievers, ["boosting"], 5)
    assert [w.title for w in works] == ["Boosted trees"]
    assert len(warnings) == 2 and "arxiv" in warnings[0] and "semantic_scholar" in warnings[1]
