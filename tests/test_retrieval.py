"""Retrieval: local BM25, arXiv and Semantic Scholar against local servers speaking their formats, merging, and
offline degradation.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from omegaconf import OmegaConf
from rich.console import Console

from copilot.errors import UserError
from copilot.paper.model import Reference
from copilot.retrieval import build_retrievers
from copilot.retrieval.arxiv import ArxivRetriever
from copilot.retrieval.base import PaperRef, RetrieverUnavailable
from copilot.retrieval.local import LocalRetriever
from copilot.retrieval.merge import gather_related, merge_refs
from copilot.retrieval.reachability import Reachability, _endpoint
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


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released), so a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _offline_config(arxiv_url: str, s2_url: str) -> dict:
    return {"limit": 5, "retrievers": {
        "arxiv": {"_target_": "copilot.retrieval.arxiv.ArxivRetriever", "api_url": arxiv_url,
                  "timeout_s": 10, "num_retries": 3, "delay_seconds": 3},
        "s2": {"_target_": "copilot.retrieval.semantic_scholar.SemanticScholarRetriever",
               "base_url": s2_url, "timeout_s": 10, "max_attempts": 3},
        "local": {"_target_": "copilot.retrieval.local.LocalRetriever"}}}


def test_offline_online_sources_degrade_to_warnings_and_local_still_serves(tmp_path):
    (tmp_path / "papers.jsonl").write_text(json.dumps({"title": "Boosted trees", "abstract": "boosting"}) + "\n")
    port = _closed_port()
    cfg = _offline_config(f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}")
    retrievers = build_retrievers(cfg, folder=tmp_path, references=[])
    gathered = gather_related(retrievers, ["boosting"], 5)
    assert [w.title for w in gathered.works] == ["Boosted trees"]
    assert [w.split(":")[0] for w in gathered.warnings] == ["arxiv", "semantic_scholar"]
    assert f"127.0.0.1:{port}" in gathered.warnings[0], "related.json keeps the detail"
    assert gathered.notices == ["arXiv: offline, using the local library",
                                "Semantic Scholar: offline, using the local library"]


@pytest.mark.parametrize("where", ["a name that does not resolve", "a local port that refuses"])
def test_an_unreachable_source_is_declared_offline_within_two_seconds(where):
    """Retries and per-request timeouts are set high on purpose: the one probe decides before any of them apply."""
    base = "http://copilot-test.invalid" if where.startswith("a name") else f"http://127.0.0.1:{_closed_port()}"
    for retriever in (ArxivRetriever(api_url=f"{base}/api/query", timeout_s=30, num_retries=3, delay_seconds=3),
                      SemanticScholarRetriever(base_url=base, timeout_s=30, max_attempts=4, backoff_s=5)):
        started = time.monotonic()
        with pytest.raises(RetrieverUnavailable) as caught:
            retriever.search(["tabular deep learning", "gradient boosting", "transformers"], 10)
        assert time.monotonic() - started < 2.0, retriever.name
        assert caught.value.offline and caught.value.reason == "offline"
        assert ("does not resolve" if where.startswith("a name") else "refused") in caught.value.detail


def test_a_resolver_that_hangs_is_given_up_at_the_deadline():
    """A test resolver that never answers in time stands in for a machine whose name server does not reply."""
    def hanging(*args, **kwargs):
        time.sleep(10)
        return []

    reachability = Reachability("https://export.arxiv.org/api/query", timeout_s=0.5, resolver=hanging)
    started = time.monotonic()
    with pytest.raises(RetrieverUnavailable, match=r"no answer from the name resolver within 0\.5 s"):
        reachability.require()
    assert time.monotonic() - started < 1.5


def test_a_source_is_probed_once_per_run_and_a_reachable_one_is_used():
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return socket.getaddrinfo(*args, **kwargs)

    port = _closed_port()
    unreachable = Reachability(f"http://localhost:{port}", resolver=counting)
    for _ in range(3):
        with pytest.raises(RetrieverUnavailable):
            unreachable.require()
    assert calls == ["localhost"]
    server = Server([(200, "application/atom+xml", ATOM)])
    try:
        reachable = Reachability(server.url, resolver=counting)
        reachable.require()
        reachable.require()
    finally:
        server.close()
    assert calls == ["localhost", "127.0.0.1"]


def test_a_proxy_for_the_url_is_probed_instead_of_the_host(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert _endpoint("https://export.arxiv.org/api/query") == ("127.0.0.1", 3128)
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    assert _endpoint("https://export.arxiv.org/api/query") == ("export.arxiv.org", 443)


def test_a_service_error_is_a_short_reason_not_offline():
    server = Server([(503, "application/json", "{}")])
    try:
        with pytest.raises(RetrieverUnavailable) as caught:
            SemanticScholarRetriever(base_url=server.url, max_attempts=1).search(["x"], 5)
        gathered = gather_related([SemanticScholarRetriever(base_url=server.url, max_attempts=1)], ["x"], 5)
    finally:
        server.close()
    assert caught.value.reason == "HTTP 503" and not caught.value.offline
    assert gathered.notices == ["Semantic Scholar: unavailable (HTTP 503), continuing without it"]


def test_the_idea_stage_reports_each_offline_source_once_on_the_terminal_and_in_detail_in_the_log(tmp_path):
    """`_retrieve` in a minimal run context, with the root logger set up as Hydra does (stdout and cli.log) and the
    run's Progress capturing the terminal: one short line per source, no URL on the terminal, the detail once in
    cli.log, and related.json's warnings kept."""
    from copilot.idea.models import PaperAnalysis
    from copilot.idea.stage import _retrieve
    from copilot.progress import Progress
    from copilot.rundir import RunDir

    library = tmp_path / "related"
    library.mkdir()
    (library / "papers.jsonl").write_text(json.dumps({"title": "Boosted trees", "abstract": "boosting"}) + "\n")
    out = io.StringIO()
    console = Console(file=out, width=80)
    progress = Progress(console, live=False)
    ctx = SimpleNamespace(cfg=OmegaConf.create({"retrieval": _offline_config("http://arxiv.invalid/api/query",
                                                                             "http://s2.invalid")}),
                          task=SimpleNamespace(related_dir=library), run=RunDir(tmp_path / "run"), console=console,
                          progress=progress)
    analysis = PaperAnalysis(keywords=["boosting", "trees"], research_tasks=["tabular data"],
                             gaps=["Trees are not compared with deep models."])
    root = logging.getLogger()
    hydra_console, cli_log = logging.StreamHandler(sys.stdout), logging.FileHandler(tmp_path / "cli.log")
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(hydra_console)
    root.addHandler(cli_log)
    try:
        with progress.capture_logging():
            started = time.monotonic()
            works = _retrieve(ctx, analysis, None)
            elapsed = time.monotonic() - started
    finally:
        root.removeHandler(hydra_console)
        root.removeHandler(cli_log)
        cli_log.close()
        root.setLevel(old_level)
    assert [w.title for w in works] == ["Boosted trees"] and elapsed < 4.0
    assert out.getvalue().splitlines() == ["arXiv: offline, using the local library",
                                           "Semantic Scholar: offline, using the local library"]
    logged = (tmp_path / "cli.log").read_text()
    assert logged.count("arxiv.invalid does not resolve") == 1 and logged.count("s2.invalid does not resolve") == 1
    related = json.loads((tmp_path / "run" / "idea" / "related.json").read_text())
    assert len(related["warnings"]) == 2 and "arxiv.invalid" in related["warnings"][0]
